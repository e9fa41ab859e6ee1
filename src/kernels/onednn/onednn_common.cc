#include "kernels/onednn/onednn_common.h"

#include "kiln/error.h"

namespace kiln::kernels {

dnnl::engine& onednn_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

ExecArgs exec_args(const std::unordered_map<int, dnnl::memory>& args) {
  ExecArgs out;
  for (const auto& [arg, mem] : args) out.push_back({arg, mem.get()});
  return out;
}

void execute(const dnnl::primitive& p, dnnl::stream& s, const ExecArgs& args) {
  dnnl_status_t st = dnnl_primitive_execute(p.get(), s.get(), static_cast<int>(args.size()), args.data());
  if (st == dnnl_success) st = dnnl_stream_wait(s.get());
  if (st != dnnl_success) fail("oneDNN primitive execution failed (status ", static_cast<int>(st), ")");
}

dnnl::memory make_scratchpad(const dnnl::memory::desc& desc) { return dnnl::memory(desc, onednn_engine()); }

}  // namespace kiln::kernels
