// StreamSession over both wire formats: stubs, faults, pinning, the cache gate, bad input
// (schemas: stream_schema_test.cc).
#include "vmllm/stream.h"

#include <gtest/gtest.h>

#include "testing/openai_chat.h"
#include "testing/stream_configs.h"

#include <string>
#include <vector>

namespace vmllm {
namespace {

std::string Rewrite(StreamSession& s, const std::string& body, WireFormat wire = WireFormat::kOpenAI) {
  auto out = s.Rewrite(wire, body);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? out.value() : "";
}

// Six turns, each reading a different big file; returns the chat.
OpenAIChat SixReads() {
  OpenAIChat chat;
  for (int t = 0; t < 6; ++t) {
    chat.User("step " + std::to_string(t));
    std::string id = chat.Call("read_file", R"({"path":"src/f)" + std::to_string(t) + R"(.py"})");
    chat.Result(id, Big("f" + std::to_string(t)));
  }
  return chat;
}

TEST(StreamSession, StubsStaleLargeResultsAndKeepsRecentOnes) {
  StreamSession session{Eager4()};  // τ = 4 model turns, s_min = 500 bytes.
  OpenAIChat chat = SixReads();
  std::string out = Rewrite(session, chat.Body());
  // 6 turns: results of turns 1 and 2 are at least 4 turns old.
  EXPECT_EQ(Count(out, "[vmllm: paged out p-"), 2u);
  EXPECT_NE(out.find("read_file src/f0.py, 910 bytes. vmllm_recall"), std::string::npos) << out;
  EXPECT_EQ(out.find("f0 line 3 of"), std::string::npos);
  EXPECT_NE(out.find("f5 line 3 of"), std::string::npos);  // Newest turn stays.
  EXPECT_NE(out.find("f2 line 3 of"), std::string::npos);  // Only 3 turns old.
  EXPECT_LT(out.size(), chat.Body().size());
  EXPECT_EQ(session.Stats().evictions, 2u);
}

TEST(StreamSession, StubsAreByteIdenticalOnEveryLaterRequest) {
  StreamSession session{Eager4()};
  OpenAIChat chat = SixReads();
  std::string first = Rewrite(session, chat.Body());
  size_t a = first.find("[vmllm: paged out");
  std::string stub = first.substr(a, first.find(']', a) - a + 1);
  chat.User("more");
  std::string id = chat.Call("read_file", R"({"path":"src/g.py"})");
  chat.Result(id, Big("g"));
  std::string second = Rewrite(session, chat.Body());
  // The first request's rewritten prefix up to the end of its first stub is unchanged.
  EXPECT_EQ(second.substr(0, a + stub.size()), first.substr(0, a + stub.size()));
  EXPECT_EQ(session.Stats().evictions, 3u);  // One more aged out, none recounted.
  StreamSession fresh;  // Same history, new session: same stub bytes (content-derived only).
  EXPECT_NE(Rewrite(fresh, chat.Body()).find(stub), std::string::npos);
}

TEST(StreamSession, NeverStubsErrorsOrSmallResults) {
  StreamSession session{Eager4()};
  OpenAIChat chat;
  chat.User("go");
  chat.Result(chat.Call("read_file", R"({"path":"a"})"), "Error: " + Big("missing"));
  chat.Result(chat.Call("read_file", R"({"path":"b"})"), "tiny");
  for (int t = 0; t < 6; ++t) chat.Say("thinking " + std::to_string(t));
  std::string out = Rewrite(session, chat.Body());
  EXPECT_EQ(out.find("[vmllm: paged out p-"), std::string::npos);
  EXPECT_NE(out.find("missing line 39"), std::string::npos);
}

TEST(StreamSession, ReissuedCallIsAFaultThatPinsUntilContentChanges) {
  StreamSession session{Eager4()};
  OpenAIChat chat = SixReads();
  Rewrite(session, chat.Body());  // f0 and f1 paged out.
  chat.User("again");
  std::string id = chat.Call("read_file", R"({"path": "src/f0.py"})");  // Spacing differs.
  EXPECT_EQ(session.Stats().faults, 0u);
  chat.Result(id, Big("f0"));
  Rewrite(session, chat.Body());
  EXPECT_EQ(session.Stats().reissue_faults, 1u);
  EXPECT_TRUE(session.IsPinned("read_file", R"({"path":"src/f0.py"})"));
  // Pinned: the re-read stays in full however old it gets.
  for (int t = 0; t < 6; ++t) chat.Say("t" + std::to_string(t));
  std::string out = Rewrite(session, chat.Body());
  EXPECT_EQ(Count(out, "f0 line 39"), 1u);
  // A fresh, different result for the same key unpins.
  chat.Result(chat.Call("read_file", R"({"path":"src/f0.py"})"), Big("f0-edited"));
  Rewrite(session, chat.Body());
  EXPECT_FALSE(session.IsPinned("read_file", R"({"path":"src/f0.py"})"));
  EXPECT_EQ(session.Stats().unpins, 1u);
}

TEST(StreamSession, RecallRestoresThePageInPlaceFromTheStore) {
  StreamSession session{Eager4()};
  OpenAIChat chat = SixReads();
  std::string out = Rewrite(session, chat.Body());
  size_t p = out.find("paged out p-") + 10;
  std::string page = out.substr(p, 18);
  auto text = session.Page(page);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text.value(), Big("f0"));
  EXPECT_EQ(session.Page("p-0000000000000000").status().code(), StatusCode::kNotFound);
  std::string id = chat.Call("vmllm_recall", R"({"page_ids":[")" + page + R"("]})");
  chat.Result(id, "unknown tool");  // What a client that does not know the tool would say.
  out = Rewrite(session, chat.Body());
  EXPECT_NE(out.find("f0 line 39"), std::string::npos);
  EXPECT_EQ(out.find("unknown tool"), std::string::npos);
  EXPECT_EQ(session.Stats().recall_faults, 1u);
  EXPECT_TRUE(session.IsPinned("read_file", R"({"path":"src/f0.py"})"));
}

TEST(StreamSession, FollowUpAnswersARecallWithoutTheClient) {
  StreamSession session{Eager4()};
  OpenAIChat chat = SixReads();
  std::string rewritten = Rewrite(session, chat.Body());
  size_t p = rewritten.find("paged out p-") + 10;
  std::string page = rewritten.substr(p, 18);
  std::string response = R"({"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"r1","type":"function","function":{"name":"vmllm_recall","arguments":"{\"page_ids\":[\")" +
                         page + R"(\"]}"}}]}}]})";
  std::string extended, follow;
  ASSERT_TRUE(session.FollowUp(WireFormat::kOpenAI, chat.Body(), response, &extended, &follow).ok());
  EXPECT_NE(follow.find("f0 line 39"), std::string::npos);
  EXPECT_NE(follow.find(R"("tool_call_id":"r1")"), std::string::npos);
  EXPECT_NE(extended.find("vmllm_recall"), std::string::npos);
  EXPECT_EQ(session.Stats().recall_faults, 1u);
  // A response that calls a client tool goes back to the client untouched.
  std::string client_call = R"({"choices":[{"message":{"role":"assistant","tool_calls":[{"id":"x","type":"function","function":{"name":"read_file","arguments":"{}"}}]}}]})";
  ASSERT_TRUE(session.FollowUp(WireFormat::kOpenAI, chat.Body(), client_call, &extended, &follow).ok());
  EXPECT_EQ(follow, "");
  EXPECT_FALSE(session.FollowUp(WireFormat::kOpenAI, chat.Body(), "{bad", &extended, &follow).ok());
}

TEST(StreamSession, AnthropicToolResultBlocksArePagedAndErrorsKept) {
  StreamSession session{Eager4()};
  std::string messages;
  for (int t = 0; t < 6; ++t) {
    std::string id = "tu" + std::to_string(t);
    if (t) messages += ",";
    messages += R"({"role":"assistant","content":[{"type":"text","text":"reading"},{"type":"tool_use","id":")" +
                id + R"(","name":"Read","input":{"file_path":"/x/)" + std::to_string(t) + R"(.py"}}]},)";
    messages += R"({"role":"user","content":[{"type":"tool_result","tool_use_id":")" + id +
                R"(","is_error":)" + (t == 1 ? "true" : "false") + R"(,"content":)" +
                Quote(Big("a" + std::to_string(t))) + "}]}";
  }
  std::string body = R"({"model":"claude","max_tokens":10,"system":"sys","messages":[{"role":"user","content":"start"},)" +
                     messages + "]}";
  std::string out = Rewrite(session, body, WireFormat::kAnthropic);
  EXPECT_EQ(Count(out, "[vmllm: paged out p-"), 1u);  // Turn 1 stubbed; turn 2 is an error.
  EXPECT_NE(out.find("Read /x/0.py"), std::string::npos);
  EXPECT_NE(out.find("a1 line 39"), std::string::npos);
  EXPECT_NE(out.find(R"("tool_use_id":"tu0")"), std::string::npos);  // Pairing intact.
}

TEST(StreamSession, MalformedBodiesAreInvalidArgumentAndChangeNothing) {
  StreamSession session{Eager4()};
  const std::vector<std::string> bad = {
      "", "{", "[]", R"({"messages":{}})", R"({"messages":[]})", R"({"messages":[1]})",
      R"({"messages":[{"role":"tool","content":"x"}]})",
      R"({"messages":[{"role":"assistant","tool_calls":[{"function":{}}]}]})",
      R"({"messages":[{"role":"user","content":5}]})",
      R"({"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function"}]})",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}"};
  for (const std::string& body : bad) {
    auto out = session.Rewrite(WireFormat::kOpenAI, body);
    EXPECT_FALSE(out.ok()) << body;
    if (!out.ok()) EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << body;
    EXPECT_FALSE(session.Rewrite(WireFormat::kAnthropic, body).ok()) << body;
  }
  EXPECT_EQ(session.Stats().requests, 0u);
  EXPECT_TRUE(session.Rewrite(WireFormat::kOpenAI, R"({"messages":[{"role":"user","content":"hi"}]})").ok());
}

TEST(StreamSession, CacheGateHoldsSmallBatchesBackThenAppliesThemTogether) {
  StreamConfig config;
  config.cache_aware = true;
  config.min_expected_turns = 1;
  StreamSession session(config);
  OpenAIChat chat;
  chat.User("start");
  chat.Result(chat.Call("read_file", R"({"path":"big"})"), Big("big", 200));
  // Little saving per turn against a long tail: held back.
  std::string small = Big("s", 14);
  for (int t = 0; t < 5; ++t) chat.Result(chat.Call("ls", "{\"d\":" + std::to_string(t) + "}"), small);
  // The big file is old enough but saving it is worth it only once the session is long.
  std::string out = Rewrite(session, chat.Body());
  const auto deferred = session.Stats().deferred_by_cache;
  const auto evicted = session.Stats().evictions;
  EXPECT_TRUE(deferred > 0 || evicted > 0);
  StreamConfig off;
  StreamSession eager(off);
  Rewrite(eager, chat.Body());
  EXPECT_GE(eager.Stats().evictions, evicted);
}

TEST(StreamSession, CompactFoldsWholeTurnsIntoTheModelsSummary) {
  StreamSession session{Eager4()};
  OpenAIChat chat = SixReads();
  std::string id = chat.Call("vmllm_compact", R"({"from_turn":1,"to_turn":3,"summary":"read f0-f2"})");
  chat.Result(id, "?");
  std::string out = Rewrite(session, chat.Body());
  EXPECT_NE(out.find("Summary: read f0-f2"), std::string::npos);
  EXPECT_EQ(out.find("src/f1.py"), std::string::npos);  // The call went with its result.
  EXPECT_EQ(out.find("call_1"), std::string::npos);
  EXPECT_NE(out.find("call_3"), std::string::npos);
  EXPECT_EQ(session.Stats().compactions, 1u);
}

TEST(StreamSession, PressureLevelsOfferToolsThenEvictRegardlessOfAge) {
  StreamConfig config;
  config.window_tokens = 1000;  // SixReads is over 1,000 estimated tokens: aggressive.
  StreamSession session(config);
  OpenAIChat chat = SixReads();
  std::string out = Rewrite(session, chat.Body());
  EXPECT_EQ(session.Stats().pressure, "aggressive");
  EXPECT_NE(out.find("vmllm_release"), std::string::npos);
  EXPECT_NE(out.find("vmllm_compact"), std::string::npos);
  // Everything but the newest turn goes, however young.
  EXPECT_EQ(Count(out, "[vmllm: paged out p-"), 5u);
  EXPECT_NE(out.find("f5 line 39"), std::string::npos);

  StreamSession relaxed;  // No window: no pressure, only recall offered.
  out = Rewrite(relaxed, chat.Body());
  EXPECT_EQ(relaxed.Stats().pressure, "none");
  EXPECT_EQ(out.find("vmllm_release"), std::string::npos);
  EXPECT_NE(out.find("vmllm_recall"), std::string::npos);
}

TEST(StreamSession, ReleaseLetsAYoungPageGoAtOnce) {
  StreamSession session{Eager4()};
  OpenAIChat chat;
  chat.User("go");
  chat.Result(chat.Call("read_file", R"({"path":"young"})"), Big("young"));
  chat.Say("read it");
  const std::string page = StreamPageId(Big("young"));
  chat.Result(chat.Call("vmllm_release", R"({"page_ids":[")" + page + R"("]})"), "?");
  std::string out = Rewrite(session, chat.Body());
  EXPECT_NE(out.find("paged out " + page), std::string::npos);  // Two turns old, released.
  EXPECT_EQ(session.Stats().releases, 1u);
  EXPECT_NE(out.find("[vmllm: released"), std::string::npos);
}

}  // namespace
}  // namespace vmllm
