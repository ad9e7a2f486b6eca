// The span scanner (util/json_spans.h) and the incremental wire parser (chat/wire.h): a request
// is cut at the right bytes, what the client sent goes upstream byte for byte where nothing is
// edited, and a growing conversation parses the same whether or not the parser remembers it.
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/wire.h"
#include "util/json_spans.h"

namespace vmllm {
namespace {

TEST(JsonSpans, StringEndSkipsEscapedQuotesAndStopsAfterEscapedBackslashes) {
  const std::string text = R"("a\"b\\" , "c")";
  EXPECT_EQ(json_spans::StringEnd(text, 0), 8u);
  EXPECT_EQ(json_spans::StringEnd(R"("never closed\")", 0), std::string_view::npos);
}

TEST(JsonSpans, ObjectMembersFindEveryValueAndTheEnd) {
  const std::string text = R"( {"a": [1, {"b": "]}"}], "c" : "x\"y", "d":true} )";
  size_t end = 0;
  auto members = json_spans::ObjectMembers(text, 1, 128, 0, &end);
  ASSERT_TRUE(members.ok()) << members.status().message();
  ASSERT_EQ(members->size(), 3u);
  EXPECT_EQ((*members)[0].key, "a");
  EXPECT_EQ(text.substr((*members)[0].value.begin, (*members)[0].value.size()),
            R"([1, {"b": "]}"}])");
  EXPECT_EQ(text.substr((*members)[1].value.begin, (*members)[1].value.size()), R"("x\"y")");
  EXPECT_EQ(text.substr((*members)[2].value.begin, (*members)[2].value.size()), "true");
  EXPECT_EQ(end, text.size() - 1);
}

TEST(JsonSpans, RefusesBrokenStructureAndDepthPastTheLimit) {
  size_t end = 0;
  for (const std::string bad : {R"({"a": [1, 2})", R"({"a" 1})", R"({"a": 1,})", R"({"a": "x)",
                                R"([1 2])", R"({"a": ]})"}) {
    auto members = json_spans::ObjectMembers(bad, 0, 128, 0, &end);
    auto elements = json_spans::ArrayElements(bad, 0, 128, 0, &end);
    EXPECT_FALSE(members.ok() && elements.ok()) << bad;
  }
  const std::string deep = std::string(200, '[') + std::string(200, ']');
  auto elements = json_spans::ArrayElements(deep, 0, 128, 0, &end);
  ASSERT_FALSE(elements.ok());
  EXPECT_NE(elements.status().message().find("the limit is 128"), std::string::npos);
}

// An OpenAI conversation of `turns` read_file exchanges, with a tool list after the messages.
std::string History(int turns, const std::string& spacing = "") {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  messages.push_back({{"role", "user"}, {"content", "fix it \xc3\xa9 \"quoted\""}});
  for (int t = 0; t < turns; ++t) {
    const std::string id = "c" + std::to_string(t);
    messages.push_back({{"role", "assistant"}, {"content", nullptr},
                        {"tool_calls", {{{"id", id}, {"type", "function"},
                                         {"function", {{"name", "read_file"},
                                                       {"arguments", "{\"path\":\"f" +
                                                                         std::to_string(t) +
                                                                         "\"}"}}}}}}});
    messages.push_back({{"role", "tool"}, {"tool_call_id", id},
                        {"content", std::string(600, 'a' + t % 26)}});
  }
  nlohmann::ordered_json body = {{"model", "m"}, {"messages", messages}};
  body["tools"] = {{{"type", "function"},
                    {"function", {{"name", "read_file"}, {"description", "Read."},
                                  {"parameters", {{"type", "object"}}}}}}};
  return spacing.empty() ? body.dump() : body.dump(2);
}

TEST(WireParser, UneditedRequestGoesOutByteForByte) {
  for (const std::string& body : {History(3), History(3, "pretty")}) {
    auto parsed = ParseWireRequest(WireFormat::kOpenAI, body);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ((*parsed)->Render(Edits{}), body);
  }
}

TEST(WireParser, EditsChangeOnlyTheirItemsAndAddToolsAsTheLastMember) {
  const std::string body = History(3, "pretty");
  auto parsed = ParseWireRequest(WireFormat::kOpenAI, body);
  ASSERT_TRUE(parsed.ok());
  const Conversation& conv = (*parsed)->conversation();
  ASSERT_EQ(conv.msgs[2].kind, Msg::kToolResult);
  Edits edits;
  edits.result_text[2] = "STUB";
  edits.add_tools.push_back(ToolSchema{"vmllm_recall", "Recall.", 0, R"({"type":"object"})"});
  const std::string out = (*parsed)->Render(edits);
  auto doc = nlohmann::json::parse(out);
  EXPECT_EQ(doc["messages"][2]["content"], "STUB");
  EXPECT_EQ(doc["messages"][4]["content"], std::string(600, 'b'));
  EXPECT_EQ(doc["tools"].size(), 2u);
  EXPECT_EQ(doc["tools"][1]["function"]["name"], "vmllm_recall");
  // The untouched pretty-printed messages keep their bytes.
  const std::string tail_item = body.substr(body.find("\"c2\""), 200);
  EXPECT_NE(out.find(tail_item), std::string::npos);
}

TEST(WireParser, GrowingConversationParsesAndRendersAsAFreshParseDoes) {
  WireParser parser;
  std::mt19937 rng(7);
  for (int turns = 1; turns <= 12; ++turns) {
    const std::string body = History(turns);
    auto incremental = parser.Parse(WireFormat::kOpenAI, body);
    auto fresh = ParseWireRequest(WireFormat::kOpenAI, body);
    ASSERT_TRUE(incremental.ok() && fresh.ok());
    const Conversation& a = (*incremental)->conversation();
    const Conversation& b = (*fresh)->conversation();
    ASSERT_EQ(a.msgs.size(), b.msgs.size());
    for (size_t i = 0; i < a.msgs.size(); ++i) {
      EXPECT_EQ(a.msgs[i].text, b.msgs[i].text);
      EXPECT_EQ(a.msgs[i].wire_message, b.msgs[i].wire_message);
      EXPECT_EQ(a.msgs[i].calls.size(), b.msgs[i].calls.size());
    }
    Edits edits;  // A random set of stubs, as a policy would pick.
    for (size_t i = 0; i < a.msgs.size(); ++i) {
      if (a.msgs[i].kind == Msg::kToolResult && rng() % 2) edits.result_text[i] = "S" + std::to_string(i);
    }
    EXPECT_EQ((*incremental)->Render(edits), (*fresh)->Render(edits)) << turns;
  }
}

TEST(WireParser, AChangedEarlyItemIsParsedAgain) {
  WireParser parser;
  std::string body = History(4);
  ASSERT_TRUE(parser.Parse(WireFormat::kOpenAI, body).ok());
  const size_t at = body.find(std::string(600, 'a'));
  body.replace(at, 600, std::string(600, 'z'));
  auto parsed = parser.Parse(WireFormat::kOpenAI, body);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)->conversation().msgs[2].text, std::string(600, 'z'));
}

TEST(WireParser, RefusesWhatAWholeParseRefuses) {
  WireParser parser;
  ASSERT_TRUE(parser.Parse(WireFormat::kOpenAI, History(2)).ok());
  for (const std::string bad :
       {std::string("[]"), std::string(R"({"messages": 5})"), std::string(R"({"messages": []})"),
        std::string(R"({"messages": [{"role": "user", "content": "x"}]} trailing)"),
        std::string(R"({"messages": [{"role": "user", "content": "x"}], "messages": []})"),
        std::string(R"({"messages": [{"role": "user", "content": tru}]})"),
        History(2).substr(0, History(2).size() - 3)}) {
    auto parsed = parser.Parse(WireFormat::kOpenAI, bad);
    EXPECT_FALSE(parsed.ok()) << bad.substr(0, 80);
    if (!parsed.ok()) EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  }
  // A refused request leaves the parser able to reuse the last good one.
  EXPECT_TRUE(parser.Parse(WireFormat::kOpenAI, History(3)).ok());
}

TEST(RequestHead, NamesTheConversationByItsOpeningAndIgnoresWhatGrows) {
  auto two = ReadRequestHead(WireFormat::kOpenAI, History(2));
  auto nine = ReadRequestHead(WireFormat::kOpenAI, History(9, "pretty"));
  ASSERT_TRUE(two.ok() && nine.ok());
  EXPECT_NE(two->identity, nine->identity);  // Pretty-printed: other bytes, another head.
  auto five = ReadRequestHead(WireFormat::kOpenAI, History(5));
  ASSERT_TRUE(five.ok());
  EXPECT_EQ(two->identity, five->identity);  // Same model and first two messages.
  EXPECT_FALSE(two->upstream_history);
  auto other_model = ReadRequestHead(
      WireFormat::kOpenAI, R"({"model":"m2","messages":[{"role":"user","content":"hi"}]})");
  auto model = ReadRequestHead(
      WireFormat::kOpenAI, R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(other_model.ok() && model.ok());
  EXPECT_NE(other_model->identity, model->identity);
  auto continued = ReadRequestHead(
      WireFormat::kOpenAIResponses, R"({"model":"m","input":"go on","previous_response_id":"r1"})");
  ASSERT_TRUE(continued.ok());
  EXPECT_TRUE(continued->upstream_history);
  EXPECT_FALSE(ReadRequestHead(WireFormat::kOpenAI, R"({"messages": [)").ok());
  auto deep = ReadRequestHead(WireFormat::kOpenAI, std::string(500, '[') + std::string(500, ']'));
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("the limit is 128"), std::string::npos);
}

}  // namespace
}  // namespace vmllm
