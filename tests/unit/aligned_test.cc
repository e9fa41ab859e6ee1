// util/aligned.h: the one aligned allocator's contract (alignment, rounded size, errors).
#include "util/aligned.h"

#include <cstring>

#include "test_util.h"

namespace kiln::test {
namespace {

TEST(AlignedAlloc, SizesRoundUpToWholeCacheLines) {
  EXPECT_EQ(aligned_size(0), 64u);  // an empty request still gets a distinct block
  EXPECT_EQ(aligned_size(1), 64u);
  EXPECT_EQ(aligned_size(64), 64u);
  EXPECT_EQ(aligned_size(65), 128u);
  EXPECT_EQ(aligned_size(SIZE_MAX), 0u);  // cannot be rounded up
}

TEST(AlignedAlloc, BlocksAreAlignedAndWritableToTheRoundedSize) {
  for (size_t bytes : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{1000}, size_t{1} << 20}) {
    AlignedPtr p = allocate_aligned(bytes, "a test buffer");
    ASSERT_NE(p, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p.get()) % kAlignment, 0u) << bytes;
    std::memset(p.get(), 0xab, aligned_size(bytes));  // ASan checks the whole rounded block is ours
  }
  std::shared_ptr<void> shared = allocate_aligned(10, "a shared buffer");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(shared.get()) % kAlignment, 0u);
}

// Blocks of 2 MiB or more start on a huge-page boundary (and are advised for huge pages), so a weight or
// the activation arena can be backed by 2 MiB pages.
TEST(AlignedAlloc, LargeBlocksStartOnA2MiBBoundary) {
  for (size_t bytes : {kHugeBlock - 64, kHugeBlock, kHugeBlock + 1, size_t{5} << 20}) {
    AlignedPtr p = allocate_aligned(bytes, "a large test buffer");
    ASSERT_NE(p, nullptr) << bytes;
    const uintptr_t at = reinterpret_cast<uintptr_t>(p.get());
    EXPECT_EQ(at % (bytes >= kHugeBlock ? kHugeBlock : kAlignment), 0u) << bytes;
    std::memset(p.get(), 0xcd, aligned_size(bytes));
  }
  // Rounding up to whole huge pages must not wrap around.
  EXPECT_EQ(try_allocate_aligned(SIZE_MAX - 4096), nullptr);
}

TEST(AlignedAlloc, OutOfMemoryIsAnErrorThatSaysWhat) {
  EXPECT_EQ(try_allocate_aligned(SIZE_MAX), nullptr);
  try {
    allocate_aligned(SIZE_MAX, "tensor '", "x", "'");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of memory allocating " + std::to_string(SIZE_MAX) + " bytes for tensor 'x'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace kiln::test
