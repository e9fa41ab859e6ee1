#include <map>

#include "kiln/error.h"
#include "passes/passes.h"

namespace kiln::passes {

void bind_shapes(ir::Graph& g, const CompileOptions& options) {
  if (options.batch < 0 || options.seq < 0) fail("--batch and --seq must be positive");
  for (const auto& [name, v] : options.dims)
    if (v <= 0) fail("--dim ", name, "=", v, ": dims must be positive");

  // symbol -> (value, where it came from), so conflicting assignments can be named.
  std::map<std::string, std::pair<int64_t, std::string>> bound;
  for (const auto& [name, v] : options.dims) bound[name] = {v, "--dim " + name};

  for (int id : g.inputs) {
    ir::Value& in = g.values[id];
    for (size_t axis = 0; axis < in.shape.size(); ++axis) {
      ir::Dim& d = in.shape[axis];
      const char* flag = axis == 0 ? "--batch" : axis == 1 ? "--seq" : nullptr;
      const int64_t given = axis == 0 ? options.batch : axis == 1 ? options.seq : 0;
      if (d.known()) {
        if (given > 0 && d.value != given)
          fail("model input '", in.name, "' has a fixed dim ", axis, " of ", d.value, ", but ", flag, " ", given,
               " was given (the model was exported with static shapes; drop ", flag, " or re-export)");
        continue;
      }
      auto it = bound.find(d.symbol);
      if (it == bound.end() && given > 0) it = bound.emplace(d.symbol, std::make_pair(given, std::string(flag))).first;
      if (it == bound.end()) {
        std::string hint = flag ? str("pass ", flag, " N") : str("pass --dim ", d.symbol, "=N");
        fail("model input '", in.name, "' dim ", axis, " is dynamic ('", d.symbol, "') and no value was given: ", hint);
      }
      if (given > 0 && it->second.first != given)
        fail("dynamic dim '", d.symbol, "' gets ", it->second.first, " from ", it->second.second, " but ", given,
             " from ", flag, " (model input '", in.name, "' dim ", axis, ")");
      d = ir::Dim::of(it->second.first);
    }
  }
}

}  // namespace kiln::passes
