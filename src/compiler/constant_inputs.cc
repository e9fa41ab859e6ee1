#include "compiler/constant_inputs.h"

#include <algorithm>
#include <memory>

#include "kiln/error.h"

namespace kiln::compiler {

void bind_constant_inputs(ir::Graph& g, const std::map<std::string, Tensor>& constants) {
  for (const auto& [name, given] : constants) {
    auto it = std::find_if(g.inputs.begin(), g.inputs.end(), [&](int id) { return g.values[id].name == name; });
    if (it == g.inputs.end()) {
      std::string names;
      for (int id : g.inputs) names += (names.empty() ? "" : ", ") + g.values[id].name;
      fail("constant_inputs['", name, "']: the model has no input named '", name, "' (its inputs: ",
           names.empty() ? "none" : names, ")");
    }
    ir::Value& v = g.values[*it];
    Tensor t = given;
    if (t.dtype() == DType::i32 && v.dtype == DType::i64) {  // .npy files from 32-bit tools
      Tensor w(DType::i64, t.dims());
      const int32_t* src = t.data_as<int32_t>();
      int64_t* dst = w.data_as<int64_t>();
      for (int64_t i = 0; i < t.numel(); ++i) dst[i] = src[i];
      t = w;
    }
    if (t.dtype() != v.dtype)
      fail("constant_inputs['", name, "']: the value has dtype ", dtype_name(t.dtype()), ", but input '", name,
           "' is ", dtype_name(v.dtype), ir::shape_to_string(v.shape));
    bool shape_ok = t.dims().size() == v.shape.size();
    for (size_t a = 0; shape_ok && a < v.shape.size(); ++a)
      if (v.shape[a].known() && v.shape[a].value != t.dims()[a]) shape_ok = false;
    if (!shape_ok)
      fail("constant_inputs['", name, "']: the value has shape ", dims_to_string(t.dims()), ", but input '", name,
           "' is ", dtype_name(v.dtype), ir::shape_to_string(v.shape));
    v.shape = ir::shape_of(t.dims());
    v.constant = std::make_shared<const Tensor>(std::move(t));
    g.inputs.erase(it);
  }
}

}  // namespace kiln::compiler
