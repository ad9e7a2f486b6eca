// Trace replay on a synthetic agent session whose re-reads are known in advance.
#include "vmllm/replay.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace vmllm {
namespace {

// Twelve turns reading files a..f, then re-reading a and b: each result about 1,200 bytes.
std::string Trace() {
  const char* order[] = {"a", "b", "c", "d", "e", "f", "a", "g", "b", "h", "a", "i"};
  std::string body = R"({"messages":[{"role":"user","content":"fix the bug"})";
  for (int t = 0; t < 12; ++t) {
    std::string id = "c" + std::to_string(t);
    std::string content;
    for (int l = 0; l < 40; ++l) content += std::string(order[t]) + " content line " + std::to_string(l) + "\\n";
    body += R"(,{"role":"assistant","content":null,"tool_calls":[{"id":")" + id +
            R"(","type":"function","function":{"name":"read","arguments":"{\"path\":\")" +
            order[t] + R"(\"}"}}]})";
    body += R"(,{"role":"tool","tool_call_id":")" + id + R"(","content":")" + content + R"("})";
  }
  return body + R"(,{"role":"assistant","content":"done"}]})";
}

ReplayResult RunPolicy(const std::string& policy, size_t l1 = 1200) {
  ReplayOptions options;
  options.policy = policy;
  options.l1_tokens = l1;
  auto r = ReplayTrace(WireFormat::kOpenAI, Trace(), options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : ReplayResult();
}

TEST(Replay, BeladyFaultsNoMoreThanAnyPolicyAtTheSameBudget) {
  const ReplayResult min = RunPolicy("belady");
  EXPECT_EQ(min.turns, 13u);
  for (const std::string& name : ReplayPolicyNames()) {
    if (name.rfind("tau", 0) == 0 || name == "default" || name == "belady") continue;
    const ReplayResult r = RunPolicy(name);
    EXPECT_LE(min.faults, r.faults) << name;
    EXPECT_GT(r.evictions, 0u) << name;
    EXPECT_LT(r.tokens_paged, r.tokens_full) << name;
  }
  EXPECT_GT(RunPolicy("fifo-age").faults, min.faults);  // Re-reads of a and b are knowable.
}

TEST(Replay, TauPolicyShrinksContextAndCountsReissuesAsFaults) {
  const ReplayResult r = RunPolicy("tau");
  EXPECT_EQ(r.turns, 13u);
  EXPECT_EQ(r.tool_results, 12u);
  EXPECT_GT(r.evictions, 0u);
  EXPECT_GE(r.faults, 1u);  // "a" is re-read after its first copy was paged out.
  EXPECT_LT(r.bytes_paged, r.bytes_full);
  EXPECT_LT(r.amplification_paged, r.amplification_full);
  EXPECT_GT(r.structural_waste, 0.0);
  EXPECT_GT(r.cache_rewrites, 0u);
  ASSERT_EQ(r.per_turn.size(), 13u);
  for (size_t k = 1; k < r.per_turn.size(); ++k) {
    EXPECT_GE(r.per_turn[k].bytes_full, r.per_turn[k - 1].bytes_full);
    EXPECT_LE(r.per_turn[k].bytes_paged, r.per_turn[k].bytes_full);
  }
}

TEST(Replay, AGenerousBudgetEvictsNothing) {
  const ReplayResult r = RunPolicy("lru", 1000000);
  EXPECT_EQ(r.evictions, 0u);
  EXPECT_EQ(r.tokens_paged, r.tokens_full);
  EXPECT_EQ(r.cache_rewrites, 0u);
}

// One read per turn following `refs` (file names "f<n>"), every result the same size; `edit_at`
// turns write the file instead.
std::string ReferenceTrace(const std::vector<int>& refs, const std::vector<bool>& edit = {}) {
  std::string body = R"({"messages":[{"role":"user","content":"go"})";
  for (size_t t = 0; t < refs.size(); ++t) {
    const std::string id = "c" + std::to_string(t), file = "f" + std::to_string(refs[t]);
    const bool write = t < edit.size() && edit[t];
    std::string content(800, 'x');
    content += " " + std::to_string(t);  // Distinct pages.
    body += R"(,{"role":"assistant","content":null,"tool_calls":[{"id":")" + id +
            R"(","type":"function","function":{"name":")" + (write ? "write" : "read") +
            R"(","arguments":"{\"path\":\")" + file + R"(\"}"}}]})";
    body += R"(,{"role":"tool","tool_call_id":")" + id + R"(","content":")" + content + R"("})";
  }
  return body + R"(,{"role":"assistant","content":"done"}]})";
}

ReplayResult RunOn(const std::string& trace, const std::string& policy, size_t pages,
                   int thrash_faults = 0) {
  ReplayOptions options;
  options.policy = policy;
  options.equal_page_tokens = 100;
  options.l1_tokens = 100 * pages;
  options.stream.min_evict_bytes = 0;
  options.stream.thrash_faults = thrash_faults;
  auto r = ReplayTrace(WireFormat::kOpenAI, trace, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : ReplayResult();
}

TEST(Replay, MinIsOptimalWithEqualPagesOnRandomReferenceStrings) {
  std::mt19937 rng(20261203);
  for (int trial = 0; trial < 150; ++trial) {
    std::vector<int> refs(8 + rng() % 30);
    const int alphabet = 2 + static_cast<int>(rng() % 7);
    for (int& r : refs) r = static_cast<int>(rng() % alphabet);
    const std::string trace = ReferenceTrace(refs);
    const size_t pages = 1 + rng() % 4;
    const uint64_t min = RunOn(trace, "belady", pages).faults;
    for (const std::string& name : ReplayPolicyNames()) {
      if (name.rfind("tau", 0) == 0 || name == "default" || name == "belady") continue;
      EXPECT_LE(min, RunOn(trace, name, pages).faults) << name << " trial " << trial;
    }
  }
}

TEST(Replay, MinCountsNextUseFromTheCurrentTurn) {
  // a is used at turn 2 and never again; b at turn 6. A MIN that kept a's stale "next use"
  // would hold a and lose b.
  const std::string trace = ReferenceTrace({0, 0, 1, 2, 3, 4, 1});
  EXPECT_EQ(RunOn(trace, "belady", 2).faults, 0u);
}

TEST(Replay, ReReadingAnEditedFileIsNotAFaultAndTheStaleReadLeavesFirst) {
  // f0 read, then written, then read again: the first read is stale, never a fault.
  const std::string trace = ReferenceTrace({0, 1, 0, 2, 3, 0}, {false, false, true});
  for (const std::string& name : {"lru", "fifo-age", "belady"}) {
    const ReplayResult r = RunOn(trace, name, 2);
    EXPECT_EQ(r.faults, 0u) << name;
    EXPECT_GT(r.superseded_evictions, 0u) << name;
  }
}

TEST(Replay, TheFaultMonitorStopsThrashing) {
  // Cycling over four files with room for one: every re-read faults without the monitor.
  std::vector<int> refs;
  for (int t = 0; t < 40; ++t) refs.push_back(t % 4);
  const std::string trace = ReferenceTrace(refs);
  const ReplayResult off = RunOn(trace, "lru", 1, 0);
  const ReplayResult on = RunOn(trace, "lru", 1, 1);
  EXPECT_GT(off.faults, 30u);
  EXPECT_LT(on.faults * 4, off.faults);
  EXPECT_GT(on.pinned_keys, 0u);
  EXPECT_GT(on.max_growth_level, 0);
}

TEST(Replay, CacheAccountingAndContentClassesAddUp) {
  const ReplayResult r = RunPolicy("lru");
  ASSERT_EQ(r.per_turn.size(), 13u);
  EXPECT_EQ(r.per_turn[0].cached_full, 0u);  // A cold cache.
  for (size_t k = 1; k < r.per_turn.size(); ++k) {
    EXPECT_EQ(r.per_turn[k].cached_full, r.per_turn[k - 1].tokens_full);
    EXPECT_LE(r.per_turn[k].cached_paged, r.per_turn[k].tokens_paged);
    EXPECT_GT(r.per_turn[k].output_tokens, 0u);
  }
  uint64_t full = 0, paged = 0;
  for (const ReplayContentClass& c : r.classes) {
    full += c.tokens_full;
    paged += c.tokens_paged;
    if (c.name != "tool results") EXPECT_EQ(c.tokens_full, c.tokens_paged) << c.name;
  }
  EXPECT_EQ(full, r.tokens_full);
  EXPECT_EQ(paged, r.tokens_paged);
  const ReplayResult none = RunPolicy("lru", 1000000);
  for (const ReplayTurn& t : none.per_turn) EXPECT_EQ(t.cached_paged, t.cached_full);
}

TEST(Replay, RejectsUnknownPoliciesAndMalformedTraces) {
  ReplayOptions options;
  options.policy = "nope";
  EXPECT_EQ(ReplayTrace(WireFormat::kOpenAI, Trace(), options).status().code(),
            StatusCode::kInvalidArgument);
  options.policy = "lru";
  EXPECT_EQ(ReplayTrace(WireFormat::kOpenAI, "{\"messages\":", options).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vmllm
