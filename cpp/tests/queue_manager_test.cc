#include "memory/queue_manager.h"

#include <algorithm>
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

// The open calls, found independently of the queue manager: those of the last assistant message
// with calls, when every message after it answers one of its calls not yet answered.
std::set<std::string> ReferenceOpenCalls(const std::vector<QueueItem>& q) {
  size_t g = q.size();
  for (size_t i = 0; i < q.size(); ++i) {
    if (!q[i].tool_call_ids.empty()) g = i;
  }
  if (g == q.size()) return {};
  std::set<std::string> open(q[g].tool_call_ids.begin(), q[g].tool_call_ids.end());
  for (size_t i = g + 1; i < q.size(); ++i) {
    if (!open.erase(q[i].tool_call_id)) return {};  // Something else came: nothing is awaited.
  }
  return open;
}

// The invariant, checked directly: no result is on the other side of the cut from its call
// (the latest call of its id before it), and no open call is evicted while its result is still
// to come. A call that nothing answers and that is not open may go.
bool CutSeparatesNothing(const std::vector<QueueItem>& q, size_t k) {
  for (size_t j = 0; j < q.size(); ++j) {
    if (q[j].tool_call_id.empty()) continue;
    for (size_t c = j; c-- > 0;) {
      const auto& ids = q[c].tool_call_ids;
      if (std::find(ids.begin(), ids.end(), q[j].tool_call_id) == ids.end()) continue;
      if ((c < k) != (j < k)) return false;
      break;
    }
  }
  // Open calls are those of the last message with calls: evicting it evicts them.
  size_t last_call = q.size();
  for (size_t i = 0; i < q.size(); ++i) {
    if (!q[i].tool_call_ids.empty()) last_call = i;
  }
  if (!ReferenceOpenCalls(q).empty() && last_call < k) return false;
  return true;
}

// What a provider accepts: the results of an assistant message's calls directly after it, each
// call answered once; only the last such message may still wait for some (they are awaited).
// Items are rendered: a kept call or result as it is, a synthetic close as a result, a late
// result as a plain note.
bool ProviderValid(const std::vector<QueueItem>& q) {
  size_t i = 0;
  while (i < q.size()) {
    if (!q[i].tool_call_id.empty()) return false;  // A result without its call before it.
    if (q[i].tool_call_ids.empty()) {
      ++i;
      continue;
    }
    std::set<std::string> pending(q[i].tool_call_ids.begin(), q[i].tool_call_ids.end());
    size_t j = i + 1;
    for (; j < q.size() && !q[j].tool_call_id.empty(); ++j) {
      if (!pending.erase(q[j].tool_call_id)) return false;
    }
    if (j < q.size() && !pending.empty()) return false;  // Unanswered, and not the last.
    i = j;
  }
  return true;
}

std::vector<QueueItem> Render(const std::vector<QueueItem>& q,
                              const std::vector<PairingStep>& plan) {
  std::vector<QueueItem> out;
  for (const PairingStep& step : plan) {
    switch (step.kind) {
      case PairingStep::Kind::kKeep: out.push_back(q[step.index]); break;
      case PairingStep::Kind::kCloseCall: out.push_back(Result(1, step.call_id)); break;
      case PairingStep::Kind::kLateResult: out.push_back(Msg(q[step.index].tokens)); break;
    }
  }
  return out;
}

// Calls f on every queue of up to `max_len` items drawn from plain messages, calls a, b, a+b
// and results for a, b and c (c is never called): reused ids, late, duplicate and unknown
// results, calls left unanswered anywhere.
template <typename F>
void ForEverySmallQueue(size_t max_len, F f) {
  const std::vector<QueueItem> alphabet = {Msg(1),         Call(1, {"a"}),   Call(1, {"b"}),
                                           Call(1, {"a", "b"}), Result(1, "a"), Result(1, "b"),
                                           Result(1, "c")};
  std::vector<size_t> digits;
  for (size_t len = 0; len <= max_len; ++len) {
    digits.assign(len, 0);
    while (true) {
      std::vector<QueueItem> q;
      for (size_t d : digits) q.push_back(alphabet[d]);
      f(q);
      size_t pos = 0;
      while (pos < len && ++digits[pos] == alphabet.size()) digits[pos++] = 0;
      if (pos == len) break;
    }
  }
}

TEST(QueueManager, CutsAroundAToolCallAndItsResultsOnly) {
  std::vector<QueueItem> q = {Msg(10), Call(5, {"a", "b"}), Result(5, "a"), Result(5, "b"),
                              Msg(10)};
  std::vector<bool> safe = SafeCuts(q);
  EXPECT_EQ(safe, (std::vector<bool>{true, true, false, false, true, true}));
}

TEST(QueueManager, AnOpenCallIsNeverEvictedWithoutItsResult) {
  std::vector<QueueItem> q = {Msg(10), Call(5, {"a", "b"}), Result(5, "a")};
  std::vector<bool> safe = SafeCuts(q);
  EXPECT_TRUE(safe[1]);
  EXPECT_FALSE(safe[2]);
  EXPECT_FALSE(safe[3]);
  EXPECT_EQ(OpenToolCalls(q), std::vector<std::string>{"b"});
}

TEST(QueueManager, ACallIsOpenOnlyUntilSomethingElseFollowsIt) {
  EXPECT_EQ(OpenToolCalls({Msg(1), Call(1, {"a"})}), std::vector<std::string>{"a"});
  EXPECT_TRUE(OpenToolCalls({Msg(1), Call(1, {"a"}), Msg(1)}).empty());
  EXPECT_TRUE(OpenToolCalls({Call(1, {"a", "b"}), Result(1, "c")}).empty());
  EXPECT_EQ(OpenToolCalls({Call(1, {"a"}), Result(1, "a"), Call(1, {"b", "c"})}),
            (std::vector<std::string>{"b", "c"}));
}

// The bricked queue of issue 11: a call left without its result, then user messages. Every
// cut after the call used to be unsafe, so no flush could ever make room again.
TEST(QueueManager, ACallLeftUnansweredInTheMiddleNeverBlocksAFlush) {
  std::vector<QueueItem> q = {Msg(100), Call(50, {"a"}), Msg(400), Msg(400), Msg(100)};
  std::vector<bool> safe = SafeCuts(q);
  EXPECT_EQ(safe, (std::vector<bool>{true, true, true, true, true, true}));
  auto plan = ChooseCut(q, 0, 500, 1000, 4);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->evict, 3u);
  EXPECT_TRUE(plan->reached_target);
}

TEST(QueueManager, EveryQueueEndingInAPlainMessageCanBeFlushedDownToIt) {
  size_t checked = 0;
  ForEverySmallQueue(6, [&](const std::vector<QueueItem>& q) {
    if (q.empty() || !q.back().tool_call_ids.empty() || !q.back().tool_call_id.empty()) return;
    ++checked;
    auto plan = ChooseCut(q, 0, 1, 1000, q.size() - 1);
    ASSERT_TRUE(plan.has_value());
    ASSERT_EQ(plan->evict, q.size() - 1);
  });
  EXPECT_GT(checked, 10000u);
}

TEST(QueueManager, SafeCutsAndOpenCallsMatchTheInvariantOnEverySmallQueue) {
  ForEverySmallQueue(6, [](const std::vector<QueueItem>& q) {
    std::vector<bool> safe = SafeCuts(q);
    ASSERT_EQ(safe.size(), q.size() + 1);
    for (size_t k = 0; k <= q.size(); ++k) ASSERT_EQ(safe[k], CutSeparatesNothing(q, k)) << k;
    std::vector<std::string> open = OpenToolCalls(q);
    ASSERT_EQ(std::set<std::string>(open.begin(), open.end()), ReferenceOpenCalls(q));
  });
}

TEST(QueueManager, PlanPairingMakesEverySmallQueueProviderValidAndKeepsValidOnesAsTheyAre) {
  ForEverySmallQueue(6, [](const std::vector<QueueItem>& q) {
    std::vector<PairingStep> plan = PlanPairing(q);
    // Every item once, in order; only calls are added.
    size_t next = 0;
    bool identity = plan.size() == q.size();
    for (const PairingStep& step : plan) {
      if (step.kind == PairingStep::Kind::kCloseCall) {
        identity = false;
        continue;
      }
      ASSERT_EQ(step.index, next++);
      if (step.kind != PairingStep::Kind::kKeep) identity = false;
    }
    ASSERT_EQ(next, q.size());
    std::vector<QueueItem> rendered = Render(q, plan);
    ASSERT_TRUE(ProviderValid(rendered));
    ASSERT_EQ(identity, ProviderValid(q));
    // The open calls stay open: only a later message closes them.
    ASSERT_EQ(OpenToolCalls(rendered), OpenToolCalls(q));
    std::vector<PairingStep> again = PlanPairing(rendered);
    for (size_t i = 0; i < again.size(); ++i) {
      ASSERT_EQ(again[i], (PairingStep{PairingStep::Kind::kKeep, i, {}}));
    }
  });
}

TEST(QueueManager, PlanPairingClosesAnUnansweredCallAndTurnsItsLateResultIntoANote) {
  std::vector<QueueItem> q = {Msg(1), Call(1, {"a", "b"}), Result(1, "a"), Msg(1),
                              Result(1, "b"), Result(1, "x")};
  using K = PairingStep::Kind;
  EXPECT_EQ(PlanPairing(q), (std::vector<PairingStep>{{K::kKeep, 0, {}},
                                                      {K::kKeep, 1, {}},
                                                      {K::kKeep, 2, {}},
                                                      {K::kCloseCall, 0, "b"},
                                                      {K::kKeep, 3, {}},
                                                      {K::kLateResult, 4, {}},
                                                      {K::kLateResult, 5, {}}}));
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
