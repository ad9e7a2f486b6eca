// The chat layer's parsers (chat/wire.h, chat/arguments.h): the same exchange in the OpenAI
// and the Anthropic shape parses to the same message model, whichever door it comes in by.
#include "chat/wire.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "chat/arguments.h"

namespace vmllm {
namespace {

// One exchange: the user asks, the assistant calls read_file, the tool answers.
constexpr char kOpenAIRequest[] = R"({"model":"m","messages":[
  {"role":"user","content":"read it"},
  {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
    "function":{"name":"read_file","arguments":"{\"path\":\"a.py\",\"lines\":20}"}}]},
  {"role":"tool","tool_call_id":"c1","content":"print 1"}]})";
constexpr char kAnthropicRequest[] = R"({"model":"m","messages":[
  {"role":"user","content":"read it"},
  {"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"read_file",
    "input":{"lines":20,"path":"a.py"}}]},
  {"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"print 1"}]}]})";

Conversation Parse(WireFormat wire, const std::string& body) {
  auto parsed = ParseWireRequest(wire, body);
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  return parsed.ok() ? (*parsed)->conversation() : Conversation{};
}

TEST(ChatWire, BothFormatsParseToTheSameConversation) {
  Conversation openai = Parse(WireFormat::kOpenAI, kOpenAIRequest);
  Conversation anthropic = Parse(WireFormat::kAnthropic, kAnthropicRequest);
  ASSERT_EQ(openai.msgs.size(), 3u);
  ASSERT_EQ(anthropic.msgs.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const Msg& o = openai.msgs[i];
    const Msg& a = anthropic.msgs[i];
    EXPECT_EQ(o.kind, a.kind) << i;
    EXPECT_EQ(o.text, a.text) << i;
    EXPECT_EQ(o.tool_call_id, a.tool_call_id) << i;
    ASSERT_EQ(o.calls.size(), a.calls.size()) << i;
    for (size_t c = 0; c < o.calls.size(); ++c) {
      EXPECT_EQ(o.calls[c].id, a.calls[c].id);
      EXPECT_EQ(o.calls[c].name, a.calls[c].name);
      // The text differs (a string vs an object); the canonical form does not.
      EXPECT_EQ(CanonicalArguments(o.calls[c].arguments), CanonicalArguments(a.calls[c].arguments));
    }
  }
  EXPECT_EQ(openai.msgs[1].calls[0].name, "read_file");
  EXPECT_EQ(CanonicalArguments(openai.msgs[1].calls[0].arguments).second, "a.py");
  EXPECT_EQ(openai.msgs[2].kind, Msg::kToolResult);
}

TEST(ChatWire, BothFormatsParseResponseCallsAlike) {
  auto openai = ParseResponseCalls(WireFormat::kOpenAI, R"({"choices":[{"message":{
      "role":"assistant","content":null,"tool_calls":[{"id":"r1","type":"function",
      "function":{"name":"vmllm_recall","arguments":"{\"page_ids\":[\"p-1\"]}"}}]}}]})");
  auto anthropic = ParseResponseCalls(WireFormat::kAnthropic, R"({"role":"assistant","content":[
      {"type":"text","text":"let me look"},
      {"type":"tool_use","id":"r1","name":"vmllm_recall","input":{"page_ids":["p-1"]}}]})");
  ASSERT_TRUE(openai.ok() && anthropic.ok());
  ASSERT_EQ(openai->size(), 1u);
  ASSERT_EQ(anthropic->size(), 1u);
  for (const std::vector<ToolCall>* calls : {&*openai, &*anthropic}) {
    EXPECT_EQ((*calls)[0].id, "r1");
    EXPECT_EQ((*calls)[0].name, "vmllm_recall");
    EXPECT_EQ(StringListArgument((*calls)[0].arguments, "page_ids"), std::vector<std::string>{"p-1"});
  }
}

TEST(ChatWire, MissingArgumentsAreAnEmptyObjectInBothFormats) {
  Conversation openai = Parse(WireFormat::kOpenAI, R"({"messages":[{"role":"assistant",
      "tool_calls":[{"id":"c","function":{"name":"ls","arguments":null}}]}]})");
  Conversation anthropic = Parse(WireFormat::kAnthropic, R"({"messages":[{"role":"assistant",
      "content":[{"type":"tool_use","id":"c","name":"ls"}]}]})");
  EXPECT_EQ(openai.msgs[0].calls[0].arguments, "{}");
  EXPECT_EQ(anthropic.msgs[0].calls[0].arguments, "{}");
}

TEST(ChatToolCall, OpenAIAndAnthropicShapesParseToTheSameCall) {
  const char* shapes[] = {
      R"({"id":"c7","type":"function","function":{"name":"archival_memory_search",
          "arguments":"{\"query\":\"tea\",\"page\":2}"}})",
      R"({"type":"tool_use","id":"c7","name":"archival_memory_search",
          "input":{"page":2,"query":"tea"}})",
      R"({"id":"c7","name":"archival_memory_search","arguments":{"query":"tea","page":2}})",
  };
  for (const char* shape : shapes) {
    auto call = ParseToolCall(shape);
    ASSERT_TRUE(call.ok()) << shape;
    EXPECT_EQ(call->id, "c7");
    EXPECT_EQ(call->name, "archival_memory_search");
    EXPECT_TRUE(call->error.empty()) << call->error;
    ASSERT_EQ(call->args.size(), 2u);
    EXPECT_EQ(call->args.at("query").text, "tea");
    EXPECT_EQ(call->args.at("page").type, ArgValue::Type::kInteger);
    EXPECT_EQ(call->args.at("page").integer, 2);
  }
}

TEST(ChatToolCall, BadArgumentsKeepTheCallAndNameTheProblem) {
  auto not_json = ParseToolCall(R"({"id":"c","function":{"name":"f","arguments":"{oops"}})");
  ASSERT_TRUE(not_json.ok());
  EXPECT_EQ(not_json->id, "c");
  EXPECT_EQ(not_json->error, "the arguments are not valid JSON");
  auto not_object = ParseToolCall(R"({"name":"f","input":[1,2]})");
  ASSERT_TRUE(not_object.ok());
  EXPECT_EQ(not_object->error, "the arguments must be a JSON object");
  auto blank = ParseToolCall(R"({"name":"f","arguments":"  "})");
  ASSERT_TRUE(blank.ok());
  EXPECT_TRUE(blank->error.empty());
  EXPECT_TRUE(blank->args.empty());
  EXPECT_EQ(ParseToolCall(R"({"function":{"arguments":"{}"}})").status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vmllm
