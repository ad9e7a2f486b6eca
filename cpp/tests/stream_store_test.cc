// StreamSession kept in the engine's store: pages and state in space "stream:<name>", resumed
// after a restart, shared by sessions (processes) over one store, holding no page text in RAM.
#include <gtest/gtest.h>

#include <thread>

#include "testing/openai_chat.h"
#include "testing/temp_dir.h"
#include "vmllm/pager.h"
#include "vmllm/stream.h"

namespace vmllm {
namespace {

// The mechanics these tests check were written for τ = 4 with eviction as soon as eligible (the
// default before issue 15 chose τ = 1 with the cache gate).
StreamConfig Eager4() {
  StreamConfig c;
  c.tau_turns = 4;
  c.cache_aware = false;
  return c;
}


std::unique_ptr<Pager> OpenStore(const std::string& path) {
  PagerOptions o;
  o.path = path;
  auto pager = Pager::Open(std::move(o));
  EXPECT_TRUE(pager.ok()) << pager.status().message();
  return std::move(pager).value();
}

std::string Rewrite(StreamSession& s, const std::string& body) {
  auto out = s.Rewrite(WireFormat::kOpenAI, body);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? out.value() : "";
}

OpenAIChat Reads(int turns, const std::string& tag = "f") {
  OpenAIChat chat;
  for (int t = 0; t < turns; ++t) {
    chat.User("step " + std::to_string(t));
    std::string id = chat.Call("read_file", R"({"path":"src/)" + tag + std::to_string(t) + R"(.py"})");
    chat.Result(id, Big(tag + std::to_string(t)));
  }
  return chat;
}

std::string FirstStubPage(const std::string& out) {
  size_t p = out.find("paged out p-");
  return p == std::string::npos ? "" : out.substr(p + 10, 18);
}

TEST(StreamStore, PagesLiveInTheSessionsSpaceNotInTheSession) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  StreamSession session(Eager4(), store.get(), "stream:s1");
  OpenAIChat chat = Reads(6);
  std::string out = Rewrite(session, chat.Body());
  std::string page = FirstStubPage(out);
  ASSERT_FALSE(page.empty()) << out;
  EXPECT_EQ(*store->ReadPage("stream:s1/" + page), Big("f0"));
  EXPECT_EQ(*session.Page(page), Big("f0"));
  EXPECT_EQ(store->PageCount("stream:s1"), 6u);  // Every tool result is a page.
  EXPECT_EQ(store->PageCount(), 0u);             // None of them is a document.
  // A read pages it in to the session's own L1, within that space's budget.
  EXPECT_EQ(store->ActivePages("stream:s1"), std::vector<std::string>{"stream:s1/" + page});
  EXPECT_TRUE(store->ActivePages().empty());
  EXPECT_GT(store->LoadSpaceRecord("stream:s1")->version, 0);
}

TEST(StreamStore, ARestartedProcessResumesWithByteIdenticalStubsPinsAndCounters) {
  TempDir dir;
  OpenAIChat chat = Reads(6);
  std::string before, page;
  {
    auto store = OpenStore(dir.path());
    StreamSession session(Eager4(), store.get(), "stream:s1");
    before = Rewrite(session, chat.Body());
    page = FirstStubPage(before);
    chat.User("again");  // A re-issued call of a paged-out result: a fault that pins.
    chat.Result(chat.Call("read_file", R"({"path":"src/f0.py"})"), Big("f0"));
    Rewrite(session, chat.Body());
    EXPECT_TRUE(session.IsPinned("read_file", R"({"path":"src/f0.py"})"));
  }  // The process ends; nothing but the store remains.
  auto store = OpenStore(dir.path());
  StreamSession resumed(Eager4(), store.get(), "stream:s1");
  chat.Say("thinking");
  std::string after = Rewrite(resumed, chat.Body());
  // The prefix the provider cached, up to the end of the first stub, is byte for byte the same.
  size_t end = before.find(']', before.find("[vmllm: paged out")) + 1;
  EXPECT_EQ(after.substr(0, end), before.substr(0, end));
  EXPECT_TRUE(resumed.IsPinned("read_file", R"({"path":"src/f0.py"})"));
  StreamStats stats = resumed.Stats();
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.reissue_faults, 1u);
  EXPECT_EQ(*resumed.Page(page), Big("f0"));  // Paged out before the restart, recalled after.
  // A recall by the model after the restart restores the page in place.
  chat.Result(chat.Call("vmllm_recall", R"({"page_ids":[")" + page + R"("]})"), "?");
  EXPECT_NE(Rewrite(resumed, chat.Body()).find("f0 line 39"), std::string::npos);
}

TEST(StreamStore, TwoProcessesTakeTurnsOnOneSession) {
  TempDir dir;
  auto store_a = OpenStore(dir.path());
  auto store_b = OpenStore(dir.path());
  StreamSession a(Eager4(), store_a.get(), "stream:shared");
  StreamSession b(Eager4(), store_b.get(), "stream:shared");
  OpenAIChat chat = Reads(6);
  std::string first = Rewrite(a, chat.Body());
  std::string page = FirstStubPage(first);
  ASSERT_FALSE(page.empty());
  // The next request lands on the other process: it knows the stubs and the pages.
  chat.Say("next");
  std::string second = Rewrite(b, chat.Body());
  size_t end = first.find(']', first.find("[vmllm: paged out")) + 1;
  EXPECT_EQ(second.substr(0, end), first.substr(0, end));
  EXPECT_EQ(*b.Page(page), Big("f0"));
  EXPECT_EQ(b.Stats().requests, 2u);
  chat.Result(chat.Call("vmllm_recall", R"({"page_ids":[")" + page + R"("]})"), "?");
  EXPECT_NE(Rewrite(a, chat.Body()).find("f0 line 39"), std::string::npos);
  EXPECT_EQ(a.Stats().recall_faults, 1u);
  EXPECT_EQ(a.Stats().requests, 3u);  // It caught up with b's request first.
}

TEST(StreamStore, ConcurrentRewritesFromTwoStoresLoseNoDecision) {
  TempDir dir;
  auto store_a = OpenStore(dir.path());
  auto store_b = OpenStore(dir.path());
  StreamSession a(Eager4(), store_a.get(), "stream:busy");
  StreamSession b(Eager4(), store_b.get(), "stream:busy");
  const std::string body = Reads(6).Body();
  constexpr int kEach = 25;
  const std::string expected = Rewrite(a, body);
  auto hammer = [&](StreamSession* s) {
    for (int i = 0; i < kEach; ++i) {
      auto out = s->Rewrite(WireFormat::kOpenAI, body);
      EXPECT_TRUE(out.ok() && *out == expected);  // The same stubs from either process.
    }
  };
  std::thread ta(hammer, &a), tb(hammer, &b);
  ta.join();
  tb.join();
  // Decisions are never lost: the same two results were stubbed once, whoever planned them.
  // (Counters of requests that changed nothing are stored every 16th such request, so each
  // process may lose some of them to the other's writes.)
  StreamSession check(Eager4(), store_a.get(), "stream:busy");
  EXPECT_EQ(Rewrite(check, body), expected);
  EXPECT_EQ(check.Stats().evictions, 2u);
  EXPECT_LE(check.Stats().requests, 2u * kEach + 2);
}

TEST(StreamStore, ARequestThatChangesNoDecisionIsNotWrittenUntilCountersAreDue) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  StreamSession session(Eager4(), store.get(), "stream:s1");
  const std::string body = Reads(6).Body();
  Rewrite(session, body);
  const int64_t written = store->LoadSpaceRecord("stream:s1")->version;
  for (int i = 0; i < 15; ++i) Rewrite(session, body);  // The same history again.
  EXPECT_EQ(store->LoadSpaceRecord("stream:s1")->version, written);
  Rewrite(session, body);  // The 16th unchanged request brings the counters up to date.
  EXPECT_EQ(store->LoadSpaceRecord("stream:s1")->version, written + 1);
  StreamSession reader(Eager4(), store.get(), "stream:s1");
  EXPECT_EQ(*reader.Page(FirstStubPage(Rewrite(reader, body))), Big("f0"));
  EXPECT_EQ(reader.Stats().requests, 1u + 16u + 1u);
}

TEST(StreamStore, SessionsInOneStoreNeverSeeEachOthersPages) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  StreamSession alice(Eager4(), store.get(), "stream:alice");
  StreamSession bob(Eager4(), store.get(), "stream:bob");
  std::string page = FirstStubPage(Rewrite(alice, Reads(6, "secret").Body()));
  ASSERT_FALSE(page.empty());
  Rewrite(bob, Reads(6, "other").Body());
  EXPECT_EQ(bob.Page(page).status().code(), StatusCode::kNotFound);
  // Bob recalling Alice's page id gets nothing of hers.
  OpenAIChat chat = Reads(6, "other");
  chat.Result(chat.Call("vmllm_recall", R"({"page_ids":[")" + page + R"("]})"), "?");
  std::string out = Rewrite(bob, chat.Body());
  EXPECT_EQ(out.find("secret0 line"), std::string::npos);
  EXPECT_NE(out.find(page + " (unknown)"), std::string::npos);
}

TEST(StreamStore, ADamagedRecordStartsTheSessionAfreshInsteadOfFailing) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(*store->SaveSpaceRecord("stream:s1", 0, "{not json"));
  StreamSession session(Eager4(), store.get(), "stream:s1");
  EXPECT_FALSE(FirstStubPage(Rewrite(session, Reads(6).Body())).empty());
  EXPECT_EQ(session.Stats().requests, 1u);
  // Its state was written over the damaged one.
  StreamSession again(Eager4(), store.get(), "stream:s1");
  OpenAIChat chat = Reads(6);
  chat.Say("more");
  Rewrite(again, chat.Body());
  EXPECT_EQ(again.Stats().requests, 2u);
}

TEST(StreamStore, AClosedStoreIsAnErrorNotACrash) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  StreamSession session(Eager4(), store.get(), "stream:s1");
  ASSERT_TRUE(store->Close().ok());
  auto out = session.Rewrite(WireFormat::kOpenAI, Reads(6).Body());
  EXPECT_FALSE(out.ok());
}

}  // namespace
}  // namespace vmllm
