// Kiln's one aligned allocator: tensors, the activation arena, artifacts read from memory, and the
// kernels' scratch all come from here, so every buffer a kernel sees starts on a cache line (and a
// whole AVX-512 vector).
//
// Contract of try_allocate_aligned(bytes) / allocate_aligned(bytes, context...):
//   - the block starts at a multiple of kAlignment (64) bytes;
//   - its usable size is `bytes` rounded up to a multiple of 64, and at least 64, so a zero-byte request
//     still gets a distinct, valid pointer and a kernel may touch the whole last cache line;
//   - the memory is uninitialised;
//   - it is freed by the returned AlignedPtr (move it into a std::shared_ptr<void> to share it).
// try_allocate_aligned returns nullptr when memory runs out (or `bytes` is too large to round up);
// allocate_aligned throws kiln::Error "out of memory allocating N bytes for <context...>" instead.
//
// Blocks of kHugeBlock (2 MiB) or more start on a 2 MiB boundary and are advised for transparent huge
// pages (madvise(MADV_HUGEPAGE); the kernel's default is often "madvise" only), before anything touches
// them: weights laid out at load and the activation arena are read on every run, and 4 KiB pages made
// the int8 GEMMs' weight reads miss the TLB.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "kiln/error.h"

namespace kiln {

inline constexpr size_t kAlignment = 64;
inline constexpr size_t kHugeBlock = size_t{2} << 20;

// `bytes` rounded up to a multiple of kAlignment (at least one); 0 if that does not fit in size_t.
constexpr size_t aligned_size(size_t bytes) {
  if (bytes > SIZE_MAX - (kAlignment - 1)) return 0;
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  return rounded == 0 ? kAlignment : rounded;
}

struct AlignedFree {
  void operator()(void* p) const noexcept { std::free(p); }
};
using AlignedPtr = std::unique_ptr<void, AlignedFree>;

inline AlignedPtr try_allocate_aligned(size_t bytes) {
  const size_t size = aligned_size(bytes);
  if (size == 0) return AlignedPtr(nullptr);
  if (size < kHugeBlock) return AlignedPtr(std::aligned_alloc(kAlignment, size));
  const size_t huge = (size + kHugeBlock - 1) / kHugeBlock * kHugeBlock;  // aligned_alloc wants a multiple
  void* p = huge < size ? nullptr : std::aligned_alloc(kHugeBlock, huge);
  if (p) madvise(p, huge, MADV_HUGEPAGE);  // advice only: failure leaves 4 KiB pages
  return AlignedPtr(p);
}

template <typename... Context>
AlignedPtr allocate_aligned(size_t bytes, const Context&... context) {
  AlignedPtr p = try_allocate_aligned(bytes);
  if (!p) fail("out of memory allocating ", bytes, " bytes for ", context...);
  return p;
}

}  // namespace kiln
