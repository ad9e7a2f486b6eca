// Spaces: one store and one pager for documents and every front end's pages, each space with
// its own L1, search, stats and record.
#include <gtest/gtest.h>

#include "testing/temp_dir.h"
#include "vmllm/pager.h"

namespace vmllm {
namespace {

std::unique_ptr<Pager> Open(const std::string& path, size_t l1 = 400) {
  PagerOptions o;
  o.path = path;
  o.l1_tokens = l1;
  o.page_tokens = 100;
  auto pager = Pager::Open(std::move(o));
  EXPECT_TRUE(pager.ok()) << pager.status().message();
  return std::move(pager).value();
}

std::string Words(const std::string& topic, int n) {
  std::string text;
  for (int i = 0; i < n; ++i) text += topic + " detail " + std::to_string(i) + ". ";
  return text;
}

TEST(Spaces, PutPagesIsIdempotentAndReplacesChangedText) {
  TempDir dir;
  auto pager = Open(dir.path());
  std::vector<PageWrite> pages = {{"stream:a/p-1", "the quokka result"},
                                  {"stream:a/p-2", "the wombat result"}};
  EXPECT_EQ(*pager->PutPages("stream:a", pages), 2u);
  EXPECT_EQ(*pager->PutPages("stream:a", pages), 0u);  // Same text: nothing to write.
  EXPECT_EQ(*pager->PutPages("stream:a", {{"stream:a/p-2", "the numbat result"}}), 1u);
  EXPECT_EQ(*pager->ReadPage("stream:a/p-2"), "the numbat result");
  EXPECT_EQ(pager->PageIds("stream:a"), (std::vector<std::string>{"stream:a/p-1", "stream:a/p-2"}));
  EXPECT_TRUE(pager->PageIds().empty());  // The document space has none of them.
  EXPECT_EQ(pager->PageCount("stream:a"), 2u);
}

TEST(Spaces, PutPagesRefusesIdsOutsideTheSpaceAndBadNames) {
  TempDir dir;
  auto pager = Open(dir.path());
  for (const auto& [space, id] : std::vector<std::pair<std::string, std::string>>{
           {"stream:a", "stream:b/p-1"},  // Another space's id.
           {"stream:a", "stream:a/"},     // No name after the prefix.
           {"stream:a", "p-1"},
           {"doc", "doc/p-1"},  // Documents go through Ingest.
           {"", "/p-1"},
           {"a/b", "a/b/p-1"},
           {std::string("bad\nname"), std::string("bad\nname/p-1")},
           {std::string(300, 's'), std::string(300, 's') + "/p-1"}}) {
    auto put = pager->PutPages(space, {{id, "text"}});
    EXPECT_EQ(put.status().code(), StatusCode::kInvalidArgument) << space << " " << id;
  }
  auto bad_text = pager->PutPages("stream:a", {{"stream:a/p-1", std::string("\xff\xfe", 2)}});
  EXPECT_EQ(bad_text.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pager->PageCount("stream:a"), 0u);  // A refused batch writes nothing.
}

TEST(Spaces, DocumentCallsNeverReplaceOrDeleteAnotherSpacesPages) {
  TempDir dir;
  auto pager = Open(dir.path());
  ASSERT_TRUE(pager->PutPages("stream:a", {{"stream:a/p-1", "the session's page"},
                                           {"stream:a/p-2", "another page"}})
                  .ok());
  // A document id spelled like a session page's id names a document, nothing else.
  ASSERT_TRUE(pager->Ingest("stream:a/p-1", "a hostile document").ok());
  EXPECT_EQ(*pager->Delete("stream:a/p-2"), 0u);
  EXPECT_EQ(*pager->ReadPage("stream:a/p-1"), "the session's page");
  EXPECT_EQ(*pager->ReadPage("stream:a/p-2"), "another page");
  EXPECT_EQ(pager->PageCount("stream:a"), 2u);
  // Nor does a put reach the document's page, whose id is spelled like one of the space's.
  for (const std::string& text : {"other text", "a hostile document"}) {
    auto put = pager->PutPages("stream:a", {{"stream:a/p-1::chunk_0000", text}});
    EXPECT_EQ(put.status().code(), StatusCode::kInvalidArgument) << put.status().ToString();
  }
  EXPECT_EQ(*pager->ReadPage("stream:a/p-1::chunk_0000"), "a hostile document");
  EXPECT_EQ(*pager->Delete("stream:a/p-1"), 1u);  // The document itself.
  EXPECT_EQ(pager->PageCount(), 0u);
  EXPECT_EQ(pager->PageCount("stream:a"), 2u);
}

TEST(Spaces, SearchStaysInsideTheSpaceItWasAskedFor) {
  TempDir dir;
  auto pager = Open(dir.path());
  ASSERT_TRUE(pager->Ingest("zoo.md", "The quokka is a small wallaby of Rottnest Island.").ok());
  ASSERT_TRUE(pager->PutPages("stream:a", {{"stream:a/p-1", "quokka sightings in the logs"}}).ok());
  // Many pages elsewhere, so a small space must be found by widening the vector search.
  std::vector<PageWrite> noise;
  for (int i = 0; i < 300; ++i) {
    noise.push_back({"stream:b/p-" + std::to_string(i), "quokka " + Words("noise", 5 + i % 7)});
  }
  ASSERT_TRUE(pager->PutPages("stream:b", noise).ok());
  for (SearchMode mode : {SearchMode::kHybrid, SearchMode::kVector, SearchMode::kKeyword}) {
    auto docs = pager->Search("quokka", 5, mode);
    ASSERT_TRUE(docs.ok()) << docs.status().message();
    ASSERT_EQ(docs->size(), 1u);
    EXPECT_EQ((*docs)[0].page_id, "zoo.md::chunk_0000");
    auto a = pager->Search("quokka", 5, mode, "stream:a");
    ASSERT_TRUE(a.ok());
    ASSERT_EQ(a->size(), 1u);
    EXPECT_EQ((*a)[0].page_id, "stream:a/p-1");
    EXPECT_EQ(pager->Search("quokka", 5, mode, "stream:b")->size(), 5u);
  }
  EXPECT_TRUE(pager->Search("quokka", 5, SearchMode::kHybrid, "stream:none")->empty());
}

TEST(Spaces, EachSpaceHasItsOwnL1BudgetPolicyAndStats) {
  TempDir dir;
  auto pager = Open(dir.path(), /*l1=*/400);
  ASSERT_TRUE(pager->ConfigureSpace("stream:a", SpaceOptions{150, "clock"}).ok());
  EXPECT_EQ(pager->ConfigureSpace("stream:a", SpaceOptions{50, ""}).code(),
            StatusCode::kInvalidArgument);  // Below page_tokens.
  EXPECT_EQ(pager->ConfigureSpace("stream:a", SpaceOptions{0, "nope"}).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(pager->Ingest("doc.md", Words("document", 20)).ok());
  std::vector<PageWrite> pages;
  for (int i = 0; i < 6; ++i) pages.push_back({"stream:a/p-" + std::to_string(i), Words("s", 12)});
  ASSERT_TRUE(pager->PutPages("stream:a", pages).ok());
  ASSERT_TRUE(pager->RequestPage("doc.md::chunk_0000", true).ok());
  for (const PageWrite& page : pages) ASSERT_TRUE(pager->RequestPage(page.page_id, true).ok());
  // The stream space evicted within its own 150 tokens; the document stayed resident.
  EXPECT_EQ(pager->ActivePages(), std::vector<std::string>{"doc.md::chunk_0000"});
  EXPECT_LE(pager->ContextTokens("stream:a"), 150u);
  EXPECT_GT(pager->ActivePages("stream:a").size(), 0u);
  PagerStats a = pager->Stats("stream:a");
  EXPECT_EQ(a.l1_budget, 150u);
  EXPECT_EQ(a.policy, "clock");
  EXPECT_EQ(a.total_pages, 6u);
  EXPECT_EQ(a.faults, 6u);
  EXPECT_GT(a.evictions, 0u);
  PagerStats doc = pager->Stats();
  EXPECT_EQ(doc.evictions, 0u);
  EXPECT_EQ(doc.faults, 1u);
  EXPECT_EQ(doc.l1_budget, 400u);
  EXPECT_EQ(pager->ConfigureSpace("stream:a", SpaceOptions{300, ""}).code(),
            StatusCode::kInvalidArgument);  // It has residents now.
  EXPECT_EQ(pager->Spaces(), (std::vector<std::string>{"doc", "stream:a"}));
}

TEST(Spaces, RecordsAreComparedAndSwappedAcrossPagers) {
  TempDir dir;
  auto first = Open(dir.path());
  auto second = Open(dir.path());
  EXPECT_EQ(first->LoadSpaceRecord("stream:a")->version, 0);
  EXPECT_TRUE(*first->SaveSpaceRecord("stream:a", 0, "one"));
  EXPECT_FALSE(*second->SaveSpaceRecord("stream:a", 0, "lost"));  // Created first elsewhere.
  EXPECT_EQ(*second->SpaceRecordVersion("stream:a"), 1);
  EXPECT_TRUE(*second->SaveSpaceRecord("stream:a", 1, "two"));
  EXPECT_FALSE(*first->SaveSpaceRecord("stream:a", 1, "stale"));  // Must reload first.
  SpaceRecord record = *first->LoadSpaceRecord("stream:a");
  EXPECT_EQ(record.version, 2);
  EXPECT_EQ(record.state, "two");
  EXPECT_FALSE(*first->SaveSpaceRecord("stream:b", 5, "never stored"));
  EXPECT_EQ(first->LoadSpaceRecord("stream:b")->version, 0);
}

TEST(Spaces, PagesAndRecordCommitTogetherAndPagesStayWhenTheSwapLoses) {
  TempDir dir;
  auto pager = Open(dir.path());
  EXPECT_TRUE(*pager->PutPagesAndRecord("stream:a", {{"stream:a/p-1", "one"}}, 0, "v1"));
  EXPECT_EQ(pager->LoadSpaceRecord("stream:a")->state, "v1");
  // A stale version: the record is not written, the new page is.
  EXPECT_FALSE(*pager->PutPagesAndRecord("stream:a", {{"stream:a/p-2", "two"}}, 0, "lost"));
  EXPECT_EQ(*pager->ReadPage("stream:a/p-2"), "two");
  SpaceRecord record = *pager->LoadSpaceRecord("stream:a");
  EXPECT_EQ(record.version, 1);
  EXPECT_EQ(record.state, "v1");
  EXPECT_TRUE(*pager->PutPagesAndRecord("stream:a", {}, 1, "v2"));
  EXPECT_EQ(pager->LoadSpaceRecord("stream:a")->state, "v2");
  // A refused page refuses the whole call: nothing is written, the record included.
  auto bad = pager->PutPagesAndRecord("stream:a", {{"stream:b/p-3", "x"}}, 2, "v3");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pager->LoadSpaceRecord("stream:a")->version, 2);
}

TEST(Spaces, DeletePagesRemovesOnlyTheNamedPagesOfItsOwnSpace) {
  TempDir dir;
  auto pager = Open(dir.path());
  ASSERT_TRUE(pager->PutPages("recall:a", {{"recall:a/m1", "one"}, {"recall:a/m2", "two"}}).ok());
  ASSERT_TRUE(pager->PutPages("recall:b", {{"recall:b/m1", "other"}}).ok());
  // An id of another space, or unknown, is skipped: only recall:a/m1 goes.
  EXPECT_EQ(*pager->DeletePages("recall:a", {"recall:a/m1", "recall:b/m1", "recall:a/m9"}), 1u);
  EXPECT_EQ(pager->PageIds("recall:a"), std::vector<std::string>{"recall:a/m2"});
  EXPECT_EQ(pager->PageCount("recall:b"), 1u);
  EXPECT_EQ(pager->DeletePages("doc", {"x"}).status().code(), StatusCode::kInvalidArgument);
}

TEST(Spaces, DeleteSpaceRemovesItsPagesAndRecordHereAndInOtherPagers) {
  TempDir dir;
  auto first = Open(dir.path());
  auto second = Open(dir.path());
  ASSERT_TRUE(first->Ingest("keep.md", "kept text").ok());
  ASSERT_TRUE(first->PutPages("stream:a", {{"stream:a/p-1", "gone text"}}).ok());
  ASSERT_TRUE(first->SaveSpaceRecord("stream:a", 0, "state").ok());
  ASSERT_TRUE(second->RequestPage("stream:a/p-1", true).ok());
  EXPECT_EQ(*first->DeleteSpace("stream:a"), 1u);
  EXPECT_EQ(first->ReadPage("stream:a/p-1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(first->LoadSpaceRecord("stream:a")->version, 0);
  EXPECT_EQ(second->PageCount("stream:a"), 0u);  // Synced from the deletion log.
  EXPECT_TRUE(second->ActivePages("stream:a").empty());
  EXPECT_EQ(*second->ReadPage("keep.md::chunk_0000"), "kept text");
}

TEST(Spaces, EventsTellWhatHappenedInOrder) {
  TempDir dir;
  auto pager = Open(dir.path(), /*l1=*/120);
  ASSERT_TRUE(pager->PutPages("stream:a", {{"stream:a/p-1", Words("one", 16)},
                                           {"stream:a/p-2", Words("two", 16)}})
                  .ok());
  ASSERT_TRUE(pager->RequestPage("stream:a/p-1", true).ok());
  ASSERT_TRUE(pager->RequestPage("stream:a/p-2", true).ok());  // Evicts p-1.
  ASSERT_TRUE(pager->Pin("stream:a/p-2").ok());
  std::vector<std::string> seen;
  uint64_t last = 0;
  for (const PagerEvent& e : pager->Events(0, 100)) {
    EXPECT_EQ(e.seq, last + 1);
    last = e.seq;
    EXPECT_EQ(e.space, "stream:a");
    seen.push_back(std::string(EventKindName(e.kind)) + " " + e.page_id);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"put stream:a/p-1", "put stream:a/p-2",
                                            "page_in stream:a/p-1", "compression stream:a/p-1",
                                            "eviction stream:a/p-1", "page_in stream:a/p-2",
                                            "pin stream:a/p-2"}));
  EXPECT_EQ(pager->Events(last - 1, 100).size(), 1u);  // Polling from where one stopped.
  EXPECT_TRUE(pager->Events(last, 100).empty());
  EXPECT_EQ(pager->Events(0, 2).size(), 2u);
}

TEST(Spaces, TheEventRingKeepsTheNewest) {
  TempDir dir;
  auto pager = Open(dir.path());
  std::vector<PageWrite> pages;
  for (size_t i = 0; i < Pager::kEventRing + 10; ++i) {
    pages.push_back({"stream:a/p-" + std::to_string(i), "text " + std::to_string(i)});
  }
  ASSERT_TRUE(pager->PutPages("stream:a", pages).ok());
  auto events = pager->Events(0, SIZE_MAX);
  ASSERT_EQ(events.size(), Pager::kEventRing);
  EXPECT_EQ(events.front().seq, 11u);  // A reader that fell behind sees the gap.
  EXPECT_EQ(events.back().page_id, pages.back().page_id);
}

TEST(Spaces, FusionIsSetPerSpace) {
  TempDir dir;
  auto pager = Open(dir.path());
  SpaceOptions fusion;
  fusion.rrf_k = 60;
  fusion.keyword_weight = 1;
  ASSERT_TRUE(pager->ConfigureSpace("recall:a", fusion).ok());
  fusion.rrf_k = -1;
  EXPECT_EQ(pager->ConfigureSpace("recall:b", fusion).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(pager->PutPages("recall:a", {{"recall:a/m1", "kestrel over the dunes"}}).ok());
  ASSERT_TRUE(pager->PutPages("stream:b", {{"stream:b/p1", "kestrel over the dunes"}}).ok());
  auto configured = pager->Search("kestrel", 1, SearchMode::kHybrid, "recall:a");
  auto standard = pager->Search("kestrel", 1, SearchMode::kHybrid, "stream:b");
  ASSERT_TRUE(configured.ok() && standard.ok());
  ASSERT_EQ(configured->size(), 1u);
  ASSERT_EQ(standard->size(), 1u);
  // First in both lists: 1/(60+1) twice, against the default's 3/(10+1) + 1/(10+1).
  EXPECT_DOUBLE_EQ((*configured)[0].score, 2.0 / 61);
  EXPECT_DOUBLE_EQ((*standard)[0].score, 4.0 / 11);
}

}  // namespace
}  // namespace vmllm
