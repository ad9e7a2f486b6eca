// The cache gate: evict only the suffix of candidates worth its prompt-cache rewrite.
#include "stream/cache_gate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vmllm {
namespace {

// Messages of the given sizes in bytes, one wire message each.
Conversation Sized(const std::vector<size_t>& sizes) {
  Conversation c;
  for (size_t i = 0; i < sizes.size(); ++i) {
    Msg m;
    m.kind = Msg::kToolResult;
    m.text = std::string(sizes[i], 'x');
    m.wire_message = i;
    c.msgs.push_back(m);
  }
  return c;
}

StreamConfig Anthropic() {
  StreamConfig c;
  c.cache_write_price = 3.75;
  c.cache_read_price = 0.30;
  return c;
}

TEST(CacheGate, EvictsAYoungLargeResultButHoldsBackAnOldOneDeepInThePrefix) {
  // An old 4 kB result under 200 kB of later messages; a young 40 kB result near the end.
  std::vector<size_t> sizes(50, 4000);
  sizes[2] = 4000;
  sizes[47] = 40000;
  const Conversation conv = Sized(sizes);
  const std::vector<GateCandidate> candidates{{2, 3800}, {47, 39800}};
  EXPECT_EQ(FirstWorthEvicting(conv, candidates, Anthropic(), 20, SIZE_MAX), 1u);
}

TEST(CacheGate, HoldsEverythingBackWhenTheSessionIsYoung) {
  const Conversation conv = Sized({4000, 4000, 4000, 4000});
  const std::vector<GateCandidate> candidates{{1, 3000}};
  EXPECT_EQ(FirstWorthEvicting(conv, candidates, Anthropic(), 1, SIZE_MAX), 1u);  // None.
}

TEST(CacheGate, ResultsAfterAPrefixChangeCostNoRewrite) {
  std::vector<size_t> sizes(50, 4000);
  const Conversation conv = Sized(sizes);
  const std::vector<GateCandidate> candidates{{10, 1000}};
  EXPECT_EQ(FirstWorthEvicting(conv, candidates, Anthropic(), 3, SIZE_MAX), 1u);
  EXPECT_EQ(FirstWorthEvicting(conv, candidates, Anthropic(), 3, 5), 0u);  // Re-written from 5.
}

}  // namespace
}  // namespace vmllm
