#include "vmllm/eviction_policy.h"

#include <gtest/gtest.h>

#include "testing/fake_clock.h"
#include "testing/policy_helpers.h"

namespace vmllm {
namespace {

constexpr auto Any = AnyPage;
constexpr auto Make = MakePolicy;

TEST(EvictionPolicy, UnknownNameIsAnInvalidArgumentListingTheKnownOnes) {
  FakeClock clock;
  auto p = NewEvictionPolicy("nope", &clock);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("lru"), std::string::npos);
}

TEST(LruPolicy, EvictsLeastRecentlyUsedFirst) {
  FakeClock clock;
  auto lru = Make("lru", &clock);
  lru->OnInsert(1, 10);
  clock.Advance(1);
  lru->OnInsert(2, 10);
  clock.Advance(1);
  lru->OnInsert(3, 10);
  clock.Advance(1);
  lru->OnAccess(1);  // 2 is now the oldest.
  EXPECT_EQ(lru->PickVictim(Any), 2);
  lru->OnErase(2);
  EXPECT_EQ(lru->PickVictim(Any), 3);
}

TEST(LruPolicy, BreaksTimestampTiesByAccessOrder) {
  FakeClock clock;  // Never advances: every access has the same time.
  auto lru = Make("lru", &clock);
  lru->OnInsert(1, 10);
  lru->OnInsert(2, 10);
  lru->OnAccess(1);
  EXPECT_EQ(lru->PickVictim(Any), 2);
}

TEST(LruPolicy, SkipsPagesTheCallerProtects) {
  FakeClock clock;
  auto lru = Make("lru", &clock);
  lru->OnInsert(1, 10);
  lru->OnInsert(2, 10);
  EXPECT_EQ(lru->PickVictim([](PageKey k) { return k != 1; }), 2);
  EXPECT_FALSE(lru->PickVictim([](PageKey) { return false; }).has_value());
}

TEST(LfuPolicy, EvictsLeastFrequentlyUsedFirst) {
  FakeClock clock;
  auto lfu = Make("lfu", &clock);
  lfu->OnInsert(1, 10);
  lfu->OnInsert(2, 10);
  lfu->OnInsert(3, 10);
  for (int i = 0; i < 3; ++i) lfu->OnAccess(1);
  lfu->OnAccess(3);
  EXPECT_EQ(lfu->PickVictim(Any), 2);
}

TEST(GdsfPolicy, EvictsLargeColdPageBeforeSmallHotOnes) {
  FakeClock clock;
  auto gdsf = Make("gdsf", &clock);
  gdsf->OnInsert(1, 2000);  // Large, used once.
  gdsf->OnInsert(2, 100);
  gdsf->OnInsert(3, 100);
  gdsf->OnAccess(2);
  clock.Advance(10);
  gdsf->OnAccess(1);  // Most recent, yet still the victim: size dominates.
  EXPECT_EQ(gdsf->PickVictim(Any), 1);
}

TEST(GdsfPolicy, AgingLetsNewPagesOutrankLongIdleHotOnes) {
  FakeClock clock;
  auto gdsf = Make("gdsf", &clock);
  gdsf->OnInsert(1, 10);
  for (int i = 0; i < 3; ++i) gdsf->OnAccess(1);  // Priority 4/10.
  // A stream of one-use pages: each victim raises L, so newcomers eventually outrank page 1.
  PageKey next = 100;
  std::optional<PageKey> victim;
  int rounds = 0;
  while (rounds < 10 && victim != 1) {
    gdsf->OnInsert(next, 10);  // Priority L + 1/10.
    victim = gdsf->PickVictim(Any);
    ASSERT_TRUE(victim.has_value());
    gdsf->OnErase(*victim);
    ++next;
    ++rounds;
  }
  EXPECT_EQ(victim, 1);
  EXPECT_GT(rounds, 1);  // Hot at first: newcomers left before it did.
}

TEST(EvictionPolicy, EveryNamedPolicyTracksSizeAndForgetsErasedPages) {
  for (const std::string& name : EvictionPolicyNames()) {
    FakeClock clock;
    auto p = Make(name, &clock);
    EXPECT_EQ(p->Name(), name);
    p->OnInsert(7, 5);
    p->OnInsert(8, 5);
    EXPECT_EQ(p->size(), 2u);
    p->OnErase(7);
    EXPECT_EQ(p->size(), 1u);
    EXPECT_EQ(p->PickVictim(Any), 8) << name;
    p->OnAccess(12345);  // Unknown keys are ignored, not inserted.
    EXPECT_EQ(p->size(), 1u);
  }
}

}  // namespace
}  // namespace vmllm
