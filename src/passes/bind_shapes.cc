#include <map>

#include "kiln/error.h"
#include "passes/passes.h"

namespace kiln::passes {

void bind_shapes(ir::Graph& g, const CompileOptions& options) {
  if (options.batch < 0 || options.seq < 0) fail("batch and seq must be positive");
  for (const auto& [name, v] : options.dims)
    if (v <= 0) fail("dims['", name, "'] = ", v, ": dims must be positive");

  // symbol -> (value, where it came from), so conflicting assignments can be named.
  std::map<std::string, std::pair<int64_t, std::string>> bound;
  for (const auto& [name, v] : options.dims) bound[name] = {v, "dims['" + name + "']"};

  // A fixed dim that differs from batch/seq is only an error when that flag binds nothing at all:
  // a model may have an extra input whose axis 1 is, say, a fixed 3.
  std::map<int, ir::Shape> original_shapes;
  for (int id : g.inputs) original_shapes[id] = g.values[id].shape;
  bool used[2] = {false, false};
  std::string conflict[2];
  for (int id : g.inputs) {
    ir::Value& in = g.values[id];
    for (size_t axis = 0; axis < in.shape.size(); ++axis) {
      ir::Dim& d = in.shape[axis];
      const char* flag = axis == 0 ? "batch" : axis == 1 ? "seq" : nullptr;
      const int64_t given = axis == 0 ? options.batch : axis == 1 ? options.seq : 0;
      if (d.known()) {
        if (given > 0 && d.value == given) used[axis] = true;
        if (given > 0 && d.value != given && conflict[axis].empty())
          conflict[axis] = str("model input '", in.name, "' has a fixed dim ", axis, " of ", d.value, ", but ", flag, " ",
                               given, " was given (the model was exported with static shapes; leave ", flag,
                               " unset or re-export with dynamic axes)");
        continue;
      }
      auto it = bound.find(d.symbol);
      if (it == bound.end() && given > 0) it = bound.emplace(d.symbol, std::make_pair(given, std::string(flag))).first;
      if (it == bound.end()) {
        std::string hint = flag ? str("set ", flag) : str("set dims['", d.symbol, "']");
        fail("model input '", in.name, "' dim ", axis, " is dynamic ('", d.symbol, "') and no value was given: ", hint);
      }
      if (given > 0 && it->second.first != given)
        fail("dynamic dim '", d.symbol, "' gets ", it->second.first, " from ", it->second.second, " but ", given,
             " from ", flag, " (model input '", in.name, "' dim ", axis, ")");
      if (axis < 2 && given > 0) used[axis] = true;
      d = ir::Dim::of(it->second.first);
    }
  }
  for (int axis = 0; axis < 2; ++axis)
    if (!used[axis] && !conflict[axis].empty()) fail(conflict[axis]);
  // A --dim naming no dynamic dim is almost always a typo: say so instead of ignoring it.
  for (const auto& [name, v] : options.dims) {
    bool found = false;
    std::string symbols;
    for (int id : g.inputs)
      for (const ir::Dim& d : original_shapes.at(id)) {
        found |= !d.known() && d.symbol == name;
        if (!d.known() && symbols.find("'" + d.symbol + "'") == std::string::npos)
          symbols += (symbols.empty() ? "'" : ", '") + d.symbol + "'";
      }
    if (!found)
      fail("dims['", name, "'] = ", v, ": the model has no dynamic dim named '", name, "' (its dynamic dims: ",
           symbols.empty() ? "none" : symbols, ")");
  }
}

}  // namespace kiln::passes
