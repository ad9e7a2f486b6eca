#include "store/vector_index.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "store/disk_store.h"
#include "testing/temp_dir.h"
#include "util/checksum.h"
#include "vmllm/backend_events.h"

namespace vmllm {
namespace {

class VectorIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(DiskStore::Open(dir_.path())).value();
    embedder_ = NewHashingEmbedder(64);
  }

  std::unique_ptr<VectorIndex> OpenIndex() {
    return std::move(VectorIndex::Open(dir_.path(), store_->store_id(), embedder_.get())).value();
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

  // The one snapshot in `vectors/`.
  std::filesystem::path OnlySnapshot() {
    std::vector<std::filesystem::path> found;
    for (const auto& e : std::filesystem::directory_iterator(dir_.Sub("vectors"))) {
      found.push_back(e.path());
    }
    EXPECT_EQ(found.size(), 1u);
    return found.empty() ? std::filesystem::path() : found[0];
  }

  // Writes `value` at `offset` of the snapshot; with `rename`, the file is renamed to carry its
  // new checksum, as a crafted file would be.
  void Overwrite(uint64_t offset, uint32_t value, bool rename) {
    std::filesystem::path path = OnlySnapshot();
    {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(offset));
      f.write(reinterpret_cast<const char*>(&value), sizeof value);
    }
    if (!rename) return;
    std::string name = path.filename().string();
    char sum[32];
    std::snprintf(sum, sizeof sum, "%016" PRIx64, *ChecksumFile(path.string()));
    name.replace(name.size() - 5 - 16, 16, sum);
    std::filesystem::rename(path, path.parent_path() / name);
  }

  // Exactly one backend warning was posted since the last take, and it names `what`.
  void ExpectOneWarningNaming(const std::string& what) {
    auto warnings = TakeBackendWarnings();
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find(what), std::string::npos) << warnings[0];
  }

  // `n` one-page documents in one transaction.
  void AddMany(int n) {
    ASSERT_TRUE(store_->Begin().ok());
    for (int i = 0; i < n; ++i) {
      PageRecord r;
      r.page_id = "d" + std::to_string(i);
      r.doc_id = r.page_id;
      ASSERT_TRUE(store_->InsertPage(r, "document number " + std::to_string(i)).ok());
    }
    ASSERT_TRUE(store_->Commit().ok());
  }

  void SaveThreePages() {
    Add("a", "alpha centauri star system");
    Add("b", "beta distribution in statistics");
    Add("c", "gamma rays from distant galaxies");
    auto index = OpenIndex();
    ASSERT_TRUE(index->CatchUp(store_.get()).ok());
    ASSERT_TRUE(index->Save().ok());
  }

  // hnswlib's header is 96 bytes; element 0's level-0 list starts there: a 4-byte count, then
  // neighbour ids.
  static constexpr uint64_t kFirstNeighbourOffset = 96 + 4;

  TempDir dir_;
  std::unique_ptr<DiskStore> store_;
  std::unique_ptr<Embedder> embedder_;
};

TEST_F(VectorIndexTest, CatchesUpWithStoredPagesAndFindsTheClosest) {
  auto index = OpenIndex();
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
    auto index = OpenIndex();
    ASSERT_TRUE(index->CatchUp(store_.get()).ok());
    ASSERT_TRUE(index->Save().ok());
  }
  PageKey b = Add("b", "beta distribution in statistics");
  auto index = OpenIndex();
  EXPECT_EQ(index->watermark(), a);  // From the snapshot.
  ASSERT_TRUE(index->CatchUp(store_.get()).ok());
  EXPECT_EQ(index->watermark(), b);
  EXPECT_EQ((*index->Search("beta distribution statistics", 1))[0].first, b);
}

TEST_F(VectorIndexTest, ACorruptSnapshotIsDroppedAndRebuilt) {
  PageKey a = Add("a", "alpha centauri star system");
  {
    auto index = OpenIndex();
    ASSERT_TRUE(index->CatchUp(store_.get()).ok());
    ASSERT_TRUE(index->Save().ok());
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir_.Sub("vectors"))) {
    std::filesystem::resize_file(entry.path(), 10);  // Truncate: a torn write.
  }
  auto index = VectorIndex::Open(dir_.path(), store_->store_id(), embedder_.get());
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ((*index)->watermark(), 0);
  ASSERT_TRUE((*index)->CatchUp(store_.get()).ok());
  EXPECT_EQ((*(*index)->Search("alpha centauri", 1))[0].first, a);
}

TEST_F(VectorIndexTest, ForgottenKeysLeaveTheResults) {
  auto index = OpenIndex();
  PageKey a = Add("a", "alpha centauri star system");
  Add("b", "alpha particles in physics");
  ASSERT_TRUE(index->CatchUp(store_.get()).ok());
  index->Forget(a);
  auto hits = index->Search("alpha centauri", 5);  // Keep the Result alive while iterating.
  ASSERT_TRUE(hits.ok());
  for (const auto& hit : *hits) EXPECT_NE(hit.first, a);
}

TEST_F(VectorIndexTest, GrowsPastItsInitialCapacity) {
  auto index = OpenIndex();
  AddMany(1500);
  ASSERT_TRUE(index->CatchUp(store_.get()).ok());
  EXPECT_EQ(index->size(), 1500u);
}

TEST_F(VectorIndexTest, ADamagedSnapshotFailsItsChecksumAndIsRebuiltWithAWarning) {
  SaveThreePages();
  TakeBackendWarnings();
  Overwrite(kFirstNeighbourOffset, 0x7fffffff, /*rename=*/false);
  auto index = OpenIndex();
  EXPECT_EQ(index->watermark(), 0);
  ExpectOneWarningNaming("checksum");
  ASSERT_TRUE(index->CatchUp(store_.get()).ok());
  EXPECT_EQ(index->size(), 3u);
  EXPECT_TRUE(index->Search("gamma rays", 3).ok());
}

TEST_F(VectorIndexTest, ACraftedSnapshotWithALinkOutOfTheGraphIsNeverSearched) {
  SaveThreePages();
  TakeBackendWarnings();
  Overwrite(kFirstNeighbourOffset, 0x7fffffff, /*rename=*/true);  // Checksum matches.
  auto index = OpenIndex();
  EXPECT_EQ(index->watermark(), 0);
  ExpectOneWarningNaming("link out of the graph");
  ASSERT_TRUE(index->CatchUp(store_.get()).ok());
  EXPECT_EQ(index->size(), 3u);
}

TEST_F(VectorIndexTest, ACraftedHeaderIsRefusedBeforeHnswlibReadsIt) {
  SaveThreePages();
  TakeBackendWarnings();
  Overwrite(8, 1, /*rename=*/true);  // max_elements below the element count.
  auto index = OpenIndex();
  EXPECT_EQ(index->watermark(), 0);
  ExpectOneWarningNaming("header");
}

TEST_F(VectorIndexTest, ASnapshotOfAStoreThatWasReplacedIsNeverUsed) {
  SaveThreePages();
  store_.reset();
  std::filesystem::remove(dir_.path() + "/store.db");  // A new store.db restarts page keys.
  store_ = std::move(DiskStore::Open(dir_.path())).value();
  PageKey giraffe = Add("g", "the giraffe is the tallest living animal");
  auto index = OpenIndex();
  EXPECT_EQ(index->watermark(), 0);
  ASSERT_TRUE(index->CatchUp(store_.get()).ok());
  EXPECT_EQ(index->size(), 1u);
  EXPECT_EQ((*index->Search("giraffe", 1))[0].first, giraffe);
  ASSERT_TRUE(index->Save().ok());
  OnlySnapshot();  // The old store's snapshot is gone.
}

TEST_F(VectorIndexTest, TemporaryFilesOfADeadWriterAreRemovedOnOpen) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // A pid that no process has any more.
  std::filesystem::create_directories(dir_.Sub("vectors"));
  const std::string dead = dir_.Sub("vectors") + "/tmp-" + std::to_string(child) + "-0.part";
  const std::string mine = dir_.Sub("vectors") + "/tmp-" + std::to_string(::getpid()) + "-9.part";
  std::ofstream(dead) << "partial";
  std::ofstream(mine) << "being written";
  auto index = OpenIndex();
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_TRUE(std::filesystem::exists(mine));
}

TEST_F(VectorIndexTest, ALoadedSnapshotGrowsPastItsSize) {
  SaveThreePages();
  auto index = OpenIndex();
  EXPECT_EQ(index->size(), 3u);
  AddMany(1500);
  ASSERT_TRUE(index->CatchUp(store_.get()).ok());
  EXPECT_EQ(index->size(), 1503u);
}

TEST_F(VectorIndexTest, AnEmptyGraphWithAnEntryPointIsRefused) {
  SaveThreePages();
  TakeBackendWarnings();
  Overwrite(16, 0, /*rename=*/true);  // No elements, yet levels and an entry point remain.
  auto index = OpenIndex();
  EXPECT_EQ(index->watermark(), 0);
  ExpectOneWarningNaming("header");
}

TEST_F(VectorIndexTest, ASnapshotThatIsNotARegularFileIsNeverRead) {
  SaveThreePages();
  std::filesystem::path snapshot = OnlySnapshot();
  std::filesystem::remove(snapshot);
  std::filesystem::create_symlink("/dev/zero", snapshot);  // Reading it would never end.
  auto index = OpenIndex();
  EXPECT_EQ(index->watermark(), 0);
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(snapshot)));
}

TEST_F(VectorIndexTest, RetainDropsTheKeysThatAreNoLongerLive) {
  PageKey a = Add("a", "alpha centauri star system");
  PageKey b = Add("b", "alpha particles in physics");
  auto index = OpenIndex();
  ASSERT_TRUE(index->CatchUp(store_.get()).ok());
  index->Retain([&](PageKey key) { return key != a; });
  EXPECT_EQ(index->size(), 1u);
  auto hits = index->Search("alpha centauri", 5);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].first, b);
}

}  // namespace
}  // namespace vmllm
