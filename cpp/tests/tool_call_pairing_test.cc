// Issue 11, item 4: a tool call left without its result (the process died between the two)
// must never brick a ConversationMemory, and what it hands to a provider stays validly paired.
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "memory_test_util.h"
#include "store/conversation_store.h"
#include "testing/fake_clock.h"
#include "testing/temp_dir.h"
#include "vmllm/conversation_memory.h"

namespace vmllm {
namespace {

using nlohmann::json;
using namespace testing_json;  // NOLINT

// What OpenAI Chat and Anthropic Messages accept: an assistant message's calls answered by tool
// messages right after it, each once, and no tool message anywhere else. The last assistant
// message may still wait for results while only its results follow it.
::testing::AssertionResult ProviderValid(const std::vector<std::string>& messages) {
  std::set<std::string> pending;
  bool in_group = false;
  for (size_t i = 0; i < messages.size(); ++i) {
    json m = json::parse(messages[i]);
    if (m["role"] == "tool") {
      if (!in_group || !pending.erase(m["tool_call_id"].get<std::string>())) {
        return ::testing::AssertionFailure() << "tool result without its call: " << messages[i];
      }
      continue;
    }
    if (!pending.empty()) {
      return ::testing::AssertionFailure() << "call left unanswered before " << messages[i];
    }
    in_group = m.contains("tool_calls");
    if (in_group) {
      for (const json& c : m["tool_calls"]) pending.insert(c["id"].get<std::string>());
    }
  }
  return ::testing::AssertionSuccess();
}

std::string Chatter(int i) {
  static const char* kWords[] = {"river", "cloud", "lantern", "harbor", "pepper", "meadow",
                                 "copper", "violet", "engine", "garden", "orbit", "canvas"};
  std::string s;
  for (int k = 0; k < 30; ++k) s += std::string(k ? " " : "") + kWords[(i * 7 + k * 3) % 12];
  return s + " (turn " + std::to_string(i) + ").";
}

class ToolCallPairingTest : public ::testing::Test {
 protected:
  std::unique_ptr<ConversationMemory> Open(size_t window) {
    ConversationMemoryOptions o;
    o.path = dir_.path();
    o.window_tokens = window;
    o.clock = &clock_;
    auto m = ConversationMemory::Open(std::move(o));
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(m).value() : nullptr;
  }

  // Writes queued messages straight into the store, as the code before the pairing rule did
  // (it accepted anything after an open call, and a result for any call still unanswered).
  void WriteOldQueue(const std::vector<std::string>& messages) {
    auto store = ConversationStore::Open(dir_.path());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto tokenizer = NewApproxTokenizer();
    ASSERT_TRUE((*store)->Begin().ok());
    for (const std::string& text : messages) {
      json m = json::parse(text);
      MessageRow row;
      row.role = m["role"].get<std::string>();
      row.json = m.dump();
      row.text = m["content"].is_string() ? m["content"].get<std::string>() : "";
      row.created = clock_.Now();
      row.tokens = static_cast<uint32_t>(MessageTokens(*tokenizer, row.json));
      ASSERT_TRUE((*store)->InsertMessage("default", row).ok());
    }
    ASSERT_TRUE((*store)->Commit().ok());
  }

  TempDir dir_;
  FakeClock clock_{1.7e9};
};

TEST_F(ToolCallPairingTest, ADanglingCallIsClosedSoEveryLaterMessageIsAccepted) {
  auto mem = Open(1000);
  ASSERT_TRUE(mem->Append(User("What is the weather in Oslo?")).ok());
  ASSERT_TRUE(mem->Append(AssistantCalls(json::array({CallJson("a", "get_weather", {})}))).ok());
  ASSERT_TRUE(ProviderValid(*mem->Messages()));  // The call is awaited.
  for (int i = 0; i < 60; ++i) {
    auto r = mem->Append(User(Chatter(i)));
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
    auto messages = mem->Messages();
    ASSERT_TRUE(messages.ok());
    ASSERT_TRUE(ProviderValid(*messages)) << i;
    ASSERT_LE(*mem->ContextTokens(), 1000u);
  }
  auto stats = mem->Stats();
  EXPECT_EQ(stats->closed_tool_calls, 1u);
  EXPECT_GT(stats->flushes, 0u);
  // The result, arriving late, is kept as a note naming its call.
  auto late = mem->Append(ToolResult("a", "Oslo: 4 degrees, rain."));
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  json note = json::parse(mem->Messages()->back());
  EXPECT_EQ(note["role"], "user");
  EXPECT_NE(note["content"].get<std::string>().find("'a'"), std::string::npos);
  EXPECT_NE(note["content"].get<std::string>().find("Oslo: 4 degrees, rain."), std::string::npos);
  EXPECT_TRUE(ProviderValid(*mem->Messages()));
  EXPECT_EQ(mem->Stats()->late_tool_results, 1u);
  // Still searchable, as any tool result.
  auto found = mem->SearchRecall(RecallQuery{"Oslo degrees rain", std::nullopt, std::nullopt,
                                             RecallMode::kKeyword, 0});
  ASSERT_TRUE(found.ok());
  ASSERT_FALSE(found->hits.empty());
  EXPECT_NE(found->hits[0].content.find("Oslo: 4 degrees"), std::string::npos);
}

TEST_F(ToolCallPairingTest, TheNextMessageClosesOnlyTheCallsStillOpen) {
  auto mem = Open(4000);
  ASSERT_TRUE(mem->Append(User("Check two cities.")).ok());
  ASSERT_TRUE(mem->Append(AssistantCalls(json::array(
                  {CallJson("a", "get_weather", {}), CallJson("b", "get_weather", {})})))
                  .ok());
  ASSERT_TRUE(mem->Append(ToolResult("a", "sunny")).ok());
  ASSERT_TRUE(mem->Append(Assistant("One city answered.")).ok());
  auto messages = *mem->Messages();
  ASSERT_EQ(messages.size(), 5u);
  json closed = json::parse(messages[3]);
  EXPECT_EQ(closed["role"], "tool");
  EXPECT_EQ(closed["tool_call_id"], "b");
  EXPECT_EQ(closed["content"], "[vmllm: no result was recorded for this call]");
  EXPECT_EQ(json::parse(messages[4])["content"], "One city answered.");
  EXPECT_TRUE(ProviderValid(messages));
  EXPECT_EQ(mem->Stats()->closed_tool_calls, 1u);
  // A repeated result and one for an unknown call are notes too; nothing breaks.
  ASSERT_TRUE(mem->Append(ToolResult("a", "sunny again")).ok());
  ASSERT_TRUE(mem->Append(ToolResult("zzz", "from nowhere")).ok());
  EXPECT_TRUE(ProviderValid(*mem->Messages()));
  EXPECT_EQ(mem->Stats()->late_tool_results, 2u);
  EXPECT_EQ(mem->Stats()->recall_messages, 7u);
}

TEST_F(ToolCallPairingTest, AQueueBrickedByTheOldCodeIsRepairedOnOpen) {
  // The sequence that bricked a store: a call, no result, then user messages past the window.
  // The old code also took a result for a call that was still unanswered, however late.
  std::vector<std::string> old = {User("Book a table."),
                                  AssistantCalls(json::array({CallJson("a", "book", {})}))};
  for (int i = 0; i < 3; ++i) old.push_back(User(Chatter(i)));
  old.push_back(ToolResult("a", "Booked for 8 pm."));
  for (int i = 3; i < 20; ++i) old.push_back(User(Chatter(i)));
  WriteOldQueue(old);
  auto mem = Open(1000);
  ASSERT_NE(mem, nullptr);
  auto messages = mem->Messages();
  ASSERT_TRUE(messages.ok()) << messages.status().ToString();
  EXPECT_TRUE(ProviderValid(*messages));
  EXPECT_LE(*mem->ContextTokens(), 1000u);
  auto stats = mem->Stats();
  EXPECT_EQ(stats->closed_tool_calls, 1u);
  EXPECT_EQ(stats->late_tool_results, 1u);
  EXPECT_EQ(stats->recall_messages, old.size() + 1);  // Each message once, plus the close.
  for (int i = 20; i < 70; ++i) {
    auto r = mem->Append(User(Chatter(i)));
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
    ASSERT_TRUE(ProviderValid(*mem->Messages())) << i;
  }
  // The repaired rows kept their text and order in recall.
  auto page = mem->SearchRecall(RecallQuery{"", std::nullopt, std::nullopt,
                                            RecallMode::kHybrid, 0});
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->hits.empty());
  EXPECT_EQ(page->hits[0].content, "Book a table.");
  // Reopening a repaired store changes nothing.
  std::vector<std::string> before = *mem->Messages();
  ASSERT_TRUE(mem->Close().ok());
  auto again = Open(1000);
  EXPECT_EQ(*again->Messages(), before);
}

TEST_F(ToolCallPairingTest, ACallAwaitedAtReopenStaysOpenForItsResult) {
  {
    auto mem = Open(1000);
    ASSERT_TRUE(mem->Append(User("Run the job.")).ok());
    ASSERT_TRUE(mem->Append(AssistantCalls(json::array({CallJson("j", "run", {})}))).ok());
  }  // As if the process died here.
  auto mem = Open(1000);
  ASSERT_TRUE(mem->Append(ToolResult("j", "done")).ok());
  auto messages = *mem->Messages();
  EXPECT_EQ(json::parse(messages.back())["role"], "tool");
  EXPECT_TRUE(ProviderValid(messages));
  EXPECT_EQ(mem->Stats()->closed_tool_calls, 0u);
  EXPECT_EQ(mem->Stats()->late_tool_results, 0u);
}

}  // namespace
}  // namespace vmllm
