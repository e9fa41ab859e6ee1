// Row- and range-level entry points of the AVX2 / AVX-512 kernels (src/kernels/x86/).
//
// Layout. Each `<op>_<isa>.cc` file is compiled with that ISA's flags (CMakeLists.txt) and contains
// only pure compute on raw pointers: it includes <immintrin.h>, this header and the `*_impl.h` /
// `simd_*.h` headers of this folder, and nothing else. Attribute parsing, shape cases, fallbacks to the
// reference kernels, OpenMP partitioning and registration live in each family's `<family>_x86.cc`
// (register_x86.h), compiled without ISA flags.
//
// Why so strict: an inline function or template instantiation (std::max<float>, a kiln::fail<...>,
// an Attrs getter...) emitted in an AVX-512-compiled file is a weak symbol the linker may pick for
// *every* caller, so generic code could end up running AVX-512 instructions on a CPU without them.
// Everything in the ISA files therefore has internal linkage (anonymous namespace) except the
// functions declared here, and the declarations here use only plain data types. Registration
// (the `*_x86.cc` files) only takes the addresses of these functions; nothing ISA-specific runs until
// select_kernel() chose a tier the CPU supports (dispatch.cc).
#pragma once

#include <cstdint>

namespace kiln::kernels::x86 {

// LayerNormalization (skip == nullptr) or SkipLayerNormalization over rows of `n` contiguous floats.
// Row r reads x[r*n ...] (and skip[r*n ...]), writes y[r*n ...]; per-row vectors gamma/beta/add_bias
// have n elements. Optional pointers may be nullptr.
struct NormRows {
  const float* x = nullptr;
  const float* skip = nullptr;      // SkipLayerNormalization: y = LN(x + skip (+ add_bias))
  const float* add_bias = nullptr;  // SkipLayerNormalization's `bias`, added before normalising
  const float* gamma = nullptr;
  const float* beta = nullptr;      // added after scaling (LayerNormalization's `B`)
  float* y = nullptr;
  float* sum = nullptr;             // SkipLayerNormalization's optional `x + skip (+ bias)` output
  float* mean = nullptr;            // LayerNormalization's optional Mean output (one per row)
  float* inv_std_dev = nullptr;     // LayerNormalization's optional InvStdDev output (one per row)
  int64_t n = 0;
  double epsilon = 0;
};

enum class BinaryOp { add, mul };

// [begin, end) are rows for the row functions and element indices for the flat ones.
#define KILN_X86_ENTRY_POINTS(ISA)                                                                   \
  void layer_norm_rows_##ISA(const NormRows& a, int64_t begin, int64_t end);                       \
  void softmax_rows_##ISA(const float* x, float* y, int64_t n, int64_t begin, int64_t end);        \
  /* rows of n attention scores s, in place: s = softmax(scale * s + mask); row r's additive mask   \
     (nullptr: none) starts at mask + mask_offset[r], stride mask_stride (0 or 1) */               \
  void attention_probs_##ISA(float* s, int64_t n, float scale, const float* mask,                 \
                             const int64_t* mask_offset, int64_t mask_stride, int64_t begin,       \
                             int64_t end);                                                         \
  void gelu_##ISA(const float* x, float* y, bool tanh_form, int64_t begin, int64_t end);           \
  void erf_##ISA(const float* x, float* y, int64_t begin, int64_t end);                            \
  void exp_##ISA(const float* x, float* y, int64_t begin, int64_t end);                            \
  /* y = a op b, all of the same shape */                                                          \
  void binary_same_##ISA(BinaryOp op, const float* a, const float* b, float* y, int64_t begin,     \
                         int64_t end);                                                             \
  /* y = a op s for a scalar s */                                                                  \
  void binary_scalar_##ISA(BinaryOp op, const float* a, float s, float* y, int64_t begin,          \
                           int64_t end);                                                           \
  /* rows of n: y[r, :] = a[r, :] op v[:] */                                                       \
  void binary_rows_##ISA(BinaryOp op, const float* a, const float* v, float* y, int64_t n,         \
                         int64_t begin, int64_t end);

KILN_X86_ENTRY_POINTS(avx2)
KILN_X86_ENTRY_POINTS(avx512)
#undef KILN_X86_ENTRY_POINTS

// Cast between fp32 and the 16-bit float formats (raw bits, see util/half.h, which they match bit for
// bit) over elements [begin, end). AVX-512 only; other tiers use the reference Cast.
void f32_to_bf16_avx512(const float* x, uint16_t* y, int64_t begin, int64_t end);
void bf16_to_f32_avx512(const uint16_t* x, float* y, int64_t begin, int64_t end);
void f32_to_f16_avx512(const float* x, uint16_t* y, int64_t begin, int64_t end);
void f16_to_f32_avx512(const uint16_t* x, float* y, int64_t begin, int64_t end);

// attention_probs, with the probabilities written as bf16 rows p (same indexing) instead of in place.
void attention_probs_bf16_avx512(float* s, uint16_t* p, int64_t n, float scale, const float* mask,
                                 const int64_t* mask_offset, int64_t mask_stride, int64_t begin, int64_t end);
// The same with vcvtneps2bf16 (bit-identical rounding; 20% of a BERT-base attention step faster):
// only when kernels::has_avx512_bf16().
void attention_probs_bf16_avx512bf16(float* s, uint16_t* p, int64_t n, float scale, const float* mask,
                                     const int64_t* mask_offset, int64_t mask_stride, int64_t begin, int64_t end);

// int8 activation quantisation (kernels/quantize.h's rule, bit for bit) over elements [begin, end), of
// f32 activations or of bf16 ones (widened exactly first, so a bf16 tensor quantises as its f32 copy).
float absmax_avx512(const float* x, int64_t begin, int64_t end);
float absmax_bf16_avx512(const uint16_t* x, int64_t begin, int64_t end);
void quantize_u8_avx512(const float* x, uint8_t* q, float inv_scale, int64_t begin, int64_t end);  // s8 + 128
void quantize_u8_bf16_avx512(const uint16_t* x, uint8_t* q, float inv_scale, int64_t begin, int64_t end);

}  // namespace kiln::kernels::x86
