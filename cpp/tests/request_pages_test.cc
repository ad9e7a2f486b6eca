// Pager::RequestPages: a batch page-in that reads L2 once for all the pages it faults in.
#include <gtest/gtest.h>

#include "testing/temp_dir.h"
#include "vmllm/pager.h"

namespace vmllm {
namespace {

// Counts single and batched reads; the pager owns it, the test keeps a pointer.
class CountingTier : public TierWrapper {
 public:
  using TierWrapper::TierWrapper;
  Result<std::string> Get(PageKey key) override {
    ++gets;
    return TierWrapper::Get(key);
  }
  std::vector<Result<std::string>> GetMany(const std::vector<PageKey>& keys) override {
    ++batches;
    batch_keys += keys.size();
    return target()->GetMany(keys);
  }
  int gets = 0;
  int batches = 0;
  size_t batch_keys = 0;
};

std::string Document(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    text += "Section " + std::to_string(i) + " explains how the gateway retries request " +
            std::to_string(i) + " with backoff before the circuit breaker opens.\n\n";
  }
  return text;
}

std::unique_ptr<Pager> Open(const std::string& path, size_t l1, CountingTier** l2) {
  PagerOptions o;
  o.path = path;
  o.l1_tokens = l1;
  o.page_tokens = 40;
  auto tier = std::make_unique<CountingTier>(NewMemoryTier({}, SystemClock()));
  *l2 = tier.get();
  o.l2_tier = std::move(tier);
  auto pager = Pager::Open(std::move(o));
  EXPECT_TRUE(pager.ok()) << pager.status().ToString();
  return std::move(pager).value();
}

TEST(RequestPages, ReadsL2OnceForAllThePagesItFaultsIn) {
  TempDir dir;
  CountingTier* l2 = nullptr;
  auto pager = Open(dir.path(), 4000, &l2);
  auto ids = pager->Ingest("doc", Document(16));
  ASSERT_TRUE(ids.ok());
  ASSERT_GE(ids->size(), 5u);
  std::vector<std::string> wanted(ids->begin(), ids->begin() + 5);
  for (const auto& id : wanted) ASSERT_TRUE(pager->RequestPage(id, true).ok());
  for (const auto& id : wanted) ASSERT_TRUE(*pager->ReleasePage(id, false));
  l2->gets = 0;
  uint64_t hits_before = pager->Stats().tiers[1].hits;

  auto texts = pager->RequestPages(wanted, true);
  ASSERT_TRUE(texts.ok()) << texts.status().ToString();
  ASSERT_EQ(texts->size(), wanted.size());
  for (size_t i = 0; i < wanted.size(); ++i) EXPECT_EQ((*texts)[i], *pager->ReadPage(wanted[i]));
  EXPECT_EQ(l2->batches, 1);
  EXPECT_EQ(l2->batch_keys, wanted.size());
  EXPECT_EQ(l2->gets, 0);
  EXPECT_EQ(pager->Stats().tiers[1].hits, hits_before + wanted.size());
  EXPECT_EQ(pager->ActivePages(), wanted);

  // Already resident: nothing to fetch.
  ASSERT_TRUE(pager->RequestPages(wanted, true).ok());
  EXPECT_EQ(l2->batches, 1);
}

TEST(RequestPages, NeverEvictsItsOwnPagesAndFailsWhenTheyDoNotFit) {
  TempDir dir;
  CountingTier* l2 = nullptr;
  auto pager = Open(dir.path(), 100, &l2);
  auto ids = pager->Ingest("doc", Document(8));
  ASSERT_TRUE(ids.ok());
  auto result = pager->RequestPages(*ids, true);
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
  auto active = pager->ActivePages();
  ASSERT_FALSE(active.empty());
  EXPECT_EQ(active[0], (*ids)[0]);  // The first pages stayed; none of this call's were evicted.
  EXPECT_EQ(pager->Stats().evictions, 0u);
  EXPECT_EQ(pager->RequestPages({"doc::chunk_0000", "missing"}, true).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace vmllm
