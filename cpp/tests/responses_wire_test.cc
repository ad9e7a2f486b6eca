// The OpenAI Responses adapter (chat/wire_responses.h) and stream sessions over it: items to
// the message model and back, byte for byte where nothing is edited; stubs, follow-up, replay,
// and malformed input.
#include "chat/wire.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "chat/tool_registry.h"
#include "testing/openai_chat.h"
#include "testing/stream_configs.h"
#include "vmllm/replay.h"
#include "vmllm/stream.h"

namespace vmllm {
namespace {

constexpr WireFormat kResponses = WireFormat::kOpenAIResponses;

// Every kind of item in one request: a developer message, a user message in parts, a model
// response (reasoning and a call), its output, a custom tool's call and output (Codex's
// apply_patch), a built-in tool's item, the model's text and a user message without "type".
constexpr char kRequest[] =
    R"({"model":"gpt-5","instructions":"You are an agent.","store":false,)"
    R"("tools":[{"type":"web_search"},{"type":"function","name":"read_file","description":"Read a file.\nLong.",)"
    R"("parameters":{"type":"object","properties":{"path":{"type":"string"}}},"strict":false},)"
    R"({"type":"custom","name":"apply_patch","description":"Apply a patch."}],)"
    R"("tool_choice":{"type":"function","name":"read_file"},)"
    R"("input":[{"role":"developer","content":"Be brief."},)"
    R"({"type":"message","role":"user","content":[{"type":"input_text","text":"read a.py"}]},)"
    R"({"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAAAB=="},)"
    R"({"type":"function_call","id":"fc_1","call_id":"c1","name":"read_file","arguments":"{\"path\":\"a.py\"}"},)"
    R"({"type":"function_call_output","call_id":"c1","output":"print 1"},)"
    R"({"type":"custom_tool_call","call_id":"c2","name":"apply_patch","input":"*** Begin Patch"},)"
    R"({"type":"custom_tool_call_output","call_id":"c2","output":[{"type":"input_text","text":"Done"}]},)"
    R"({"type":"web_search_call","id":"ws_1","status":"completed","action":{"query":"x"}},)"
    R"({"type":"message","role":"assistant","content":[{"type":"output_text","text":"ok","annotations":[]}]},)"
    R"({"role":"user","content":"thanks"}]})";

std::unique_ptr<WireRequest> MustParse(const std::string& body) {
  auto parsed = ParseWireRequest(kResponses, body);
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  return parsed.ok() ? std::move(parsed).value() : nullptr;
}

// A Responses conversation built turn by turn: a user message, a model response (reasoning and
// one call), the call's output.
struct ResponsesChat {
  std::vector<std::string> items;
  int next_id = 0;
  void User(const std::string& text) {
    items.push_back(R"({"type":"message","role":"user","content":[{"type":"input_text","text":)" +
                    Quote(text) + "}]}");
  }
  std::string Call(const std::string& tool, const std::string& args_json) {
    const std::string n = std::to_string(next_id++);
    items.push_back(R"({"type":"reasoning","id":"rs_)" + n +
                    R"(","summary":[],"encrypted_content":"enc)" + n + R"("})");
    items.push_back(R"({"type":"function_call","id":"fc_)" + n + R"(","call_id":"call_)" + n +
                    R"(","name":")" + tool + R"(","arguments":)" + Quote(args_json) + "}");
    return "call_" + n;
  }
  void Output(const std::string& id, const std::string& text) {
    items.push_back(R"({"type":"function_call_output","call_id":")" + id + R"(","output":)" +
                    Quote(text) + "}");
  }
  std::string Body() const {
    std::string body = R"({"model":"gpt-5","instructions":"You are an agent.","input":[)";
    for (size_t i = 0; i < items.size(); ++i) body += (i ? "," : "") + items[i];
    return body + "]}";
  }
};

ResponsesChat SixReads() {
  ResponsesChat chat;
  for (int t = 0; t < 6; ++t) {
    chat.User("step " + std::to_string(t));
    std::string id = chat.Call("read_file", R"({"path":"src/f)" + std::to_string(t) + R"(.py"})");
    chat.Output(id, Big("f" + std::to_string(t)));
  }
  return chat;
}

TEST(ResponsesWire, ItemsParseIntoTheMessageModel) {
  auto request = MustParse(kRequest);
  ASSERT_TRUE(request);
  const Conversation& conv = request->conversation();
  EXPECT_EQ(conv.system, "You are an agent.");
  EXPECT_EQ(conv.forced_tool, "read_file");
  ASSERT_EQ(conv.tools.size(), 1u);  // Built-in and custom tools are not pages.
  EXPECT_EQ(conv.tools[0].name, "read_file");
  EXPECT_EQ(conv.wire_messages, 10u);
  // developer, user, response(reasoning + call), output, response(custom call), output,
  // response(text: the web search item does not break the run), user.
  ASSERT_EQ(conv.msgs.size(), 8u);
  EXPECT_EQ(conv.msgs[0].kind, Msg::kSystem);
  EXPECT_EQ(conv.msgs[1].text, "read a.py");
  EXPECT_EQ(conv.msgs[2].kind, Msg::kAssistant);
  EXPECT_EQ(conv.msgs[2].wire_message, 2u);  // The run starts at its reasoning item.
  ASSERT_EQ(conv.msgs[2].calls.size(), 1u);
  EXPECT_EQ(conv.msgs[2].calls[0].id, "c1");
  EXPECT_EQ(conv.msgs[2].calls[0].arguments, R"({"path":"a.py"})");
  EXPECT_EQ(conv.msgs[3].kind, Msg::kToolResult);
  EXPECT_EQ(conv.msgs[3].tool_call_id, "c1");
  EXPECT_EQ(conv.msgs[3].text, "print 1");
  EXPECT_EQ(conv.msgs[4].calls[0].name, "apply_patch");
  EXPECT_EQ(conv.msgs[4].calls[0].arguments, "*** Begin Patch");
  EXPECT_EQ(conv.msgs[5].text, "Done");
  EXPECT_EQ(conv.msgs[6].kind, Msg::kAssistant);
  EXPECT_EQ(conv.msgs[6].text, "ok");
  EXPECT_EQ(conv.msgs[7].kind, Msg::kUser);
}

TEST(ResponsesWire, AStringInputIsOneUserMessage) {
  auto request = MustParse(R"({"model":"m","input":"hello","tools":[{"type":"file_search"}]})");
  ASSERT_TRUE(request);
  ASSERT_EQ(request->conversation().msgs.size(), 1u);
  EXPECT_EQ(request->conversation().msgs[0].text, "hello");
  EXPECT_EQ(request->Render(Edits{}), R"({"model":"m","input":"hello","tools":[{"type":"file_search"}]})");
}

TEST(ResponsesWire, AnUneditedRequestRendersByteForByte) {
  auto request = MustParse(kRequest);
  ASSERT_TRUE(request);
  EXPECT_EQ(request->Render(Edits{}), kRequest);
}

TEST(ResponsesWire, EditsTouchOnlyOutputsFunctionToolsAndTheEnd) {
  auto request = MustParse(kRequest);
  ASSERT_TRUE(request);
  Edits edits;
  edits.result_text[3] = "[stub]";
  edits.tool_stub[0] = ToolSchema{"read_file", "Read a file.", 0, ""};
  edits.add_tools.push_back(AsToolSchema(*FindTool(ToolSet::kStreamMemory, kStreamRecallTool)));
  const std::string out = request->Render(edits);
  EXPECT_NE(out.find(R"({"type":"function_call_output","call_id":"c1","output":"[stub]"})"),
            std::string::npos) << out;
  // The stub sits where the function tool was, after the built-in tool, flat and not strict.
  EXPECT_NE(out.find(R"("tools":[{"type":"web_search"},{"type":"function","name":"read_file",)"
                     R"("description":"Read a file.","parameters":{"type":"object","properties":{}},)"
                     R"("strict":false},{"type":"custom",)"),
            std::string::npos) << out;
  EXPECT_NE(out.find(R"({"type":"function","name":"vmllm_recall")"), std::string::npos);
  // Reasoning and everything else as sent.
  EXPECT_NE(out.find(R"({"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAAAB=="})"),
            std::string::npos);
  EXPECT_NE(out.find(R"("output":[{"type":"input_text","text":"Done"}])"), std::string::npos);
}

TEST(ResponsesWire, MalformedRequestsAreInvalidArgument) {
  const std::vector<std::string> bad = {
      "", "[]", R"({"model":"m"})", R"({"input":5})", R"({"input":[]})", R"({"input":[1]})",
      R"({"input":[{"content":"no role or type"}]})",
      R"({"input":[{"type":"message","content":"x"}]})",
      R"({"input":[{"role":"tool","content":"x"}]})",
      R"({"input":[{"role":"user","content":5}]})",
      R"({"input":[{"type":"function_call","name":"f","arguments":"{}"}]})",
      R"({"input":[{"type":"function_call","call_id":"c","arguments":"{}"}]})",
      R"({"input":[{"type":"function_call_output","output":"x"}]})",
      R"({"input":[{"type":"function_call_output","call_id":"c","output":7}]})",
      R"({"input":"hi","tools":{}})", R"({"input":"hi","tools":[{"name":"f"}]})",
      R"({"input":"hi","tools":[{"type":"function"}]})", R"({"input":"hi","instructions":5})",
      "{\"input\":\"\xff\"}"};
  for (const std::string& body : bad) {
    auto parsed = ParseWireRequest(kResponses, body);
    ASSERT_FALSE(parsed.ok()) << body;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << body;
  }
}

TEST(ResponsesWire, ResponseCallsIncludeEveryCallTheClientMustSee) {
  auto calls = ParseResponseCalls(kResponses, R"({"output":[
      {"type":"reasoning","id":"rs","summary":[]},
      {"type":"function_call","id":"fc","call_id":"r1","name":"vmllm_recall","arguments":"{\"page_ids\":[\"p-1\"]}"},
      {"type":"custom_tool_call","call_id":"r2","name":"apply_patch","input":"patch"},
      {"type":"local_shell_call","call_id":"r3","action":{}},
      {"type":"message","role":"assistant","content":[]}]})");
  ASSERT_TRUE(calls.ok());
  ASSERT_EQ(calls->size(), 3u);
  EXPECT_EQ((*calls)[0].id, "r1");
  EXPECT_EQ((*calls)[0].name, "vmllm_recall");
  EXPECT_EQ((*calls)[1].name, "apply_patch");
  EXPECT_EQ((*calls)[2].name, "local_shell_call");
  EXPECT_FALSE(ParseResponseCalls(kResponses, R"({"output":[5]})").ok());
  EXPECT_FALSE(ParseResponseCalls(kResponses, "[").ok());
  EXPECT_TRUE(ParseResponseCalls(kResponses, R"({"output":"x"})")->empty());
}

TEST(ResponsesWire, ToolExchangeAppendsOutputItemsThenOneOutputPerResult) {
  const std::string response =
      R"({"id":"resp_1","output":[{"type":"reasoning","id":"rs_9","summary":[],"encrypted_content":"e9"},)"
      R"({"type":"function_call","id":"fc_9","call_id":"r1","name":"vmllm_recall","arguments":"{}"}]})";
  auto out = AppendToolExchange(kResponses, R"({"model":"m","input":"hi"})", response,
                                {{"r1", "[restored]"}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out,
            R"({"model":"m","input":[{"role":"user","content":"hi"},)"
            R"({"type":"reasoning","id":"rs_9","summary":[],"encrypted_content":"e9"},)"
            R"({"type":"function_call","id":"fc_9","call_id":"r1","name":"vmllm_recall","arguments":"{}"},)"
            R"({"type":"function_call_output","call_id":"r1","output":"[restored]"}]})");
  EXPECT_FALSE(AppendToolExchange(kResponses, R"({"model":"m"})", response, {}).ok());
  EXPECT_FALSE(AppendToolExchange(kResponses, R"({"input":"hi"})", R"({"output":5})", {}).ok());
}

TEST(ResponsesWire, ToolSchemasComeInTheFlatShape) {
  const std::string schemas = ToolSchemasJson(ToolSet::kStreamMemory, kResponses);
  EXPECT_EQ(schemas.rfind(R"([{"type":"function","name":"vmllm_recall","description":)", 0), 0u)
      << schemas;
  EXPECT_NE(schemas.find(R"("strict":false)"), std::string::npos);
}

TEST(ResponsesStream, StaleOutputsBecomeStableStubsAndReasoningStaysIntact) {
  StreamSession session{Eager4()};  // τ = 4 model responses.
  ResponsesChat chat = SixReads();
  auto first = session.Rewrite(kResponses, chat.Body());
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(Count(*first, "[vmllm: paged out p-"), 2u);  // Responses 1 and 2 are 4+ turns old.
  EXPECT_NE(first->find("read_file src/f0.py, 910 bytes"), std::string::npos) << *first;
  EXPECT_NE(first->find("f5 line 3 of"), std::string::npos);
  for (int n = 0; n < 6; ++n) {
    const std::string rs = "enc" + std::to_string(n);
    EXPECT_NE(first->find(R"("encrypted_content":")" + rs + "\"}"), std::string::npos) << rs;
  }
  EXPECT_NE(first->find(R"({"type":"function","name":"vmllm_recall")"), std::string::npos);
  EXPECT_EQ(session.Stats().turns, 6u);
  // The next request keeps the same stub bytes.
  const size_t a = first->find("[vmllm: paged out");
  const std::string stub = first->substr(a, first->find(']', a) - a + 1);
  chat.User("more");
  chat.Output(chat.Call("read_file", R"({"path":"g"})"), Big("g"));
  auto second = session.Rewrite(kResponses, chat.Body());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->substr(0, a + stub.size()), first->substr(0, a + stub.size()));
}

TEST(ResponsesStream, FollowUpServesARecallAndKeepsReasoningWithItsCall) {
  StreamSession session;
  ResponsesChat chat = SixReads();
  auto rewritten = session.Rewrite(kResponses, chat.Body());
  ASSERT_TRUE(rewritten.ok());
  const std::string page = rewritten->substr(rewritten->find("paged out p-") + 10, 18);
  const std::string response =
      R"({"output":[{"type":"reasoning","id":"rs_r","summary":[],"encrypted_content":"why"},)"
      R"({"type":"function_call","id":"fc_r","call_id":"r1","name":"vmllm_recall","arguments":"{\"page_ids\":[\")" +
      page + R"(\"]}","status":"completed"}]})";
  std::string extended, follow;
  ASSERT_TRUE(session.FollowUp(kResponses, chat.Body(), response, &extended, &follow).ok());
  EXPECT_NE(follow.find("f0 line 39"), std::string::npos);  // Restored in place.
  EXPECT_NE(follow.find(R"({"type":"reasoning","id":"rs_r","summary":[],"encrypted_content":"why"},)"
                        R"({"type":"function_call","id":"fc_r","call_id":"r1")"),
            std::string::npos) << follow;
  EXPECT_NE(follow.find(R"({"type":"function_call_output","call_id":"r1","output":"[vmllm: restored)"),
            std::string::npos);
  EXPECT_EQ(session.Stats().recall_faults, 1u);
  // A client tool in the same response: the client must see it.
  const std::string mixed =
      R"({"output":[{"type":"function_call","call_id":"r2","name":"vmllm_recall","arguments":"{}"},)"
      R"({"type":"custom_tool_call","call_id":"r3","name":"apply_patch","input":"p"}]})";
  ASSERT_TRUE(session.FollowUp(kResponses, chat.Body(), mixed, &extended, &follow).ok());
  EXPECT_EQ(follow, "");
}

TEST(ResponsesStream, CompactionFoldsWholeResponses) {
  StreamSession session;
  ResponsesChat chat = SixReads();
  chat.Output(chat.Call("vmllm_compact", R"({"from_turn":1,"to_turn":3,"summary":"read f0-f2"})"), "?");
  auto out = session.Rewrite(kResponses, chat.Body());
  ASSERT_TRUE(out.ok());
  EXPECT_NE(out->find(R"({"type":"message","role":"user","content":"[vmllm: turns 1-3 compacted)"),
            std::string::npos) << *out;
  EXPECT_EQ(out->find("call_1"), std::string::npos);  // Calls went with their outputs.
  EXPECT_EQ(out->find("enc2"), std::string::npos);    // And with their reasoning.
  EXPECT_NE(out->find("call_3"), std::string::npos);
}

TEST(ResponsesStream, ReplayCountsModelResponsesAsTurns) {
  ReplayOptions options;
  auto result = ReplayTrace(kResponses, SixReads().Body(), options);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->turns, 6u);
  EXPECT_EQ(result->tool_results, 6u);
  EXPECT_GT(result->evictions, 0u);
  EXPECT_LT(result->bytes_paged, result->bytes_full);
}

}  // namespace
}  // namespace vmllm
