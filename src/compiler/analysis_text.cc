// The operator-support table of analyze_file(), as text and as JSON: one rendering for every front end
// (`kiln analyze`, Python's kiln.analyze and kiln.torch.analyze).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "kiln/compiler.h"

namespace kiln {

namespace {

std::string format(const char* fmt, const std::string& a, size_t n, const char* b) {
  char line[512];
  std::snprintf(line, sizeof line, fmt, a.c_str(), n, b);
  return line;
}

}  // namespace

size_t AnalysisReport::unsupported_nodes() const {
  size_t n = 0;
  for (const OpSupport& o : ops)
    if (!o.supported) n += o.count;
  return n;
}

size_t AnalysisReport::unsupported_types() const {
  size_t n = 0;
  for (const OpSupport& o : ops) n += o.supported ? 0 : 1;
  return n;
}

std::string analysis_table(const AnalysisReport& r, const std::string& model_name) {
  std::string out = "model:      " + model_name + "\nproducer:   " + r.producer + ", opset " +
                    std::to_string(r.opset) + "\n";
  for (const std::string& s : r.inputs) out += "input:      " + s + "\n";
  for (const std::string& s : r.outputs) out += "output:     " + s + "\n";
  out += "parameters: " + std::to_string(r.parameter_count) + " in " + std::to_string(r.initializers) +
         " initializers\n\n";
  char header[128];
  std::snprintf(header, sizeof header, "%-28s %7s  %s\n", "operator", "count", "supported");
  out += header;
  size_t nodes = 0;
  for (const OpSupport& o : r.ops) {
    nodes += o.count;
    out += format("%-28s %7zu  %s", o.op, o.count, o.supported ? "yes" : "NO");
    if (!o.supported) {
      out += "   nodes: ";
      for (size_t i = 0; i < o.nodes.size(); ++i) out += (i ? ", " : "") + o.nodes[i];
    }
    out += "\n";
  }
  out += "\n" + std::to_string(r.ops.size()) + " operator types, " + std::to_string(nodes) + " nodes: ";
  if (r.all_supported())
    out += "all supported\n";
  else
    out += std::to_string(r.unsupported_types()) + " types (" + std::to_string(r.unsupported_nodes()) +
           " nodes) NOT supported\n";
  return out;
}

std::string analysis_json(const AnalysisReport& r, const std::string& model_name) {
  nlohmann::json ops = nlohmann::json::array();
  for (const OpSupport& o : r.ops)
    ops.push_back({{"op", o.op}, {"count", o.count}, {"supported", o.supported}, {"nodes", o.nodes}});
  nlohmann::json j = {{"model", model_name}, {"producer", r.producer}, {"opset", r.opset},
                      {"inputs", r.inputs}, {"outputs", r.outputs}, {"parameters", r.parameter_count},
                      {"ops", ops}, {"all_supported", r.all_supported()}};
  return j.dump(2);
}

}  // namespace kiln
