// Splitting a kernel's work over the session's OpenMP threads: the one helper every kernel uses.
//
// parallel_ranges(n, item_elements, align, body[, min_parallel_elements]) calls body(begin, end) on
// ranges that together cover [0, n) items exactly once, with these guarantees:
//   - small work runs serially, as one body(0, n) on the calling thread: when n * item_elements is at
//     most min_parallel_elements (default kMinParallelElements: below it, waking a team costs more than
//     it saves for a vector kernel; 0 splits any work that fits two ranges), when fewer than two ranges
//     of `align` items fit, or when called from inside a parallel region (no nested teams);
//   - otherwise one contiguous range per thread (a static schedule, at most omp_get_max_threads()
//     ranges), each non-empty;
//   - every interior boundary is a multiple of `align` items, so no two threads write the same cache
//     line when `align` items fill whole lines (16 floats, 64 int8); the last range takes the remainder.
// `body` must be safe to call concurrently on disjoint ranges. n <= 0 calls nothing.
// parallel_flat(count, body) is the flat-float case: items of one element, boundaries on 16 floats.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace kiln::kernels {

inline constexpr int64_t kMinParallelElements = 16384;

template <class Body>
void parallel_ranges(int64_t n, int64_t item_elements, int64_t align, Body&& body,
                     int64_t min_parallel_elements = kMinParallelElements) {
  if (n <= 0) return;
  const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int64_t chunks = std::min(threads, n / align);
  if (chunks < 2 || n * item_elements <= min_parallel_elements) {
    body(int64_t{0}, n);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(chunks))
  for (int64_t t = 0; t < chunks; ++t) {
    const int64_t begin = n * t / chunks / align * align;
    const int64_t end = t + 1 == chunks ? n : n * (t + 1) / chunks / align * align;
    body(begin, end);
  }
}

// Flat float ranges split on 16-float (64-byte) boundaries.
template <class Body> void parallel_flat(int64_t count, Body&& body) { parallel_ranges(count, 1, 16, body); }

}  // namespace kiln::kernels
