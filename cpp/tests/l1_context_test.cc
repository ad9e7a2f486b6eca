#include "store/l1_context.h"

#include <gtest/gtest.h>

namespace vmllm {
namespace {

TEST(L1Context, CountsTokensOfEachViewAndKeepsArrivalOrder) {
  auto tokenizer = NewApproxTokenizer();
  L1Context l1(100, tokenizer.get());
  ASSERT_TRUE(l1.Put(2, "hello world").ok());
  l1.PutView(1, "summary", 7, /*is_summary=*/true);
  EXPECT_EQ(l1.Order(), (std::vector<PageKey>{2, 1}));
  EXPECT_EQ(l1.used_tokens(), tokenizer->Count("hello world") + 7);
  EXPECT_TRUE(l1.Find(1)->is_summary);
  EXPECT_EQ(*l1.Get(2), "hello world");
  EXPECT_EQ(l1.Usage().pages, 2u);
}

TEST(L1Context, ReplacingAViewMovesItToTheEndAndFixesTheTotals) {
  auto tokenizer = NewApproxTokenizer();
  L1Context l1(100, tokenizer.get());
  l1.PutView(1, "short", 5, true);
  l1.PutView(2, "other", 5, false);
  l1.PutView(1, "the whole page", 40, false);
  EXPECT_EQ(l1.Order(), (std::vector<PageKey>{2, 1}));
  EXPECT_EQ(l1.used_tokens(), 45u);
  EXPECT_EQ(l1.free_tokens(), 55u);
  ASSERT_TRUE(l1.Erase(1).ok());
  ASSERT_TRUE(l1.Erase(1).ok());
  EXPECT_EQ(l1.used_tokens(), 5u);
  EXPECT_EQ(l1.Get(1).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace vmllm
