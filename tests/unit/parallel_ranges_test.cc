// kernels/parallel.h: parallel_ranges covers [0, n) exactly once, splits on `align` boundaries, one
// non-empty range per thread, and runs small work serially.
#include "kernels/parallel.h"

#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

#include "test_util.h"

namespace kiln::test {
namespace {

using Ranges = std::vector<std::pair<int64_t, int64_t>>;

Ranges ranges_of(int64_t n, int64_t item_elements, int64_t align, int threads) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  Ranges out;
  std::mutex mu;
  kernels::parallel_ranges(n, item_elements, align, [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> lock(mu);
    out.emplace_back(b, e);
  });
  omp_set_num_threads(saved);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ParallelRanges, CoverEverythingOnceOnAlignedBoundaries) {
  for (int threads : {1, 2, 3, 4, 7})
    for (int64_t align : {1, 16, 64})
      for (int64_t n : {1, 15, 16, 17, 63, 64, 65, 1000, 16384, 16385, 100003, 1 << 20}) {
        SCOPED_TRACE("threads=" + std::to_string(threads) + " align=" + std::to_string(align) + " n=" + std::to_string(n));
        const Ranges r = ranges_of(n, 1, align, threads);
        ASSERT_FALSE(r.empty());
        EXPECT_LE(r.size(), static_cast<size_t>(threads));
        EXPECT_EQ(r.front().first, 0);
        EXPECT_EQ(r.back().second, n);
        for (size_t i = 0; i < r.size(); ++i) {
          EXPECT_LT(r[i].first, r[i].second) << "range " << i << " is empty";
          if (i > 0) {
            EXPECT_EQ(r[i].first, r[i - 1].second) << "gap or overlap before range " << i;
            EXPECT_EQ(r[i].first % align, 0) << "boundary " << r[i].first << " is not a multiple of " << align;
          }
        }
        const bool parallel = threads > 1 && n > kernels::kMinParallelElements && n / align >= 2;
        EXPECT_EQ(r.size() > 1, parallel);
      }
}

TEST(ParallelRanges, SmallWorkAndNestedCallsRunSerially) {
  // Rows of 1000 elements: 16 rows are 16000 elements, below the threshold; 17 rows are above it.
  EXPECT_EQ(ranges_of(16, 1000, 1, 4).size(), 1u);
  EXPECT_EQ(ranges_of(17, 1000, 1, 4).size(), 4u);
  EXPECT_TRUE(ranges_of(0, 1, 1, 4).empty());
  // With no threshold, anything that fits two aligned ranges is split.
  const int saved_threads = omp_get_max_threads();
  omp_set_num_threads(2);
  std::vector<int64_t> begins;
  std::mutex mu;
  kernels::parallel_ranges(int64_t{128}, 1, 64, [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> lock(mu);
    begins.push_back(b);
  }, 0);
  omp_set_num_threads(saved_threads);
  EXPECT_EQ(begins.size(), 2u);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(4);
  int calls = 0;
#pragma omp parallel num_threads(2)
  {
#pragma omp single
    kernels::parallel_ranges(int64_t{1} << 20, 1, 16, [&](int64_t b, int64_t e) {
      ++calls;
      EXPECT_EQ(b, 0);
      EXPECT_EQ(e, int64_t{1} << 20);
    });
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace kiln::test
