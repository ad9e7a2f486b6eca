#include "memory/queue_manager.h"

#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vmllm {
namespace {

QueueItem Msg(size_t tokens) { return QueueItem{tokens, {}, {}}; }
QueueItem Call(size_t tokens, std::vector<std::string> ids) { return QueueItem{tokens, ids, {}}; }
QueueItem Result(size_t tokens, std::string id) { return QueueItem{tokens, {}, id}; }

// The invariant, checked directly: no id is on both sides of the cut, and no kept result
// lacks its call, and no evicted call leaves a result to come.
bool CutSeparatesNothing(const std::vector<QueueItem>& q, size_t k) {
  std::set<std::string> evicted_calls, kept_calls, evicted_results, kept_results;
  for (size_t i = 0; i < q.size(); ++i) {
    auto& calls = i < k ? evicted_calls : kept_calls;
    auto& results = i < k ? evicted_results : kept_results;
    for (const auto& id : q[i].tool_call_ids) calls.insert(id);
    if (!q[i].tool_call_id.empty()) results.insert(q[i].tool_call_id);
  }
  for (const auto& id : kept_results) {
    if (evicted_calls.count(id)) return false;
  }
  for (const auto& id : evicted_calls) {
    if (!evicted_results.count(id)) return false;  // Its result is kept, or still to come.
  }
  return true;
}

TEST(QueueManager, CutsAroundAToolCallAndItsResultsOnly) {
  std::vector<QueueItem> q = {Msg(10), Call(5, {"a", "b"}), Result(5, "a"), Result(5, "b"),
                              Msg(10)};
  std::vector<bool> safe = SafeCuts(q);
  EXPECT_EQ(safe, (std::vector<bool>{true, true, false, false, true, true}));
}

TEST(QueueManager, AnOpenCallIsNeverEvictedWithoutItsResult) {
  std::vector<QueueItem> q = {Msg(10), Call(5, {"a"}), Msg(10)};
  std::vector<bool> safe = SafeCuts(q);
  EXPECT_TRUE(safe[1]);
  EXPECT_FALSE(safe[2]);
  EXPECT_FALSE(safe[3]);
  EXPECT_EQ(OpenToolCalls(q), std::vector<std::string>{"a"});
}

TEST(QueueManager, SafeCutsMatchTheInvariantOnRandomQueues) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<QueueItem> q;
    std::vector<std::string> open;
    int next_id = 0;
    const int n = 1 + rng() % 14;
    for (int i = 0; i < n; ++i) {
      int r = rng() % 4;
      if (r == 0 && !open.empty()) {
        size_t pick = rng() % open.size();
        q.push_back(Result(1, open[pick]));
        open.erase(open.begin() + pick);
      } else if (r == 1) {
        std::vector<std::string> ids;
        for (int c = 0, m = 1 + rng() % 3; c < m; ++c) {
          ids.push_back("c" + std::to_string(next_id++));
        }
        open.insert(open.end(), ids.begin(), ids.end());
        q.push_back(Call(1, ids));
      } else {
        q.push_back(Msg(1));
      }
    }
    std::vector<bool> safe = SafeCuts(q);
    for (size_t k = 0; k <= q.size(); ++k) {
      ASSERT_EQ(safe[k], CutSeparatesNothing(q, k)) << "trial " << trial << " cut " << k;
    }
  }
}

TEST(QueueManager, ChoosesTheSmallestSafeCutThatReachesTheTarget) {
  std::vector<QueueItem> q = {Msg(30), Call(20, {"a"}), Result(20, "a"), Msg(20), Msg(10)};
  // fixed 10 + kept must be <= 50: cut 3 keeps 30 (total 40); cut 2 is unsafe.
  auto plan = ChooseCut(q, 10, 50, 100);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->evict, 3u);
  EXPECT_EQ(plan->kept_tokens, 30u);
  EXPECT_TRUE(plan->reached_target);
}

TEST(QueueManager, NeverEvictsTheNewestMessage) {
  std::vector<QueueItem> q = {Msg(10), Msg(90)};
  auto plan = ChooseCut(q, 0, 50, 100);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->evict, 1u);  // Short of the target, but within the limit.
  EXPECT_FALSE(plan->reached_target);
  EXPECT_FALSE(ChooseCut({Msg(10), Msg(120)}, 0, 50, 100).has_value());
  // A warning after the newest message does not make the message evictable.
  EXPECT_FALSE(ChooseCut({Msg(10), Msg(120), Msg(5)}, 0, 50, 100, 1).has_value());
}

TEST(QueueManager, ShortOfTheTargetEvictsAsMuchAsItSafelyCan) {
  std::vector<QueueItem> q = {Msg(10), Msg(10), Call(30, {"a"}), Result(40, "a")};
  auto plan = ChooseCut(q, 0, 50, 100);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->evict, 2u);
  EXPECT_EQ(plan->kept_tokens, 70u);
}

}  // namespace
}  // namespace vmllm
