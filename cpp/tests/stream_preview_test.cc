// StreamSession::Preview (what count_tokens is answered from) and what rewriting must leave
// alone: Anthropic thinking blocks with their signatures, and cache_control.
#include <string>

#include <gtest/gtest.h>

#include "testing/openai_chat.h"
#include "testing/stream_configs.h"
#include "testing/temp_dir.h"
#include "vmllm/pager.h"
#include "vmllm/stream.h"

namespace vmllm {
namespace {

OpenAIChat SixReads() {
  OpenAIChat chat;
  for (int t = 0; t < 6; ++t) {
    chat.User("step " + std::to_string(t));
    chat.Result(chat.Call("read_file", R"({"path":"src/f)" + std::to_string(t) + R"(.py"})"),
                Big("f" + std::to_string(t)));
  }
  return chat;
}

// Counters and decisions of a session, as comparable text.
std::string Snapshot(const StreamSession& s) {
  const StreamStats st = s.Stats();
  return std::to_string(st.requests) + "," + std::to_string(st.pages) + "," +
         std::to_string(st.evictions) + "," + std::to_string(st.faults) + "," +
         std::to_string(st.bytes_in) + "," + std::to_string(st.bytes_out) + "," +
         std::to_string(st.schema_stubs) + "," + st.pressure;
}

TEST(StreamPreview, ShowsTheNextRewriteAndChangesNothing) {
  StreamSession session{Eager4()};
  OpenAIChat chat = SixReads();
  ASSERT_TRUE(session.Rewrite(WireFormat::kOpenAI, chat.Body()).ok());
  chat.User("more");
  chat.Result(chat.Call("read_file", R"({"path":"g"})"), Big("g"));
  const std::string before = Snapshot(session);
  auto preview = session.Preview(WireFormat::kOpenAI, chat.Body());
  ASSERT_TRUE(preview.ok()) << preview.status().message();
  EXPECT_EQ(Snapshot(session), before);
  EXPECT_NE(preview->find("[vmllm: paged out"), std::string::npos);
  auto again = session.Preview(WireFormat::kOpenAI, chat.Body());
  EXPECT_EQ(*again, *preview);  // Nothing a preview decided stuck.
  auto rewritten = session.Rewrite(WireFormat::kOpenAI, chat.Body());
  ASSERT_TRUE(rewritten.ok());
  EXPECT_EQ(*rewritten, *preview);
  // The rewrite counted its eviction once: the preview had not.
  EXPECT_EQ(session.Stats().evictions, 3u);
  EXPECT_EQ(session.Preview(WireFormat::kOpenAI, "{").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(StreamPreview, WithAStoreItReadsTheLatestStateAndWritesNothing) {
  TempDir dir;
  PagerOptions options;
  options.path = dir.path();
  auto store = std::move(Pager::Open(std::move(options))).value();
  StreamSession writer(StreamConfig{}, store.get(), "stream:s");
  StreamSession reader(StreamConfig{}, store.get(), "stream:s");  // Another process.
  OpenAIChat chat = SixReads();
  ASSERT_TRUE(writer.Rewrite(WireFormat::kOpenAI, chat.Body()).ok());
  const int64_t version = *store->SpaceRecordVersion("stream:s");
  const size_t pages = store->PageCount("stream:s");
  chat.User("more");
  chat.Result(chat.Call("read_file", R"({"path":"g"})"), Big("g"));
  auto preview = reader.Preview(WireFormat::kOpenAI, chat.Body());
  ASSERT_TRUE(preview.ok()) << preview.status().message();
  EXPECT_EQ(*store->SpaceRecordVersion("stream:s"), version);
  EXPECT_EQ(store->PageCount("stream:s"), pages);
  EXPECT_EQ(reader.Stats().requests, 0u);
  EXPECT_EQ(*writer.Rewrite(WireFormat::kOpenAI, chat.Body()), *preview);
}

// An Anthropic tool loop with extended thinking: each assistant turn opens with a signed
// thinking block (one redacted), and the first result carries a cache breakpoint.
std::string ThinkingRequest() {
  std::string messages = R"({"role":"user","content":"start"})";
  for (int t = 0; t < 6; ++t) {
    const std::string id = "tu" + std::to_string(t);
    const std::string thinking =
        t == 2 ? R"({"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"})"
               : R"({"type":"thinking","thinking":"I should read )" + std::to_string(t) +
                     R"(.","signature":"ErUBCkYIAxgCIkDK+sig)" + std::to_string(t) + R"(=="})";
    messages += R"(,{"role":"assistant","content":[)" + thinking +
                R"(,{"type":"tool_use","id":")" + id + R"(","name":"Read","input":{"file_path":"/x/)" +
                std::to_string(t) + R"(.py"}}]})";
    messages += R"(,{"role":"user","content":[{"type":"tool_result","tool_use_id":")" + id +
                R"(","content":)" + Quote(Big("a" + std::to_string(t))) +
                (t == 0 ? R"(,"cache_control":{"type":"ephemeral"})" : "") + "}]}";
  }
  return R"({"model":"claude","max_tokens":10,"thinking":{"type":"enabled","budget_tokens":2048},)"
         R"("system":[{"type":"text","text":"sys","cache_control":{"type":"ephemeral"}}],"messages":[)" +
         messages + "]}";
}

TEST(StreamAnthropic, ThinkingBlocksSignaturesAndCacheControlPassIntact) {
  StreamSession session;
  const std::string body = ThinkingRequest();
  auto out = session.Rewrite(WireFormat::kAnthropic, body);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_GE(Count(*out, "[vmllm: paged out p-"), 1u);
  for (int t = 0; t < 6; ++t) {
    if (t == 2) continue;
    const std::string block = R"({"type":"thinking","thinking":"I should read )" +
                              std::to_string(t) + R"(.","signature":"ErUBCkYIAxgCIkDK+sig)" +
                              std::to_string(t) + R"(=="})";
    EXPECT_NE(out->find(block), std::string::npos) << t;
  }
  EXPECT_NE(out->find(R"({"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"})"),
            std::string::npos);
  // The stubbed result keeps its cache breakpoint; the system's stays too.
  EXPECT_NE(out->find(R"(vmllm_recall brings it back.]","cache_control":{"type":"ephemeral"}})"),
            std::string::npos) << *out;
  EXPECT_NE(out->find(R"("text":"sys","cache_control":{"type":"ephemeral"})"), std::string::npos);

  // Follow-up: the response's own thinking block goes back signed, ahead of its tool_use.
  const size_t p = out->find("paged out p-") + 10;
  const std::string page = out->substr(p, 18);
  const std::string response =
      R"({"role":"assistant","content":[{"type":"thinking","thinking":"Need it back.","signature":"SIGNED+/=="},)"
      R"({"type":"tool_use","id":"r1","name":"vmllm_recall","input":{"page_ids":[")" + page + R"("]}}]})";
  std::string extended, follow;
  ASSERT_TRUE(session.FollowUp(WireFormat::kAnthropic, body, response, &extended, &follow).ok());
  EXPECT_NE(follow.find(R"({"role":"assistant","content":[{"type":"thinking","thinking":"Need it back.",)"
                        R"("signature":"SIGNED+/=="},{"type":"tool_use","id":"r1")"),
            std::string::npos) << follow;
  EXPECT_NE(follow.find("a0 line 39"), std::string::npos);
}

}  // namespace
}  // namespace vmllm
