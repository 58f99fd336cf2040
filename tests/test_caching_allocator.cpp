// The caching allocator both devices use (engine/caching_allocator.h), over a counting raw
// allocator: size classes, reuse without new raw allocations, live/peak accounting, the cap on
// cached bytes, and the out-of-memory path (cache returned, one retry, then an error).
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "engine/caching_allocator.h"
#include "engine/error.h"

namespace sr {
namespace {

// A raw allocator that counts calls and can be told to fail while more than `limit` bytes are
// out.
struct FakeRaw {
  static inline int allocs = 0, releases = 0;
  static inline size_t out = 0, limit = SIZE_MAX;
  static inline std::set<void*> blocks;
  static void reset() { allocs = releases = 0, out = 0, limit = SIZE_MAX, blocks.clear(); }
  static void* allocate(size_t n) {
    if (out + n > limit) return nullptr;
    ++allocs;
    out += n;
    void* p = std::malloc(n + sizeof(size_t));
    *static_cast<size_t*>(p) = n;
    blocks.insert(p);
    return static_cast<size_t*>(p) + 1;
  }
  static void release(void* q) {
    void* p = static_cast<size_t*>(q) - 1;
    ASSERT_TRUE(blocks.erase(p)) << "released a block it never gave";
    ++releases;
    out -= *static_cast<size_t*>(p);
    std::free(p);
  }
};

class CachingAllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override { FakeRaw::reset(); }
  void TearDown() override { EXPECT_TRUE(FakeRaw::blocks.empty()); }
  static CachingAllocator::RawMemory raw() { return {FakeRaw::allocate, FakeRaw::release}; }
};

TEST_F(CachingAllocatorTest, SizeClassesWasteAtMostAnEighth) {
  CachingAllocator a("test", 64, SIZE_MAX, raw());
  EXPECT_EQ(a.size_class(0), 64u);
  EXPECT_EQ(a.size_class(1), 64u);
  EXPECT_EQ(a.size_class(65), 128u);
  EXPECT_EQ(a.size_class(4096), 4096u);
  EXPECT_EQ(a.size_class(4097), 4096u + 512u);
  for (size_t n : {size_t(5000), size_t(123457), size_t(1) << 20, (size_t(1) << 30) + 1}) {
    size_t c = a.size_class(n);
    EXPECT_GE(c, n);
    EXPECT_LE(double(c - n), double(n) / 8) << n;
    EXPECT_EQ(a.size_class(c), c) << "a class maps to itself";
  }
  CachingAllocator b("test", 512, SIZE_MAX, raw());
  EXPECT_EQ(b.size_class(1), 512u);
  EXPECT_EQ(b.size_class(513), 1024u);
}

TEST_F(CachingAllocatorTest, FreedBlocksAreReusedAndCounted) {
  CachingAllocator a("test", 64, SIZE_MAX, raw());
  void* p = a.allocate(1000);
  void* q = a.allocate(1000);
  EXPECT_EQ(a.live_bytes(), 2 * 1024u);
  EXPECT_EQ(a.peak_bytes(), 2 * 1024u);
  a.deallocate(p, 1000);
  EXPECT_EQ(a.live_bytes(), 1024u);
  EXPECT_EQ(a.allocate(990), p) << "same class: the cached block comes back";
  EXPECT_EQ(FakeRaw::allocs, 2);
  a.deallocate(p, 990);
  a.deallocate(q, 1000);
  EXPECT_EQ(a.live_bytes(), 0u);
  EXPECT_EQ(a.peak_bytes(), 2 * 1024u);
  a.reset_peak();
  EXPECT_EQ(a.peak_bytes(), 0u);
  EXPECT_EQ(FakeRaw::releases, 0) << "freed blocks stay cached";
  a.empty_cache();
  EXPECT_EQ(FakeRaw::releases, 2);
}

TEST_F(CachingAllocatorTest, BlocksBeyondTheCapGoBack) {
  CachingAllocator a("test", 64, 1024, raw());
  void* p = a.allocate(1024);
  void* q = a.allocate(1024);
  a.deallocate(p, 1024);  // cached: 1024 of 1024
  a.deallocate(q, 1024);  // over the cap: released
  EXPECT_EQ(FakeRaw::releases, 1);
  a.empty_cache();
  EXPECT_EQ(FakeRaw::releases, 2);
}

TEST_F(CachingAllocatorTest, OutOfMemoryReturnsTheCacheRetriesThenThrows) {
  CachingAllocator a("test", 64, SIZE_MAX, raw());
  FakeRaw::limit = 4096;
  void* p = a.allocate(2048);
  a.deallocate(p, 2048);       // cached, still out at the raw allocator
  void* q = a.allocate(3072);  // fails while the 2048 are cached: cache released, retry works
  EXPECT_NE(q, nullptr);
  EXPECT_EQ(FakeRaw::releases, 1);
  try {
    (void)a.allocate(2048);
    FAIL() << "expected an out-of-memory error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("test allocator: out of memory allocating 2048 bytes"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(a.live_bytes(), 3072u) << "a failed request changes nothing";
  a.deallocate(q, 3072);
  a.empty_cache();
}

}  // namespace
}  // namespace sr
