#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "memory_test_util.h"
#include "testing/fake_clock.h"
#include "testing/temp_dir.h"
#include "vmllm/conversation_memory.h"

namespace vmllm {
namespace {

using nlohmann::json;
using namespace testing_json;  // NOLINT

class MemoryToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ConversationMemoryOptions o;
    o.path = dir_.path();
    o.window_tokens = 4000;
    o.clock = &clock_;
    o.blocks = {{"", "human", "Name: Ada", 40, "about the user", false},
                {"", "persona", "I am a careful assistant.", 200, "", true}};
    auto m = ConversationMemory::Open(std::move(o));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    mem_ = std::move(m).value();
  }

  // Appends the assistant's call, runs it (appending the result) and returns the outcome.
  ToolOutcome Call(const std::string& name, const json& args) {
    std::string id = "call_" + std::to_string(next_++);
    json call = CallJson(id, name, args);
    EXPECT_TRUE(mem_->Append(AssistantCalls(json::array({call}))).ok());
    auto out = mem_->Execute(call.dump(), true);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_TRUE(out->appended);
    return out.ok() ? *out : ToolOutcome{};
  }

  std::string Value(const std::string& label) {
    std::vector<MemoryBlock> blocks = *mem_->Blocks();
    for (const MemoryBlock& b : blocks) {
      if (b.label == label) return b.value;
    }
    return "<missing>";
  }

  TempDir dir_;
  FakeClock clock_{1.7e9};
  std::unique_ptr<ConversationMemory> mem_;
  int next_ = 0;
};

TEST_F(MemoryToolsTest, SchemasListTheSixToolsInBothFormats) {
  const std::set<std::string> expected = {"core_memory_append", "core_memory_replace",
                                          "archival_memory_insert", "archival_memory_search",
                                          "conversation_search", "conversation_search_date"};
  json openai = json::parse(*mem_->ToolSchemas("openai"));
  json anthropic = json::parse(*mem_->ToolSchemas("anthropic"));
  std::set<std::string> a, b;
  for (const json& t : openai) {
    EXPECT_EQ(t["type"], "function");
    EXPECT_EQ(t["function"]["parameters"]["type"], "object");
    EXPECT_TRUE(t["function"]["parameters"]["properties"].contains("request_heartbeat"));
    a.insert(t["function"]["name"].get<std::string>());
  }
  for (const json& t : anthropic) {
    EXPECT_EQ(t["input_schema"]["type"], "object");
    b.insert(t["name"].get<std::string>());
  }
  EXPECT_EQ(a, expected);
  EXPECT_EQ(b, expected);
  EXPECT_EQ(mem_->ToolSchemas("gemini").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(MemoryToolsTest, EditsBlocksByAppendAndReplace) {
  ToolOutcome out = Call("core_memory_append", {{"label", "human"}, {"content", "Likes tea."}});
  EXPECT_TRUE(out.ok) << out.content;
  EXPECT_EQ(Value("human"), "Name: Ada\nLikes tea.");
  out = Call("core_memory_replace",
             {{"label", "human"}, {"old_content", "tea"}, {"new_content", "green tea"}});
  EXPECT_TRUE(out.ok) << out.content;
  EXPECT_EQ(Value("human"), "Name: Ada\nLikes green tea.");
  EXPECT_FALSE(out.heartbeat);
  EXPECT_EQ(json::parse(out.content)["status"], "OK");
}

TEST_F(MemoryToolsTest, FailingCallsComeBackAsToolResultsAndTheConversationGoesOn) {
  struct Case {
    std::string name;
    json args;
    std::string says;
  } cases[] = {
      {"core_memory_append", {{"content", "x"}}, "missing required argument 'label'"},
      {"core_memory_append", {{"label", "pet"}, {"content", "x"}},
       "no memory block labelled 'pet'"},
      {"core_memory_append", {{"label", "persona"}, {"content", "x"}}, "read-only"},
      {"core_memory_append", {{"label", "human"}, {"content", std::string(40, 'z')}},
       "limit is 40"},
      {"core_memory_append", {{"label", 7}, {"content", "x"}}, "must be a string"},
      {"core_memory_replace", {{"label", "human"}, {"old_content", "Bob"}, {"new_content", "x"}},
       "does not occur"},
      {"archival_memory_insert", {{"content", "   "}}, "needs some text"},
      {"archival_memory_search", {{"query", "x"}, {"page", -1}}, "non-negative integer"},
      {"conversation_search_date", {{"start_date", "yesterday"}, {"end_date", "2024-01-01"}},
       "is not YYYY-MM-DD"},
      {"conversation_search_date", {{"start_date", "2024-02-01"}, {"end_date", "2024-01-01"}},
       "after its end"},
      {"send_rocket", {}, "unknown tool"},
  };
  for (const Case& c : cases) {
    ToolOutcome out = Call(c.name, c.args);
    EXPECT_FALSE(out.ok) << c.name << " " << c.args.dump();
    EXPECT_TRUE(out.heartbeat);
    json content = json::parse(out.content);
    EXPECT_EQ(content["status"], "Failed");
    EXPECT_NE(content["message"].get<std::string>().find(c.says), std::string::npos)
        << content["message"];
  }
  EXPECT_EQ(Value("human"), "Name: Ada");
  EXPECT_EQ(Value("persona"), "I am a careful assistant.");
  // Not even a call that is not JSON breaks anything.
  auto garbage = mem_->Execute("{not json", true);
  ASSERT_TRUE(garbage.ok());
  EXPECT_FALSE(garbage->ok);
  EXPECT_FALSE(garbage->appended);
  EXPECT_TRUE(mem_->Append(User("still here")).ok());
  auto stats = mem_->Stats();
  EXPECT_EQ(stats->tool_errors, std::size(cases) + 1);
}

TEST_F(MemoryToolsTest, ArchivalSearchIsHybridAndPaginatedFiveAPage) {
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(Call("archival_memory_insert",
                     {{"content", "Invoice " + std::to_string(i) + " was paid in full."}})
                    .ok);
  }
  ASSERT_TRUE(Call("archival_memory_insert", {{"content", "The cat is called Miso."}}).ok);
  json page0 = json::parse(Call("archival_memory_search", {{"query", "invoice paid"}}).content);
  EXPECT_EQ(page0["results"].size(), 5u);
  EXPECT_GE(page0["total_pages"].get<int>(), 3);
  json page2 = json::parse(
      Call("archival_memory_search", {{"query", "invoice paid"}, {"page", 2}}).content);
  EXPECT_GE(page2["results"].size(), 2u);
  json cat = json::parse(Call("archival_memory_search", {{"query", "cat name"}}).content);
  EXPECT_EQ(cat["results"][0]["content"], "The cat is called Miso.");
}

TEST_F(MemoryToolsTest, ConversationSearchFindsWhatWasSaidNotTheSearchesThemselves) {
  ASSERT_TRUE(mem_->Append(User("My sister Mira lives in Tromso.")).ok());
  ASSERT_TRUE(mem_->Append(Assistant("Noted!")).ok());
  ToolOutcome first = Call("conversation_search", {{"query", "Mira Tromso"}});
  ToolOutcome second = Call("conversation_search", {{"query", "Mira Tromso"}});
  json results = json::parse(second.content)["results"];
  ASSERT_EQ(results.size(), 1u) << second.content;  // Neither the call nor its result.
  EXPECT_EQ(results[0]["role"], "user");
  EXPECT_EQ(results[0]["content"], "My sister Mira lives in Tromso.");
}

TEST_F(MemoryToolsTest, SearchesByDateAndHonoursHeartbeats) {
  ASSERT_TRUE(mem_->Append(User("first day")).ok());  // 2023-11-14 22:13 UTC
  clock_.Advance(3 * 86400);
  ASSERT_TRUE(mem_->Append(User("three days later")).ok());
  ToolOutcome out = Call("conversation_search_date", {{"start_date", "2023-11-14"},
                                                      {"end_date", "2023-11-14"},
                                                      {"request_heartbeat", true}});
  ASSERT_TRUE(out.ok) << out.content;
  EXPECT_TRUE(out.heartbeat);
  json results = json::parse(out.content)["results"];
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["content"], "first day");
  EXPECT_EQ(results[0]["timestamp"], "2023-11-14 22:13:20 UTC");
}

TEST_F(MemoryToolsTest, AcceptsAnthropicToolUseBlocks) {
  json block = {{"type", "tool_use"},
                {"id", "toolu_1"},
                {"name", "core_memory_append"},
                {"input", {{"label", "human"}, {"content", "Speaks Welsh."}}}};
  auto out = mem_->Execute(block.dump(), false);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->ok) << out->content;
  EXPECT_EQ(out->tool_call_id, "toolu_1");
  EXPECT_EQ(Value("human"), "Name: Ada\nSpeaks Welsh.");
}

}  // namespace
}  // namespace vmllm
