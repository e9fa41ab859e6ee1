#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "kiln/compiler.h"
#include "kiln/error.h"

namespace kiln::cli {

Command add_analyze(CLI::App& app) {
  auto* cmd = app.add_subcommand("analyze", "Operator support table of an ONNX model, before compiling");
  struct Args {
    std::string model;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("model", args->model, "ONNX model file")->required();
  cmd->add_flag("--json", args->json, "Print the table as JSON");
  cmd->footer("Exit status: 0 when every operator is supported, 1 otherwise.");
  return [args]() {
    AnalysisReport r = analyze_file(args->model);
    size_t nodes = 0, bad_types = 0, bad_nodes = 0;
    for (const OpSupport& o : r.ops) {
      nodes += o.count;
      if (!o.supported) {
        ++bad_types;
        bad_nodes += o.count;
      }
    }
    if (args->json) {
      nlohmann::json ops = nlohmann::json::array();
      for (const OpSupport& o : r.ops)
        ops.push_back({{"op", o.op}, {"count", o.count}, {"supported", o.supported}, {"nodes", o.nodes}});
      nlohmann::json j = {{"model", args->model}, {"producer", r.producer}, {"opset", r.opset},
                          {"inputs", r.inputs}, {"outputs", r.outputs}, {"parameters", r.parameter_count},
                          {"ops", ops}, {"all_supported", r.all_supported()}};
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf("model:      %s\nproducer:   %s, opset %lld\n", args->model.c_str(), r.producer.c_str(),
                  static_cast<long long>(r.opset));
      for (const std::string& s : r.inputs) std::printf("input:      %s\n", s.c_str());
      for (const std::string& s : r.outputs) std::printf("output:     %s\n", s.c_str());
      std::printf("parameters: %zu in %zu initializers\n\n", r.parameter_count, r.initializers);
      std::printf("%-28s %7s  %s\n", "operator", "count", "supported");
      for (const OpSupport& o : r.ops) {
        std::printf("%-28s %7zu  %s", o.op.c_str(), o.count, o.supported ? "yes" : "NO");
        if (!o.supported) {
          std::printf("   nodes: ");
          for (size_t i = 0; i < o.nodes.size(); ++i) std::printf("%s%s", i ? ", " : "", o.nodes[i].c_str());
        }
        std::printf("\n");
      }
      std::printf("\n%zu operator types, %zu nodes: ", r.ops.size(), nodes);
      if (bad_types == 0) std::printf("all supported\n");
      else std::printf("%zu types (%zu nodes) NOT supported\n", bad_types, bad_nodes);
    }
    std::fflush(stdout);
    if (bad_types) fail(bad_types, " unsupported operator type", bad_types == 1 ? "" : "s", " in ", bad_nodes,
                        " node", bad_nodes == 1 ? "" : "s", " of '", args->model, "' (see the table above)");
    return 0;
  };
}

}  // namespace kiln::cli
