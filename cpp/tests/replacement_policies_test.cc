// fifo-age, clock, working-set and arc: each behaviour that sets the policy apart from LRU.
#include <gtest/gtest.h>

#include "testing/fake_clock.h"
#include "testing/policy_helpers.h"
#include "vmllm/eviction_policy.h"

namespace vmllm {
namespace {

constexpr auto Any = AnyPage;
constexpr auto Make = MakePolicy;

TEST(FifoAgePolicy, EvictsOldestInsertionEvenIfRecentlyUsed) {
  FakeClock clock;
  auto fifo = Make("fifo-age", &clock);
  fifo->OnInsert(1, 10);
  clock.Advance(1);
  fifo->OnInsert(2, 10);
  clock.Advance(1);
  fifo->OnAccess(1);  // LRU would now pick 2; FIFO still picks 1.
  EXPECT_EQ(fifo->PickVictim(Any), 1);
  fifo->OnErase(1);
  EXPECT_EQ(fifo->PickVictim(Any), 2);
  EXPECT_EQ(fifo->PickVictim([](PageKey k) { return k != 2; }), std::nullopt);
}

TEST(ClockPolicy, GivesAReferencedPageASecondChance) {
  FakeClock clock;
  auto c = Make("clock", &clock);
  c->OnInsert(1, 10);
  c->OnInsert(2, 10);
  c->OnInsert(3, 10);
  c->OnAccess(1);  // 1 is passed over once, losing its bit.
  EXPECT_EQ(c->PickVictim(Any), 2);
  c->OnErase(2);
  // The hand moved past 2; 3 has no bit, so it goes next.
  EXPECT_EQ(c->PickVictim(Any), 3);
  c->OnErase(3);
  EXPECT_EQ(c->PickVictim(Any), 1);  // Its second chance was spent.
}

TEST(ClockPolicy, FallsBackToReferencedPagesWhenAllAreReferenced) {
  FakeClock clock;
  auto c = Make("clock", &clock);
  c->OnInsert(1, 10);
  c->OnInsert(2, 10);
  c->OnAccess(1);
  c->OnAccess(2);
  EXPECT_EQ(c->PickVictim(Any), 1);  // First sweep clears both bits.
  EXPECT_EQ(c->PickVictim([](PageKey) { return false; }), std::nullopt);
}

TEST(WorkingSetPolicy, EvictsLargestPageOutsideTheWindowBeforeLru) {
  FakeClock clock(0);
  auto ws = Make("working-set:5", &clock);
  ws->OnInsert(1, 100);  // t=0, small.
  ws->OnInsert(2, 900);  // t=0, large.
  clock.Advance(3);
  ws->OnInsert(3, 50);  // t=3.
  clock.Advance(3);     // t=6: 1 and 2 are outside the window, 3 is inside.
  EXPECT_EQ(ws->Expired(), (std::vector<PageKey>{1, 2}));
  EXPECT_EQ(ws->PickVictim(Any), 2);  // Outside the window and largest.
  ws->OnAccess(2);                    // Back in the working set.
  EXPECT_EQ(ws->PickVictim(Any), 1);
  ws->OnAccess(1);  // Everything in the window: plain LRU, 3 is oldest.
  EXPECT_TRUE(ws->Expired().empty());
  EXPECT_EQ(ws->PickVictim(Any), 3);
}

TEST(WorkingSetPolicy, RejectsANonPositiveWindow) {
  FakeClock clock;
  EXPECT_EQ(NewEvictionPolicy("working-set:0", &clock).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(NewEvictionPolicy("working-set:x", &clock).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(NewEvictionPolicy("working-set", &clock).ok());
}

TEST(ArcPolicy, KeepsPagesSeenTwiceOverAOneTimeScan) {
  FakeClock clock;
  auto arc = Make("arc", &clock);
  arc->OnInsert(1, 10);
  arc->OnAccess(1);  // 1 moves to T2 (frequency).
  for (PageKey k = 2; k <= 4; ++k) arc->OnInsert(k, 10);  // A scan fills T1.
  // p = 0, so T1 is above target: the scan's oldest page goes, not the hot page 1 (which LRU
  // would pick, as it was touched before the scan).
  EXPECT_EQ(arc->PickVictim(Any), 2);
}

TEST(ArcPolicy, AGhostHitInB1ReturnsToFrequencyListAndGrowsT1Target) {
  FakeClock clock;
  auto arc = Make("arc", &clock);
  arc->OnInsert(1, 10);
  arc->OnInsert(2, 10);
  arc->OnAccess(2);  // T1 = {1}, T2 = {2}.
  arc->OnErase(1);   // 1 becomes a ghost in B1.
  arc->OnInsert(3, 10);
  arc->OnInsert(1, 10);  // Ghost hit: 1 goes to T2, p grows to 1.
  // T1 = {3} is no longer above its target of 1, so T2's LRU page (2) goes before 3.
  EXPECT_EQ(arc->PickVictim(Any), 2);
  EXPECT_EQ(arc->size(), 3u);
}

TEST(EvictionPolicy, EveryNamedPolicyHonoursTheEvictableFilter) {
  FakeClock clock;
  for (const std::string& name : EvictionPolicyNames()) {
    auto p = Make(name, &clock);
    for (PageKey k = 1; k <= 5; ++k) p->OnInsert(k, 10 * k);
    p->OnAccess(3);
    auto victim = p->PickVictim([](PageKey k) { return k == 4; });
    EXPECT_EQ(victim, 4) << name;
    EXPECT_EQ(p->PickVictim([](PageKey) { return false; }), std::nullopt) << name;
    for (PageKey k = 1; k <= 5; ++k) p->OnErase(k);
    EXPECT_EQ(p->size(), 0u) << name;
  }
}

}  // namespace
}  // namespace vmllm
