#include <map>
#include <mutex>
#include <tuple>

#include "kernels/kernel.h"

namespace kiln::kernels {
namespace {

using Key = std::tuple<std::string, DType, Isa>;

std::map<Key, KernelEntry>& table() {
  static std::map<Key, KernelEntry> t;
  return t;
}

void ensure_registered() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_ref_kernels();
    register_onednn_kernels();
    register_x86_kernels();
    register_widened_kernels();
  });
}

}  // namespace

void register_kernel(const std::string& op, DType dtype, Isa isa, const std::string& name, KernelFn fn,
                     PrepareFn prepare, PackFn pack, bool widens) {
  table()[Key{op, dtype, isa}] = KernelEntry{op, dtype, isa, name, fn, prepare, pack, widens};
}

bool computes_in(const std::string& op, DType dtype) {
  for (int t = static_cast<int>(Isa::ref); t <= static_cast<int>(Isa::avx512); ++t) {
    const KernelEntry* k = find_kernel(op, dtype, static_cast<Isa>(t));
    if (k && !k->widens) return true;
  }
  return false;
}

void run_kernel_once(const KernelEntry& kernel, KernelContext ctx) {
  std::shared_ptr<void> state;
  if (kernel.prepare) {
    state = kernel.prepare(ctx);
    ctx.state = state.get();
  }
  kernel.fn(ctx);
}

const KernelEntry* find_kernel(const std::string& op, DType dtype, Isa isa) {
  ensure_registered();
  auto it = table().find(Key{op, dtype, isa});
  return it == table().end() ? nullptr : &it->second;
}

const KernelEntry* select_kernel(const std::string& op, DType dtype) {
  for (int t = static_cast<int>(active_isa()); t >= 0; --t)
    if (const KernelEntry* k = find_kernel(op, dtype, static_cast<Isa>(t))) return k;
  return nullptr;
}

}  // namespace kiln::kernels
