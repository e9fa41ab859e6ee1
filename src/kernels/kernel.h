// The kernel contract and registry.
//
// A kernel computes one step: it reads `inputs`, writes `outputs` (preallocated with the shapes the
// compiler inferred), and reads attributes from the node's Attrs. Outputs never alias inputs, except
// that for ops whose schema declares fusion kind elementwise or broadcast the planner may place output 0
// over input 0 when they have the same dtype and shape (in place): such kernels must read each element
// before writing the same index. Kernels
// own no threads and allocate nothing per call unless stated. Errors on bad data (an index out of
// range) are thrown as kiln::Error; the runtime adds the node name.
//
// The registry is keyed by (op, dtype, ISA): dtype is the first input's dtype (or the output's for ops
// with no inputs); ISA is the tier a kernel needs. Every op has a `ref` kernel (the scalar oracle in
// tests and the fallback on old CPUs); select_kernel() picks the best tier the CPU (or
// KILN_FORCE_ISA) allows.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/isa.h"
#include "kiln/dtype.h"
#include "kiln/tensor.h"

namespace kiln::kernels {

struct TensorArg {
  DType dtype = DType::f32;
  Dims dims;
  void* data = nullptr;  // nullptr for an omitted optional input
  int64_t numel() const { return num_elements(dims); }
  bool present() const { return data != nullptr; }
  template <typename T> T* as() const { return static_cast<T*>(data); }
};

struct KernelContext {
  const ir::Attrs& attrs;
  std::vector<TensorArg> inputs;
  std::vector<TensorArg> outputs;
  // Per-step state made once by the kernel's `prepare` (e.g. a oneDNN primitive with packed weights);
  // nullptr for kernels without one.
  void* state = nullptr;
};

using KernelFn = void (*)(const KernelContext&);
// Called once per step when a session binds it (shapes and tensor addresses are final by then).
// Returns state the kernel reads through KernelContext::state; the session owns it.
using PrepareFn = std::shared_ptr<void> (*)(const KernelContext&);
// Compile-time weight packing: given a step whose input #1 is a constant (inputs that are not
// constants have data == nullptr), may return that constant re-laid-out for this kernel in `packed`,
// plus attributes describing the layout, and true. The compiler then stores `packed` instead.
using PackFn = bool (*)(const KernelContext&, Tensor& packed, ir::Attrs& attrs);

struct KernelEntry {
  std::string op;
  DType dtype;
  Isa isa;
  std::string name;  // e.g. "matmul_f32_onednn", shown by `kiln inspect`
  KernelFn fn;
  PrepareFn prepare = nullptr;
  PackFn pack = nullptr;
  // True for the widened kernels (widened.cc): 16-bit storage, but the arithmetic runs in fp32 after a
  // conversion, so lowering an op to one only adds conversions.
  bool widens = false;
};

// The best kernel for (op, dtype) at or below the active ISA, or nullptr.
const KernelEntry* select_kernel(const std::string& op, DType dtype);
// Exactly this tier, or nullptr (tests compare a fast kernel with `ref`).
const KernelEntry* find_kernel(const std::string& op, DType dtype, Isa isa);

void register_kernel(const std::string& op, DType dtype, Isa isa, const std::string& name, KernelFn fn,
                     PrepareFn prepare = nullptr, PackFn pack = nullptr, bool widens = false);
// Whether some tier has a kernel for (op, dtype) that computes in dtype (not a widening one).
bool computes_in(const std::string& op, DType dtype);
// Runs a kernel once outside a session (constant folding, tests): prepares its state if it has any.
void run_kernel_once(const KernelEntry& kernel, KernelContext ctx);
// Explicit registration lists, called once from registry.cc.
void register_ref_kernels();
void register_onednn_kernels();
// AVX2 / AVX-512 kernels for the hot non-GEMM ops (src/kernels/x86/).
void register_x86_kernels();
// bf16/fp16 storage with fp32 arithmetic for the non-GEMM ops auto-cast lowers (widened.cc).
void register_widened_kernels();

}  // namespace kiln::kernels
