// The schema rules of stream sessions (stream/schema_policy.h): whole until seen and idle,
// tool_choice exempt, restored schemas wait again, memory tools at a stable place, all of it
// kept in the saved state.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/wire.h"
#include "stream/stream_policy.h"
#include "testing/openai_chat.h"
#include "vmllm/stream.h"

namespace vmllm {
namespace {

const std::string kReadFile =
    R"({"type":"function","function":{"name":"read_file","description":"Read a file.\nLong details here.","parameters":{"type":"object","properties":{"path":{"type":"string","description":"the path"}}}}})";
const std::string kGrep =
    R"({"type":"function","function":{"name":"grep","description":"Search files.\nMore.","parameters":{"type":"object","properties":{"pattern":{"type":"string","description":"regex to find"}}}}})";
const std::string kLs =
    R"({"type":"function","function":{"name":"ls","description":"List a directory.","parameters":{"type":"object","properties":{"dir":{"type":"string","description":"which directory"}}}}})";

std::string Tools(const std::string& a, const std::string& b = "", const std::string& c = "") {
  std::string out = "[" + a;
  for (const std::string& t : {b, c}) {
    if (!t.empty()) out += "," + t;
  }
  return out + "]";
}

StreamConfig IdleTurns(int n) {
  StreamConfig config;
  config.schema_idle_turns = n;
  return config;
}

// One more turn: a read_file call and its (small) result.
void ReadTurn(OpenAIChat* chat) {
  chat->User("next");
  chat->Result(chat->Call("read_file", R"({"path":"x"})"), "ok");
}

std::string Rewrite(StreamSession& s, const std::string& body, RewriteReport* report = nullptr) {
  auto out = s.Rewrite(WireFormat::kOpenAI, body, report);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? out.value() : "";
}

bool GrepWhole(const std::string& out) { return out.find("regex to find") != std::string::npos; }

TEST(StreamSchemas, TheFirstRequestSendsEverySchemaWhole) {
  StreamSession session(IdleTurns(1));
  OpenAIChat chat;
  for (int t = 0; t < 5; ++t) ReadTurn(&chat);  // A long history, grep never called.
  const std::string out = Rewrite(session, chat.Body(Tools(kReadFile, kGrep)));
  EXPECT_TRUE(GrepWhole(out));
  EXPECT_NE(out.find("Long details"), std::string::npos);
  EXPECT_EQ(session.Stats().schema_stubs, 0u);
}

TEST(StreamSchemas, ASchemaIsStubbedOnlyAfterGoingUncalledForIdleTurns) {
  StreamSession session(IdleTurns(3));
  OpenAIChat chat;
  ReadTurn(&chat);
  const std::string tools = Tools(kReadFile, kGrep);
  EXPECT_TRUE(GrepWhole(Rewrite(session, chat.Body(tools))));  // Seen at turn 1.
  ReadTurn(&chat);
  ReadTurn(&chat);
  EXPECT_TRUE(GrepWhole(Rewrite(session, chat.Body(tools))));  // 2 idle turns.
  ReadTurn(&chat);
  RewriteReport report;
  const std::string out = Rewrite(session, chat.Body(tools), &report);  // 3 idle turns.
  EXPECT_FALSE(GrepWhole(out));
  EXPECT_NE(out.find(R"("description":"Search files.","parameters":{"type":"object","properties":{}})"),
            std::string::npos) << out;
  EXPECT_NE(out.find("the path"), std::string::npos);  // read_file is called every turn.
  EXPECT_EQ(report.stubbed_schemas, 1u);
  EXPECT_EQ(report.first_changed_message, 0u);  // The tools array changed.
  // Default: eight turns.
  EXPECT_EQ(StreamConfig{}.schema_idle_turns, 8);
}

TEST(StreamSchemas, AToolTheClientAddsGoesUpWholeWhileOthersStayStubbed) {
  StreamSession session(IdleTurns(1));
  OpenAIChat chat;
  ReadTurn(&chat);
  Rewrite(session, chat.Body(Tools(kReadFile, kGrep)));
  ReadTurn(&chat);
  EXPECT_FALSE(GrepWhole(Rewrite(session, chat.Body(Tools(kReadFile, kGrep)))));
  ReadTurn(&chat);
  const std::string out = Rewrite(session, chat.Body(Tools(kReadFile, kGrep, kLs)));
  EXPECT_NE(out.find("which directory"), std::string::npos);  // New: whole.
  EXPECT_FALSE(GrepWhole(out));
  // A schema the client changes is new to the model as well.
  const std::string grep2 = R"({"type":"function","function":{"name":"grep","description":"Search files.\nMore.","parameters":{"type":"object","properties":{"pattern":{"type":"string","description":"regex to find, v2"}}}}})";
  EXPECT_NE(Rewrite(session, chat.Body(Tools(kReadFile, grep2, kLs))).find("regex to find, v2"),
            std::string::npos);
}

TEST(StreamSchemas, TheToolChoiceToolIsNeverStubbed) {
  StreamSession session(IdleTurns(1));
  OpenAIChat chat;
  ReadTurn(&chat);
  Rewrite(session, chat.Body(Tools(kReadFile, kGrep)));
  ReadTurn(&chat);
  std::string body = chat.Body(Tools(kReadFile, kGrep));
  body.insert(body.size() - 1, R"(,"tool_choice":{"type":"function","function":{"name":"grep"}})");
  EXPECT_TRUE(GrepWhole(Rewrite(session, body)));
  EXPECT_FALSE(GrepWhole(Rewrite(session, chat.Body(Tools(kReadFile, kGrep)))));
}

TEST(StreamSchemas, ToolChoiceNamesTheForcedToolInAllThreeFormats) {
  const std::string openai = R"({"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"function","function":{"name":"a"}}})";
  const std::string anthropic = R"({"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"tool","name":"b"}})";
  const std::string responses = R"({"input":"x","tool_choice":{"type":"function","name":"c"}})";
  EXPECT_EQ((*ParseWireRequest(WireFormat::kOpenAI, openai))->conversation().forced_tool, "a");
  EXPECT_EQ((*ParseWireRequest(WireFormat::kAnthropic, anthropic))->conversation().forced_tool, "b");
  EXPECT_EQ((*ParseWireRequest(WireFormat::kOpenAIResponses, responses))->conversation().forced_tool,
            "c");
  for (const char* choice : {R"("auto")", R"("required")", R"({"type":"any"})", "5", R"({"name":7})"}) {
    const std::string body = R"({"messages":[{"role":"user","content":"x"}],"tool_choice":)" +
                             std::string(choice) + "}";
    auto parsed = ParseWireRequest(WireFormat::kAnthropic, body);
    ASSERT_TRUE(parsed.ok()) << choice;
    EXPECT_EQ((*parsed)->conversation().forced_tool, "") << choice;
  }
}

TEST(StreamSchemas, ACalledSchemaComesBackWholeAndWaitsIdleTurnsAgain) {
  StreamSession session(IdleTurns(2));
  OpenAIChat chat;
  const std::string tools = Tools(kReadFile, kGrep);
  ReadTurn(&chat);
  Rewrite(session, chat.Body(tools));
  ReadTurn(&chat);
  ReadTurn(&chat);
  ASSERT_FALSE(GrepWhole(Rewrite(session, chat.Body(tools))));
  chat.Result(chat.Call("grep", R"({"pattern":"x"})"), "none");  // Turn 4: the model calls it.
  EXPECT_TRUE(GrepWhole(Rewrite(session, chat.Body(tools))));
  ReadTurn(&chat);  // 1 idle turn.
  EXPECT_TRUE(GrepWhole(Rewrite(session, chat.Body(tools))));
  ReadTurn(&chat);  // 2 idle turns.
  EXPECT_FALSE(GrepWhole(Rewrite(session, chat.Body(tools))));
}

TEST(StreamSchemas, MemoryToolsFollowTheClientsToolsAndStayOffered) {
  StreamConfig config;
  config.window_tokens = 3000;
  StreamSession session(config);
  OpenAIChat chat;
  ReadTurn(&chat);
  std::string out = Rewrite(session, chat.Body(Tools(kReadFile)));
  EXPECT_EQ(session.Stats().pressure, "none");
  const size_t recall = out.find(R"("name":"vmllm_recall")");
  ASSERT_NE(recall, std::string::npos);
  EXPECT_GT(recall, out.find(R"("name":"read_file")"));
  EXPECT_EQ(out.find("vmllm_release"), std::string::npos);
  // Advisory pressure: release and compact join, after recall.
  chat.User("big");
  chat.Result(chat.Call("read_file", R"({"path":"big"})"), Big("big", 300));
  RewriteReport report;
  out = Rewrite(session, chat.Body(Tools(kReadFile)), &report);
  EXPECT_NE(session.Stats().pressure, "none");
  EXPECT_LT(out.find(R"("name":"vmllm_recall")"), out.find(R"("name":"vmllm_release")"));
  EXPECT_LT(out.find(R"("name":"vmllm_release")"), out.find(R"("name":"vmllm_compact")"));
  EXPECT_EQ(report.first_changed_message, 0u);
  const std::string tools_offered = out.substr(out.find(R"("tools":)"));
  // Pressure gone (the client cut its history): the tools array stays as it was.
  OpenAIChat shorter;
  ReadTurn(&shorter);
  ReadTurn(&shorter);
  ReadTurn(&shorter);
  out = Rewrite(session, shorter.Body(Tools(kReadFile)));
  EXPECT_EQ(session.Stats().pressure, "none");
  EXPECT_EQ(out.substr(out.find(R"("tools":)")), tools_offered);
}

TEST(StreamSchemas, SchemaStateIsSavedAndAnOlderStateWithoutItStillLoads) {
  auto conversation = [](const std::string& body) {
    return (*ParseWireRequest(WireFormat::kOpenAI, body))->conversation();
  };
  StreamPolicy policy(IdleTurns(2));
  OpenAIChat chat;
  const std::string tools = Tools(kReadFile, kGrep);
  ReadTurn(&chat);
  policy.Plan(conversation(chat.Body(tools)), nullptr);
  ReadTurn(&chat);
  ReadTurn(&chat);
  const std::string saved = policy.SaveState();
  EXPECT_EQ(policy.Plan(conversation(chat.Body(tools)), nullptr).tool_stub.size(), 1u);

  StreamPolicy resumed(IdleTurns(2));
  ASSERT_TRUE(resumed.LoadState(saved).ok());
  EXPECT_EQ(resumed.Plan(conversation(chat.Body(tools)), nullptr).tool_stub.size(), 1u);

  nlohmann::json older = nlohmann::json::parse(saved);
  older.erase("schemas");
  StreamPolicy upgraded(IdleTurns(2));
  ASSERT_TRUE(upgraded.LoadState(older.dump()).ok());
  // Without a record of what the model saw, every schema goes up whole once more.
  EXPECT_TRUE(upgraded.Plan(conversation(chat.Body(tools)), nullptr).tool_stub.empty());
}

}  // namespace
}  // namespace vmllm
