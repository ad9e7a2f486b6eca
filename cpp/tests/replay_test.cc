// Trace replay on a synthetic agent session whose re-reads are known in advance.
#include "vmllm/replay.h"

#include <gtest/gtest.h>

#include <string>

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
    if (name.rfind("tau", 0) == 0 || name == "belady") continue;  // No budget, or the floor.
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
