#include <gtest/gtest.h>

#include <vector>

#include "testing/fake_clock.h"
#include "vmllm/tier.h"

namespace vmllm {
namespace {

TEST(MemoryTier, ReturnsWhatWasPutAndNotFoundOtherwise) {
  FakeClock clock;
  auto tier = NewMemoryTier({}, &clock);
  ASSERT_TRUE(tier->Put(1, "alpha").ok());
  EXPECT_EQ(*tier->Get(1), "alpha");
  EXPECT_EQ(tier->Get(2).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tier->id(), TierId::kL2);
}

TEST(MemoryTier, ExpiresEntriesAfterTheirTtl) {
  FakeClock clock;
  auto tier = NewMemoryTier({1 << 20, 10.0}, &clock);
  ASSERT_TRUE(tier->Put(1, "alpha").ok());
  clock.Advance(9.9);
  EXPECT_TRUE(*tier->Contains(1));
  clock.Advance(0.2);
  EXPECT_FALSE(*tier->Contains(1));
  EXPECT_EQ(tier->Usage().bytes, 0u);
}

TEST(MemoryTier, ReadRefreshesTheTtl) {
  FakeClock clock;
  auto tier = NewMemoryTier({1 << 20, 10.0}, &clock);
  ASSERT_TRUE(tier->Put(1, "alpha").ok());
  clock.Advance(8);
  ASSERT_TRUE(tier->Get(1).ok());
  clock.Advance(8);
  EXPECT_TRUE(tier->Get(1).ok());
}

TEST(MemoryTier, DropsLeastRecentlyUsedBeyondTheByteCap) {
  FakeClock clock;
  auto tier = NewMemoryTier({10, 0}, &clock);
  ASSERT_TRUE(tier->Put(1, "aaaa").ok());
  ASSERT_TRUE(tier->Put(2, "bbbb").ok());
  ASSERT_TRUE(tier->Get(1).ok());          // 2 is now least recently used.
  ASSERT_TRUE(tier->Put(3, "cccc").ok());  // 12 bytes > 10: one must go.
  EXPECT_TRUE(*tier->Contains(1));
  EXPECT_FALSE(*tier->Contains(2));
  EXPECT_TRUE(*tier->Contains(3));
  EXPECT_EQ(tier->Usage().bytes, 8u);
  EXPECT_EQ(tier->Usage().pages, 2u);
}

TEST(MemoryTier, SkipsAnEntryLargerThanTheWholeCap) {
  FakeClock clock;
  auto tier = NewMemoryTier({4, 0}, &clock);
  ASSERT_TRUE(tier->Put(1, "abc").ok());
  EXPECT_EQ(tier->Put(2, "too large").code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(*tier->Contains(1));
  EXPECT_FALSE(*tier->Contains(2));
}

TEST(MemoryTier, ReportsEntriesItDropsOnItsOwn) {
  FakeClock clock;
  auto tier = NewMemoryTier({8, 5.0}, &clock);
  std::vector<PageKey> dropped;
  tier->SetDropListener([&](PageKey key) { dropped.push_back(key); });
  ASSERT_TRUE(tier->Put(1, "aaaa").ok());
  ASSERT_TRUE(tier->Put(2, "bbbb").ok());
  ASSERT_TRUE(tier->Put(3, "cccc").ok());  // Over the cap: 1 goes.
  ASSERT_TRUE(tier->Erase(2).ok());        // Asked for: not reported.
  clock.Advance(6);
  EXPECT_FALSE(*tier->Contains(3));        // Expired: reported.
  EXPECT_EQ(dropped, (std::vector<PageKey>{1, 3}));
}

TEST(MemoryTier, PutReplacesAndEraseRemoves) {
  FakeClock clock;
  auto tier = NewMemoryTier({}, &clock);
  ASSERT_TRUE(tier->Put(1, "one").ok());
  ASSERT_TRUE(tier->Put(1, "uno!").ok());
  EXPECT_EQ(*tier->Get(1), "uno!");
  EXPECT_EQ(tier->Usage().bytes, 4u);
  ASSERT_TRUE(tier->Erase(1).ok());
  ASSERT_TRUE(tier->Erase(1).ok());  // Erasing the absent is fine.
  EXPECT_EQ(tier->Usage().pages, 0u);
}

}  // namespace
}  // namespace vmllm
