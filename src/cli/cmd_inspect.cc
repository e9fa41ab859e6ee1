#include <cstdio>
#include <map>
#include <tuple>

#include "cli/commands.h"
#include <nlohmann/json.hpp>

#include "kiln/error.h"
#include "kiln/model.h"
#include "kiln/version.h"

namespace kiln::cli {

Command add_inspect(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Show what a .kiln artifact holds");
  struct Args {
    std::string artifact;
    bool json = false, steps = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("artifact", args->artifact, "Compiled .kiln file")->required();
  cmd->add_flag("--json", args->json, "Print the artifact's metadata as JSON");
  cmd->add_flag("--steps", args->steps, "List every step with its precision, kernel and shapes");
  return [args]() {
    const std::shared_ptr<const Model> model = Model::open(args->artifact);
    const ModelInfo& info = model->info();
    const FileInfo& file = model->file();
    const nlohmann::json m = nlohmann::json::parse(info.metadata_json);
    const PlanInfo plan = model->plan_info(0);
    if (args->json) {
      nlohmann::json j = m;
      j["file_bytes"] = file.bytes;
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("artifact:  %s (%s, format %u, built by %s, oneDNN %s)\n", args->artifact.c_str(),
                human_bytes(static_cast<double>(file.bytes)).c_str(), file.format_version,
                file.compiler_version.c_str(), m.value("onednn_version", "?").c_str());
    // META fields are read with defaults: a hand-made artifact may leave out what only this page shows.
    const nlohmann::json src = m.value("source", nlohmann::json::object());
    std::printf("source:    %s (%s, opset %lld, sha256 %s)\n", src.value("file", "?").c_str(),
                src.value("producer", "?").c_str(), static_cast<long long>(src.value("opset", 0)),
                src.value("sha256", "?").c_str());
    const nlohmann::json o = m.value("options", nlohmann::json::object());
    std::printf("options:   batch %lld, seq %lld, precision %s, task %s", static_cast<long long>(info.batch),
                static_cast<long long>(info.seq_buckets.front()), info.precision.c_str(), task_name(info.task));
    const nlohmann::json dims = o.value("dims", nlohmann::json::object());
    for (const auto& [k, v] : dims.items())
      if (v.is_number_integer()) std::printf(", %s=%lld", k.c_str(), static_cast<long long>(v.get<int64_t>()));
    if (info.seq_buckets.size() > 1) std::printf(", sequence buckets %s", nlohmann::json(info.seq_buckets).dump().c_str());
    if (info.pipeline_stages > 1) std::printf(", %d pipeline stages", info.pipeline_stages);
    std::printf("\n");
    auto print_specs = [](const char* title, const std::vector<TensorInfo>& specs) {
      std::printf("%s\n", title);
      for (const TensorInfo& t : specs) {
        // What a request may send (-1 where it may vary), and which axes carry rows and the sequence.
        std::string axes;
        if (t.batch_axis >= 0) axes += str("rows on axis ", t.batch_axis);
        if (t.seq_axis >= 0) axes += str(axes.empty() ? "" : ", ", "sequence on axis ", t.seq_axis);
        std::printf("  %-32s %-5s %-16s %-16s %s\n", t.name.c_str(), dtype_name(t.dtype), dims_to_string(t.compiled).c_str(),
                    dims_to_string(t.request).c_str(), axes.c_str());
      }
    };
    std::printf("           (name, dtype, compiled shape, request shape: -1 may vary, axes)\n");
    print_specs("inputs:", info.inputs);
    print_specs("outputs:", info.outputs);
    if (info.any_rows)
      std::printf("batching:  rows are independent: requests of any row count are merged, padded and split\n");
    else
      std::printf("batching:  none (%s): requests must have the compiled shapes\n", info.batching_reason.c_str());
    std::printf("sizes:     weights %s, activation arena %s, %zu steps\n",
                human_bytes(static_cast<double>(plan.weight_bytes)).c_str(),
                human_bytes(static_cast<double>(plan.arena_bytes)).c_str(), plan.steps.size());
    // (op, precision, kernel) -> steps
    std::map<std::tuple<std::string, std::string, std::string>, size_t> by_op;
    for (const StepInfo& s : plan.steps) by_op[{s.op, s.precision, s.kernel.empty() ? "(none on this CPU)" : s.kernel}]++;
    std::printf("steps by op (precision, kernel on this CPU, tier %s):\n", kernel_tier());
    for (const auto& [key, n] : by_op)
      std::printf("  %-24s %5zu  %-13s %s\n", std::get<0>(key).c_str(), n, std::get<1>(key).c_str(), std::get<2>(key).c_str());
    if (args->steps) {
      std::printf("steps:\n");
      auto join = [](const std::vector<std::string>& v) {
        std::string out;
        for (const std::string& x : v) out += (out.empty() ? "" : ", ") + x;
        return out;
      };
      for (size_t i = 0; i < plan.steps.size(); ++i) {
        const StepInfo& s = plan.steps[i];
        std::printf("  %4zu  %-18s %-13s %-44s (%s) -> %s\n", i, s.op.c_str(), s.precision.c_str(), s.name.c_str(),
                    join(s.inputs).c_str(), join(s.outputs).c_str());
      }
    }
    return 0;
  };
}

}  // namespace kiln::cli
