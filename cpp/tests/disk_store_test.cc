#include "store/disk_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "testing/temp_dir.h"

namespace vmllm {
namespace {

PageRecord Record(const std::string& doc, uint32_t index) {
  PageRecord r;
  r.page_id = doc + "::chunk_" + std::to_string(index);
  r.doc_id = doc;
  r.chunk_index = index;
  r.tokens = 3;
  r.bytes = 10;
  r.created = r.last_accessed = 1.0;
  return r;
}

std::unique_ptr<DiskStore> OpenStore(const std::string& dir) {
  auto store = DiskStore::Open(dir);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return std::move(store).value();
}

TEST(DiskStore, CommittedPagesSurviveReopenWithTheirMetadata) {
  TempDir dir;
  PageKey key;
  {
    auto store = OpenStore(dir.path());
    ASSERT_TRUE(store->Begin().ok());
    key = *store->InsertPage(Record("doc", 0), "hello durable world");
    ASSERT_TRUE(store->Commit().ok());
    ASSERT_TRUE(store->WriteStats({{key, 5.0, 3, 1, true}}).ok());
    ASSERT_TRUE(store->SetSummary(key, "hello").ok());
  }
  auto store = OpenStore(dir.path());
  EXPECT_EQ(*store->ReadText(key), "hello durable world");
  auto record = *store->FindPage("doc::chunk_0");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->access_count, 3u);
  EXPECT_EQ(record->fault_count, 1u);
  EXPECT_EQ(record->last_accessed, 5.0);
  EXPECT_EQ(record->summary.value_or(""), "hello");
}

TEST(DiskStore, RolledBackPagesAreGone) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(store->Begin().ok());
  PageKey key = *store->InsertPage(Record("doc", 0), "never committed");
  store->Rollback();
  EXPECT_EQ(store->ReadText(key).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store->KeywordSearch("committed", 5, "")->empty());
}

TEST(DiskStore, DeleteDocumentRemovesPagesSwapCopiesAndIndexRows) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(store->Begin().ok());
  PageKey a = *store->InsertPage(Record("doc", 0), "alpha quokka");
  PageKey b = *store->InsertPage(Record("other", 0), "beta quokka");
  ASSERT_TRUE(store->Commit().ok());
  ASSERT_TRUE(store->SwapPut(a, "alpha quokka").ok());
  ASSERT_TRUE(store->Begin().ok());
  auto removed = store->DeleteDocument("doc", "doc");
  ASSERT_TRUE(store->Commit().ok());
  EXPECT_EQ(*removed, (std::vector<PageKey>{a}));
  EXPECT_FALSE(*store->SwapContains(a));
  auto hits = *store->KeywordSearch("quokka", 5, "");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].first, b);
}

TEST(DiskStore, SwapCopiesMoveTheDurableTier) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(store->Begin().ok());
  PageKey key = *store->InsertPage(Record("doc", 0), "text");
  ASSERT_TRUE(store->Commit().ok());
  ASSERT_TRUE(store->SwapPut(key, "text").ok());
  EXPECT_EQ((*store->FindPage("doc::chunk_0"))->durable_tier, TierId::kL3);
  EXPECT_EQ(*store->SwapGet(key), "text");
  EXPECT_EQ(store->SwapUsage()->pages, 1u);
  ASSERT_TRUE(store->SwapErase(key).ok());
  EXPECT_EQ((*store->FindPage("doc::chunk_0"))->durable_tier, TierId::kL4);
  EXPECT_EQ(store->SwapGet(key).status().code(), StatusCode::kNotFound);
}

TEST(DiskStore, KeywordSearchNeverInterpretsQuerySyntax) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(store->Begin().ok());
  PageKey key = *store->InsertPage(Record("doc", 0), "NEAR the column AND row OR star");
  ASSERT_TRUE(store->Commit().ok());
  for (const char* hostile : {"\"unbalanced", "NEAR(", "col:umn", "*", "a AND OR NOT", "^x"}) {
    auto hits = store->KeywordSearch(hostile, 5, "");
    ASSERT_TRUE(hits.ok()) << hostile << ": " << hits.status().ToString();
  }
  auto hits = *store->KeywordSearch("column AND", 5, "");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].first, key);
  EXPECT_GT(hits[0].second, 0.0);  // Higher is better.
}

TEST(DiskStore, KeysAreNeverReused) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(store->Begin().ok());
  PageKey first = *store->InsertPage(Record("doc", 0), "one");
  ASSERT_TRUE(store->DeleteDocument("doc", "doc").ok());
  PageKey second = *store->InsertPage(Record("doc", 0), "two");
  ASSERT_TRUE(store->Commit().ok());
  EXPECT_GT(second, first);
  EXPECT_EQ(*store->MaxKey(), second);
}

TEST(DiskStore, AFileThatIsNotAStoreIsAStorageError) {
  TempDir dir;
  FILE* f = std::fopen(dir.Sub("store.db").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("this is not a database, just some text that is long enough to matter.\n", f);
  std::fclose(f);
  auto store = DiskStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kStorageError);
}

TEST(DiskStore, AWriteToAStoreDeletedWhileOpenFailsAtTheCallAndIsRolledBack) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::filesystem::remove_all(dir.path());
  ASSERT_FALSE(store->Begin().ok());
  std::filesystem::create_directories(dir.path());
  auto other = OpenStore(dir.path());  // A new store at the same path.
  ASSERT_NE(other->store_id(), store->store_id());
  Status begin = store->Begin();
  EXPECT_EQ(begin.code(), StatusCode::kStorageError);
  EXPECT_NE(begin.message().find("deleted or replaced"), std::string::npos);
}

TEST(DiskStore, ACommitAfterTheFileWasReplacedFailsAndLeavesNoOpenTransaction) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(store->Begin().ok());
  ASSERT_TRUE(store->InsertPage(Record("doc", 0), "text").ok());
  std::filesystem::rename(dir.Sub("store.db"), dir.Sub("moved.db"));
  EXPECT_EQ(store->Commit().code(), StatusCode::kStorageError);
  std::filesystem::rename(dir.Sub("moved.db"), dir.Sub("store.db"));
  ASSERT_TRUE(store->Begin().ok());  // No transaction was left open.
  ASSERT_TRUE(store->Commit().ok());
  EXPECT_FALSE(store->FindPage("doc::chunk_0").value().has_value());
}

TEST(DiskStore, TheStoreIdIsKeptAcrossReopensAndMissingParentsAreCreated) {
  TempDir dir;
  std::string id;
  {
    id = OpenStore(dir.Sub("a/b/c"))->store_id();
  }
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(OpenStore(dir.Sub("a/b/c"))->store_id(), id);
}

}  // namespace
}  // namespace vmllm
