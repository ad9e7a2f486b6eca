// Questions are not documents: question words leave keyword queries, and a word that names a
// document finds that document's pages (text/query_words.h, engine/named_pages.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/named_pages.h"
#include "store/page_table.h"
#include "store/sqlite_common.h"
#include "text/query_words.h"
#include "testing/temp_dir.h"
#include "vmllm/pager.h"

namespace vmllm {
namespace {

TEST(QueryWords, QuestionWordsLeaveAndContentWordsStayInOrder) {
  EXPECT_TRUE(IsQuestionWord("When"));
  EXPECT_TRUE(IsQuestionWord("did"));
  EXPECT_FALSE(IsQuestionWord("Caroline"));
  EXPECT_FALSE(IsQuestionWord("not"));  // A negation changes what is asked.
  EXPECT_EQ(ContentWords({"When", "did", "Caroline", "go", "to", "the", "parade"}),
            (std::vector<std::string>{"Caroline", "go", "parade"}));
  // Nothing but question words: searched as they are, not as nothing.
  EXPECT_EQ(ContentWords({"what", "is", "it"}),
            (std::vector<std::string>{"what", "is", "it"}));
}

TEST(QueryWords, KeywordQueriesQuoteOnlyTheContentWords) {
  EXPECT_EQ(Fts5AnyWordQuery("What did Melanie paint?"),
            "\"Melanie\" OR \"paint\" OR \"Melanie paint\"");
  // An identifier's parts also match as a phrase, side by side as they stand in the code.
  EXPECT_EQ(Fts5AnyWordQuery("get_close_matches"),
            "\"get\" OR \"close\" OR \"matches\" OR \"get close matches\"");
  EXPECT_EQ(Fts5AnyWordQuery("what is it"), "\"what\" OR \"is\" OR \"it\"");
  EXPECT_EQ(Fts5AnyWordQuery("  ?! "), "");
}

TEST(DocName, IsTheLastPathComponentWithoutExtensionInLowerCase) {
  EXPECT_EQ(PageTable::DocName("lib/ArgParse.py"), "argparse");
  EXPECT_EQ(PageTable::DocName("argparse"), "argparse");
  EXPECT_EQ(PageTable::DocName("C:\\docs\\notes.md"), "notes");
  EXPECT_EQ(PageTable::DocName(".bashrc"), ".bashrc");
  EXPECT_EQ(PageTable::DocName(""), "");
}

PageRecord Record(PageKey key, const std::string& doc, uint32_t chunk) {
  PageRecord r;
  r.key = key;
  r.doc_id = doc;
  r.chunk_index = chunk;
  r.page_id = MakePageId(doc, chunk);
  r.space = "doc";
  return r;
}

TEST(NamedPages, ListsTheNamedDocumentsPagesKeywordOrderFirst) {
  PageTable table;
  table.Insert(Record(1, "lib/argparse.py", 0));
  table.Insert(Record(2, "lib/argparse.py", 1));
  table.Insert(Record(3, "lib/argparse.py", 2));
  table.Insert(Record(4, "optparse.py", 0));
  // Page 3 matched the other words best; then the file's first pages.
  EXPECT_EQ(NamedPages(table, "what does `argparse.py` do with add_argument?", {4, 3}, 10),
            (std::vector<PageKey>{3, 1, 2}));
  EXPECT_EQ(NamedPages(table, "ARGPARSE", {}, 2), (std::vector<PageKey>{1, 2}));
  EXPECT_TRUE(NamedPages(table, "parse the arguments", {1}, 10).empty());
  table.Remove(1);
  table.Remove(2);
  table.Remove(3);
  EXPECT_TRUE(NamedPages(table, "argparse", {}, 10).empty());
  EXPECT_TRUE(table.KeysNamed("argparse").empty());
}

TEST(NamedPages, ANameFindsItsFileAheadOfFilesThatMentionIt) {
  TempDir dir;
  PagerOptions o;
  o.path = dir.path();
  o.l1_tokens = 2000;
  o.page_tokens = 200;
  auto pager = std::move(Pager::Open(std::move(o))).value();
  // Other files say "argparse" more often than argparse.py says its own name.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pager->Ingest("tool" + std::to_string(i) + ".py",
                              "import argparse\nparser = argparse.ArgumentParser()\n"
                              "argparse argparse argparse\n").ok());
  }
  auto ids = *pager->Ingest("argparse.py",
                            "\"\"\"argparse: command-line parsing.\"\"\"\nclass ArgumentParser:\n");
  auto hits = *pager->Search("argparse", 3, SearchMode::kHybrid);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].page_id, ids[0]);
}

}  // namespace
}  // namespace vmllm
