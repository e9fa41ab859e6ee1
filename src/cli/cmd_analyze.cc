#include <cstdio>

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
    std::fputs((args->json ? analysis_json(r, args->model) + "\n" : analysis_table(r, args->model)).c_str(), stdout);
    const size_t bad_types = r.unsupported_types(), bad_nodes = r.unsupported_nodes();
    std::fflush(stdout);
    if (bad_types) fail(bad_types, " unsupported operator type", bad_types == 1 ? "" : "s", " in ", bad_nodes,
                        " node", bad_nodes == 1 ? "" : "s", " of '", args->model, "' (see the table above)");
    return 0;
  };
}

}  // namespace kiln::cli
