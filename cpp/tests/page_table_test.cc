#include "store/page_table.h"

#include <gtest/gtest.h>

namespace vmllm {
namespace {

PageRecord Record(PageKey key, const std::string& id, uint32_t tokens = 10,
                  TierId tier = TierId::kL4) {
  PageRecord r;
  r.key = key;
  r.page_id = id;
  r.doc_id = "doc";
  r.tokens = tokens;
  r.bytes = tokens * 4;
  r.durable_tier = tier;
  return r;
}

TEST(PageTable, FindsEntriesByIdAndByKey) {
  PageTable table;
  table.Insert(Record(7, "doc::chunk_0000"));
  ASSERT_NE(table.Find("doc::chunk_0000"), nullptr);
  EXPECT_EQ(table.Find("doc::chunk_0000")->key, 7);
  EXPECT_EQ(table.FindKey(7)->page_id, "doc::chunk_0000");
  EXPECT_EQ(table.Find("doc::chunk_0001"), nullptr);
  EXPECT_EQ(table.FindKey(8), nullptr);
}

TEST(PageTable, KeepsPerTierTotalsCurrentAcrossMoves) {
  PageTable table;
  PageInfo* a = table.Insert(Record(1, "a", 10));
  table.Insert(Record(2, "b", 20, TierId::kL3));
  EXPECT_EQ(table.totals(TierId::kL4).pages, 1u);
  EXPECT_EQ(table.totals(TierId::kL3).tokens, 20u);
  table.SetTier(a, TierId::kL1);
  EXPECT_EQ(table.totals(TierId::kL4).pages, 0u);
  EXPECT_EQ(table.totals(TierId::kL1).tokens, 10u);
  EXPECT_EQ(table.totals(TierId::kL1).bytes, 40u);
  table.Remove(1);
  EXPECT_EQ(table.totals(TierId::kL1).pages, 0u);
  EXPECT_EQ(table.size(), 1u);
}

// The table never drops an entry behind its owner's back (that left L1 holding a removed key):
// a re-ingested page's old entry is removed by the pager, then the new one inserted.
TEST(PageTable, AReplacedPageIsRemovedThenInsertedUnderItsNewKey) {
  PageTable table;
  table.Insert(Record(1, "doc::chunk_0000"));
  table.Remove(table.Find("doc::chunk_0000")->key);
  table.Insert(Record(9, "doc::chunk_0000"));  // The document was re-ingested.
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.Find("doc::chunk_0000")->key, 9);
  EXPECT_EQ(table.FindKey(1), nullptr);
  EXPECT_EQ(table.totals(TierId::kL4).pages, 1u);
}

TEST(PageTable, TouchesAreCollectedForWriteBehindOnce) {
  PageTable table;
  PageInfo* a = table.Insert(Record(1, "a"));
  table.Insert(Record(2, "b"));
  table.Touch(a, 100.0);
  table.Touch(a, 101.0);
  EXPECT_EQ(table.dirty_count(), 1u);
  auto updates = table.TakeDirty();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].key, 1);
  EXPECT_EQ(updates[0].access_count, 2u);
  EXPECT_EQ(updates[0].last_accessed, 101.0);
  EXPECT_EQ(table.dirty_count(), 0u);
}

TEST(PageTable, ListsKeysInAscendingOrder) {
  PageTable table;
  for (PageKey k : {5, 1, 3}) table.Insert(Record(k, "p" + std::to_string(k)));
  EXPECT_EQ(table.Keys(), (std::vector<PageKey>{1, 3, 5}));
}

}  // namespace
}  // namespace vmllm
