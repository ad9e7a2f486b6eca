#include "store/vector_index.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/disk_store.h"
#include "testing/temp_dir.h"

namespace vmllm {
namespace {

class VectorIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(DiskStore::Open(dir_.path())).value();
    embedder_ = NewHashingEmbedder(64);
  }

  PageKey Add(const std::string& doc, const std::string& text) {
    PageRecord r;
    r.page_id = doc + "::chunk_0000";
    r.doc_id = doc;
    EXPECT_TRUE(store_->Begin().ok());
    PageKey key = *store_->InsertPage(r, text);
    EXPECT_TRUE(store_->Commit().ok());
    return key;
  }

  TempDir dir_;
  std::unique_ptr<DiskStore> store_;
  std::unique_ptr<Embedder> embedder_;
};

TEST_F(VectorIndexTest, CatchesUpWithStoredPagesAndFindsTheClosest) {
  auto index = std::move(VectorIndex::Open(dir_.path(), embedder_.get())).value();
  Add("a", "the circuit breaker opens after repeated failures");
  PageKey b = Add("b", "kubernetes operators reconcile custom resources");
  Add("c", "sourdough bread needs a long cold fermentation");
  ASSERT_TRUE(index->CatchUp(store_.get()).ok());
  EXPECT_EQ(index->size(), 3u);
  auto hits = *index->Search("reconcile kubernetes resources", 2);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].first, b);
  EXPECT_GE(hits[0].second, hits[1].second);
}

TEST_F(VectorIndexTest, ASnapshotReloadsAndCatchesUpWithPagesWrittenAfterIt) {
  PageKey a = Add("a", "alpha centauri star system");
  {
    auto index = std::move(VectorIndex::Open(dir_.path(), embedder_.get())).value();
    ASSERT_TRUE(index->CatchUp(store_.get()).ok());
    ASSERT_TRUE(index->Save().ok());
  }
  PageKey b = Add("b", "beta distribution in statistics");
  auto index = std::move(VectorIndex::Open(dir_.path(), embedder_.get())).value();
  EXPECT_EQ(index->watermark(), a);  // From the snapshot.
  ASSERT_TRUE(index->CatchUp(store_.get()).ok());
  EXPECT_EQ(index->watermark(), b);
  EXPECT_EQ((*index->Search("beta distribution statistics", 1))[0].first, b);
}

TEST_F(VectorIndexTest, ACorruptSnapshotIsDroppedAndRebuilt) {
  PageKey a = Add("a", "alpha centauri star system");
  {
    auto index = std::move(VectorIndex::Open(dir_.path(), embedder_.get())).value();
    ASSERT_TRUE(index->CatchUp(store_.get()).ok());
    ASSERT_TRUE(index->Save().ok());
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir_.Sub("vectors"))) {
    std::filesystem::resize_file(entry.path(), 10);  // Truncate: a torn write.
  }
  auto index = VectorIndex::Open(dir_.path(), embedder_.get());
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ((*index)->watermark(), 0);
  ASSERT_TRUE((*index)->CatchUp(store_.get()).ok());
  EXPECT_EQ((*(*index)->Search("alpha centauri", 1))[0].first, a);
}

TEST_F(VectorIndexTest, ForgottenKeysLeaveTheResults) {
  auto index = std::move(VectorIndex::Open(dir_.path(), embedder_.get())).value();
  PageKey a = Add("a", "alpha centauri star system");
  Add("b", "alpha particles in physics");
  ASSERT_TRUE(index->CatchUp(store_.get()).ok());
  index->Forget(a);
  auto hits = index->Search("alpha centauri", 5);  // Keep the Result alive while iterating.
  ASSERT_TRUE(hits.ok());
  for (const auto& hit : *hits) EXPECT_NE(hit.first, a);
}

TEST_F(VectorIndexTest, GrowsPastItsInitialCapacity) {
  auto index = std::move(VectorIndex::Open(dir_.path(), embedder_.get())).value();
  ASSERT_TRUE(store_->Begin().ok());
  for (int i = 0; i < 1500; ++i) {
    PageRecord r;
    r.page_id = "d" + std::to_string(i);
    r.doc_id = r.page_id;
    ASSERT_TRUE(store_->InsertPage(r, "document number " + std::to_string(i)).ok());
  }
  ASSERT_TRUE(store_->Commit().ok());
  ASSERT_TRUE(index->CatchUp(store_.get()).ok());
  EXPECT_EQ(index->size(), 1500u);
}

}  // namespace
}  // namespace vmllm
