// Calibration JSON Lines (format in calibration.h): read and checked against the model's inputs. Kept apart
// from calibration.cc (which compiles and runs sessions) so the parser links on its own (tests/fuzz).
#include <set>

#include <nlohmann/json.hpp>

#include "compiler/calibration.h"
#include "kiln/error.h"
#include "util/file.h"
#include "util/untrusted.h"

namespace kiln::compiler {
namespace {

std::string join(const std::set<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Nesting is bounded by parse_json's depth limit, so this recursion is too.
void flatten(const nlohmann::json& v, std::vector<int64_t>& out, const std::string& where) {
  if (v.is_array()) {
    for (const auto& x : v) flatten(x, out, where);
    return;
  }
  if (!v.is_number_integer()) fail(where, ": expected integers, found ", v.dump());
  out.push_back(as_int(v, where));
}

}  // namespace

std::vector<Sample> read_calibration_text(std::string_view text, const std::string& name,
                                          const std::map<std::string, int64_t>& row_elements) {
  std::set<std::string> expected;
  for (const auto& [k, _] : row_elements) expected.insert(k);
  std::vector<Sample> samples;
  size_t start = 0;
  for (size_t lineno = 1; start < text.size(); ++lineno) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = name + ":" + std::to_string(lineno);
    const nlohmann::json j = parse_json(line, where);
    if (!j.is_object()) fail(where, ": expected an object mapping input names to values, found ", j.type_name());
    std::set<std::string> keys;
    for (const auto& [k, _] : j.items()) keys.insert(k);
    if (keys != expected) fail(where, ": the sample's keys (", join(keys), ") do not match the model inputs (", join(expected), ")");
    Sample s;
    for (const auto& [input, v] : j.items()) {
      std::vector<int64_t>& vals = s[input];
      const int64_t want = row_elements.at(input);
      flatten(v, vals, where + ": input '" + input + "'");
      if (static_cast<int64_t>(vals.size()) != want)
        fail(where, ": input '", input, "' has ", vals.size(), " values, expected ", want, " (one batch row of the compiled shape)");
    }
    samples.push_back(std::move(s));
  }
  if (samples.empty()) fail("calibration file '", name, "' has no samples");
  return samples;
}

std::vector<Sample> read_calibration_file(const std::string& path, const ir::Graph& g) {
  std::map<std::string, int64_t> row_elements;
  for (int id : g.inputs) {
    const ir::Value& v = g.values[id];
    const Dims d = ir::static_dims(v.shape);
    if (v.dtype != DType::i64 && v.dtype != DType::i32)
      fail("calibration files hold integer inputs; model input '", v.name, "' is ", dtype_name(v.dtype));
    row_elements[v.name] = d.empty() || d[0] == 0 ? 1 : num_elements(d) / d[0];
  }
  return read_calibration_text(read_file(path, "calibration file"), path, row_elements);
}

}  // namespace kiln::compiler
