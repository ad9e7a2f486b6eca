#include "vmllm/conversation_memory.h"

#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "memory_test_util.h"
#include "testing/fake_clock.h"
#include "testing/temp_dir.h"

namespace vmllm {
namespace {

using nlohmann::json;
using namespace testing_json;  // NOLINT

// Records what it was asked to summarise; the summary names the call, so recursion shows.
class RecordingCompressor : public Compressor {
 public:
  std::string Name() const override { return "recording"; }
  std::string Compress(std::string_view text) const override {
    std::lock_guard<std::mutex> lock(mu_);
    inputs_.emplace_back(text);
    return "S" + std::to_string(inputs_.size()) + ".";
  }
  std::vector<std::string> inputs() const {
    std::lock_guard<std::mutex> lock(mu_);
    return inputs_;
  }

 private:
  mutable std::mutex mu_;
  mutable std::vector<std::string> inputs_;
};

std::string Words(std::mt19937& rng, int n) {
  static const char* kWords[] = {"river", "cloud", "lantern", "harbor", "pepper", "meadow",
                                 "copper", "violet", "engine", "garden", "orbit", "canvas"};
  std::string s;
  for (int i = 0; i < n; ++i) s += std::string(i ? " " : "") + kWords[rng() % 12];
  return s + ".";
}

class ConversationMemoryTest : public ::testing::Test {
 protected:
  std::unique_ptr<ConversationMemory> Open(size_t window, std::string agent = "default",
                                           std::vector<MemoryBlock> blocks = {}) {
    ConversationMemoryOptions o;
    o.path = dir_.path();
    o.agent_id = std::move(agent);
    o.window_tokens = window;
    o.system = "You are a helpful assistant.";
    o.blocks = std::move(blocks);
    o.clock = &clock_;
    o.compressor = compressor_;
    o.external_compressor = external_;
    o.tokenizer = tokenizer_;
    o.embedder = embedder_;
    auto m = ConversationMemory::Open(std::move(o));
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(m).value() : nullptr;
  }

  // Every tool message follows the assistant message that made its call, and every call but
  // those still open at the end has its results.
  static void ExpectNoOrphans(const std::vector<std::string>& messages) {
    std::set<std::string> calls, answered;
    for (const std::string& text : messages) {
      json m = json::parse(text);
      if (m["role"] == "tool") {
        ASSERT_TRUE(calls.count(m["tool_call_id"].get<std::string>()))
            << "orphaned tool result " << text;
        answered.insert(m["tool_call_id"].get<std::string>());
      }
      if (m.contains("tool_calls")) {
        for (const json& c : m["tool_calls"]) calls.insert(c["id"].get<std::string>());
      }
    }
    json last = json::parse(messages.back());
    for (const std::string& id : calls) {
      bool trailing_open = last.contains("tool_calls") || last["role"] == "tool";
      if (!trailing_open) EXPECT_TRUE(answered.count(id)) << "call " << id << " lost its result";
    }
  }

  TempDir dir_;
  FakeClock clock_{1.7e9};
  std::shared_ptr<const Compressor> compressor_;
  bool external_ = false;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::shared_ptr<const Embedder> embedder_;
};

// A tokenizer that counts bytes: far above any real count, as an exact BPE could be for text
// the approximate one underestimates.
class ByteTokenizer : public Tokenizer {
 public:
  std::string Name() const override { return "bytes"; }
  size_t Count(std::string_view text) const override { return text.size(); }
};

TEST_F(ConversationMemoryTest, NeverExceedsTheWindowAndNeverSplitsAToolCallFromItsResult) {
  auto mem = Open(700);
  auto tokenizer = NewApproxTokenizer();
  std::mt19937 rng(11);
  int call_id = 0;
  for (int turn = 0; turn < 300; ++turn) {
    clock_.Advance(60);
    ASSERT_TRUE(mem->Append(User(Words(rng, 5 + rng() % 50))).ok());
    if (rng() % 3 == 0) {
      json calls = json::array();
      std::vector<std::string> ids;
      for (int c = 0, n = 1 + rng() % 2; c < n; ++c) {
        ids.push_back("call_" + std::to_string(call_id++));
        calls.push_back(CallJson(ids.back(), "get_weather", {{"city", Words(rng, 1)}}));
      }
      ASSERT_TRUE(mem->Append(AssistantCalls(calls)).ok());
      for (const std::string& id : ids) {
        auto r = mem->Append(ToolResult(id, Words(rng, 10 + rng() % 60)));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        ASSERT_LE(*mem->ContextTokens(), 700u);
      }
    }
    ASSERT_TRUE(mem->Append(Assistant(Words(rng, 5 + rng() % 40))).ok());
    auto messages = mem->Messages();
    ASSERT_TRUE(messages.ok());
    size_t counted = 0;
    for (const std::string& m : *messages) counted += MessageTokens(*tokenizer, m);
    ASSERT_EQ(counted, *mem->ContextTokens());
    ASSERT_LE(counted, 700u) << "turn " << turn;
    ExpectNoOrphans(*messages);
  }
  auto stats = mem->Stats();
  EXPECT_GT(stats->flushes, 3u);
  EXPECT_GT(stats->evicted_messages, 100u);
}

TEST_F(ConversationMemoryTest, CountsWithTheConfiguredTokenizer) {
  tokenizer_ = std::make_shared<ByteTokenizer>();
  auto mem = Open(3000);
  std::mt19937 rng(6);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(mem->Append(User(Words(rng, 12))).ok());
    size_t bytes = 0;
    std::vector<std::string> messages = *mem->Messages();
    for (const std::string& m : messages) bytes += m.size() + 3;
    ASSERT_EQ(bytes, *mem->ContextTokens());
    ASSERT_LE(bytes, 3000u);
  }
  EXPECT_GT(mem->Stats()->flushes, 2u);
}

TEST_F(ConversationMemoryTest, WarnsOnceWhenTheContextPassesTheWarnFraction) {
  auto mem = Open(1000);
  std::mt19937 rng(3);
  int warnings_seen = 0;
  size_t before = *mem->ContextTokens();
  for (int i = 0; i < 200; ++i) {
    auto r = mem->Append(User(Words(rng, 20)));
    ASSERT_TRUE(r.ok());
    size_t after = *mem->ContextTokens();
    if (r->warned) {
      ++warnings_seen;
      EXPECT_LT(before, 700u);  // Not earlier than the threshold ...
      EXPECT_GE(after, 700u);   // ... and as soon as it is passed.
      EXPECT_NE(mem->Messages()->back().find("Memory pressure warning"), std::string::npos);
      EXPECT_EQ(mem->Stats()->flushes, 0u);
    }
    if (r->flushed) break;
    before = after;
  }
  EXPECT_EQ(warnings_seen, 1);
  EXPECT_EQ(mem->Stats()->flushes, 1u);
  EXPECT_EQ(mem->Stats()->warnings, 1u);
}

TEST_F(ConversationMemoryTest, FlushEvictsDownToTheTargetIntoARecursiveSummary) {
  auto recorder = std::make_shared<RecordingCompressor>();
  compressor_ = recorder;
  auto mem = Open(800);
  std::mt19937 rng(5);
  int flushes = 0;
  for (int i = 0; i < 300 && flushes < 3; ++i) {
    auto r = mem->Append(User("message " + std::to_string(i) + " " + Words(rng, 15)));
    ASSERT_TRUE(r.ok());
    if (r->flushed) {
      ++flushes;
      EXPECT_LE(*mem->ContextTokens(), 400u);
      auto messages = *mem->Messages();
      EXPECT_NE(messages[1].find("S" + std::to_string(flushes) + "."), std::string::npos);
    }
  }
  ASSERT_EQ(flushes, 3);
  auto inputs = recorder->inputs();
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs[0].find("user: message 0 "), 0u);          // Oldest first,
  EXPECT_EQ(inputs[1].rfind("S1.", 0), 0u);                     // then the last summary
  EXPECT_EQ(inputs[2].rfind("S2.", 0), 0u);                     // is folded in again.
  EXPECT_NE(inputs[1].find("user: message"), std::string::npos);  // with the new evictions.
}

TEST_F(ConversationMemoryTest, EvictedMessagesStaySearchableInRecall) {
  auto mem = Open(600);
  std::mt19937 rng(9);
  ASSERT_TRUE(mem->Append(User("My locker code is 4417, please remember it.")).ok());
  for (int i = 0; i < 120; ++i) ASSERT_TRUE(mem->Append(User(Words(rng, 20))).ok());
  std::vector<std::string> messages = *mem->Messages();
  ASSERT_NE(messages[1].find("Summary of the earlier conversation"), std::string::npos);
  for (size_t i = 2; i < messages.size(); ++i) {
    EXPECT_EQ(messages[i].find("4417"), std::string::npos);
  }
  RecallQuery q;
  q.text = "locker code";
  for (RecallMode mode : {RecallMode::kHybrid, RecallMode::kKeyword, RecallMode::kVector}) {
    q.mode = mode;
    auto page = mem->SearchRecall(q);
    ASSERT_TRUE(page.ok());
    ASSERT_FALSE(page->hits.empty());
    EXPECT_NE(page->hits[0].content.find("4417"), std::string::npos);
    EXPECT_LE(page->hits.size(), 5u);
  }
}

// A remote embedder whose server is down.
class DownEmbedder : public Embedder {
 public:
  std::string Name() const override { return "down"; }
  size_t Dimension() const override { return 0; }
  Status Prepare() const override { return Status::BackendUnavailable("server down"); }
  void Embed(std::string_view, float*) const override {}
  Status EmbedBatch(const std::vector<std::string_view>&, float*) const override {
    return Prepare();
  }
};

TEST_F(ConversationMemoryTest, ReopeningWithAnotherEmbedderRecomputesTheVectors) {
  RecallQuery q;
  q.text = "locker code";
  q.mode = RecallMode::kVector;
  {
    auto mem = Open(4000);  // The default: hashing, 256 dimensions.
    ASSERT_TRUE(mem->Append(User("My locker code is 4417.")).ok());
    ASSERT_TRUE(mem->Append(User("The weather is mild today.")).ok());
    ASSERT_TRUE(mem->ArchivalInsert("The locker is in the east wing.").ok());
    ASSERT_FALSE(mem->SearchRecall(q)->hits.empty());
  }
  embedder_ = NewHashingEmbedder(64);  // Vectors of another size: never compared.
  auto mem = Open(4000);
  auto page = mem->SearchRecall(q);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_FALSE(page->hits.empty());
  EXPECT_NE(page->hits[0].content.find("4417"), std::string::npos);
  auto archival = mem->ArchivalSearch("locker", 0);
  ASSERT_TRUE(archival.ok());
  ASSERT_EQ(archival->hits.size(), 1u);
  EXPECT_EQ(mem->Stats()->search_fallbacks, 0u);
}

TEST_F(ConversationMemoryTest, AnEmbedderThatIsDownLeavesKeywordSearch) {
  embedder_ = std::make_shared<DownEmbedder>();
  auto mem = Open(4000);  // Opens: the embedder is first needed by a search.
  ASSERT_TRUE(mem->Append(User("My locker code is 4417.")).ok());
  ASSERT_TRUE(mem->ArchivalInsert("The locker is in the east wing.").ok());
  RecallQuery q;
  q.text = "locker code";
  auto page = mem->SearchRecall(q);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->hits.size(), 1u);
  auto archival = mem->ArchivalSearch("locker", 0);
  ASSERT_TRUE(archival.ok());
  EXPECT_EQ(archival->hits.size(), 1u);
  EXPECT_EQ(mem->Stats()->search_fallbacks, 2u);
  q.mode = RecallMode::kVector;
  EXPECT_EQ(mem->SearchRecall(q).status().code(), StatusCode::kBackendUnavailable);
}

TEST_F(ConversationMemoryTest, SearchesByWordsWithinADateRange) {
  auto mem = Open(100000);
  // 300 days of notes; the ones inside the range rank last by words (fewest repeats).
  for (int day = 0; day < 300; ++day) {
    std::string text = "heron sighting day " + std::to_string(day);
    for (int i = 0; i < day % 7; ++i) text += " heron";
    ASSERT_TRUE(mem->Append(User(text)).ok());
    clock_.Advance(86400);
  }
  RecallQuery q;
  q.text = "heron";
  q.start = 1.7e9 + 210 * 86400;
  q.end = 1.7e9 + 217 * 86400 - 1;
  for (RecallMode mode : {RecallMode::kHybrid, RecallMode::kKeyword, RecallMode::kVector}) {
    q.mode = mode;
    auto page = mem->SearchRecall(q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    // The vector index is approximate (hnswlib): it may miss a near-duplicate.
    if (mode == RecallMode::kVector) {
      EXPECT_GE(page->total, 5u);
      EXPECT_LE(page->total, 7u);
    } else {
      EXPECT_EQ(page->total, 7u);
    }
    for (const MemoryHit& hit : page->hits) {
      EXPECT_GE(hit.timestamp, *q.start);
      EXPECT_LE(hit.timestamp, *q.end);
    }
  }
}

TEST_F(ConversationMemoryTest, AgentIdsOfAnyBytesGetTheirOwnSpaces) {
  const std::string long_id(300, 'a');
  const std::vector<std::string> agents = {"a/b", "a%2Fb", "tab\there", long_id,
                                           long_id + "b", std::string("\xff\xfe", 2)};
  for (size_t i = 0; i < agents.size(); ++i) {
    auto mem = Open(4000, agents[i]);
    ASSERT_NE(mem, nullptr) << i;
    ASSERT_TRUE(mem->Append(User("secret of agent " + std::to_string(i))).ok());
    ASSERT_TRUE(mem->ArchivalInsert("passage of agent " + std::to_string(i)).ok());
  }
  for (size_t i = 0; i < agents.size(); ++i) {
    auto mem = Open(4000, agents[i]);
    RecallQuery q;
    q.text = "secret of agent";
    auto page = mem->SearchRecall(q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    ASSERT_EQ(page->hits.size(), 1u) << i;
    EXPECT_EQ(page->hits[0].content, "secret of agent " + std::to_string(i));
    auto archival = mem->ArchivalSearch("passage of agent", 0);
    ASSERT_TRUE(archival.ok());
    ASSERT_EQ(archival->hits.size(), 1u) << i;
    EXPECT_EQ(archival->hits[0].content, "passage of agent " + std::to_string(i));
  }
}

TEST_F(ConversationMemoryTest, SearchesByDateRangeOldestFirstFiveAPage) {
  auto mem = Open(4000);
  for (int day = 0; day < 10; ++day) {
    ASSERT_TRUE(mem->Append(User("note of day " + std::to_string(day))).ok());
    clock_.Advance(86400);
  }
  RecallQuery q;
  q.start = 1.7e9 + 2 * 86400;
  q.end = 1.7e9 + 8 * 86400 - 1;
  auto page = mem->SearchRecall(q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 6u);
  EXPECT_EQ(page->total_pages, 2u);
  ASSERT_EQ(page->hits.size(), 5u);
  EXPECT_EQ(page->hits[0].content, "note of day 2");
  q.page = 1;
  EXPECT_EQ(mem->SearchRecall(q)->hits.at(0).content, "note of day 7");
}

TEST_F(ConversationMemoryTest, RefusesAMessageThatCanNeverFitAndStoresNothing) {
  auto mem = Open(300);
  std::mt19937 rng(1);
  ASSERT_TRUE(mem->Append(User("hello")).ok());
  auto r = mem->Append(User(Words(rng, 400)));
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(mem->Stats()->recall_messages, 1u);
  EXPECT_EQ(mem->Messages()->size(), 2u);
}

// A result for an unknown call is not malformed: tool_call_pairing_test.cc shows it kept.
TEST_F(ConversationMemoryTest, RejectsMalformedMessages) {
  auto mem = Open(1000);
  for (const char* bad : {"not json", "[]", R"({"content":"x"})", R"({"role":"x","content":"y"})",
                          R"({"role":"user"})", R"({"role":"assistant","content":null})",
                          R"({"role":"tool","content":"r"})",
                          R"({"role":"assistant","content":null,"tool_calls":)"
                          R"([{"function":{"name":"f"}}]})"}) {
    EXPECT_EQ(mem->Append(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(mem->Stats()->recall_messages, 0u);
}

TEST_F(ConversationMemoryTest, ReopeningRestoresBlocksQueueSummaryRecallAndArchival) {
  std::vector<std::string> before;
  {
    auto mem = Open(600, "default", {{"", "human", "Name: Ada", 200, "about the user", false}});
    std::mt19937 rng(4);
    for (int i = 0; i < 80; ++i) ASSERT_TRUE(mem->Append(User(Words(rng, 20))).ok());
    ASSERT_TRUE(mem->SetBlockValue("human", "Name: Ada. Likes tea.").ok());
    ASSERT_TRUE(mem->ArchivalInsert("The project deadline is March 3.").ok());
    ASSERT_GT(mem->Stats()->flushes, 0u);
    before = *mem->Messages();
    ASSERT_TRUE(mem->Close().ok());
    EXPECT_EQ(mem->Append(User("late")).status().code(), StatusCode::kInvalidArgument);
  }
  auto again =
      Open(600, "default", {{"", "human", "ignored: the stored value wins", 200, "", false}});
  EXPECT_EQ(*again->Messages(), before);
  EXPECT_EQ(again->Blocks()->at(0).value, "Name: Ada. Likes tea.");
  EXPECT_EQ(again->Stats()->recall_messages, 80u + again->Stats()->warnings);
  auto found = again->ArchivalSearch("deadline", 0);
  ASSERT_EQ(found->hits.size(), 1u);
  EXPECT_EQ(found->hits[0].content, "The project deadline is March 3.");
}

TEST_F(ConversationMemoryTest, BlocksEnforceTheirLimitAndValidateOnOpen) {
  auto mem = Open(1000, "default", {{"", "human", "", 10, "", false}});
  EXPECT_EQ(mem->SetBlockValue("human", "01234567890").code(), StatusCode::kInvalidArgument);
  // Ten characters, 20 bytes.
  EXPECT_TRUE(mem->SetBlockValue("human", "éééééééééé").ok());
  EXPECT_EQ(mem->SetBlockValue("nobody", "x").code(), StatusCode::kNotFound);
  ConversationMemoryOptions o;
  o.path = dir_.path();
  o.blocks = {{"", "a", "too long", 3, "", false}};
  EXPECT_EQ(ConversationMemory::Open(o).status().code(), StatusCode::kInvalidArgument);
  o.blocks = {};
  o.warn_fraction = 1.5;
  EXPECT_EQ(ConversationMemory::Open(o).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ConversationMemoryTest, TwoAgentsShareABlockById) {
  MemoryBlock team{"team-notes", "project", "Kickoff on Monday.", 500, "shared notes", false};
  auto a = Open(2000, "agent-a", {team});
  team.value = "ignored";
  auto b = Open(2000, "agent-b", {team});
  EXPECT_EQ(b->Blocks()->at(0).value, "Kickoff on Monday.");
  json call = CallJson("c1", "core_memory_append",
                       {{"label", "project"}, {"content", "Budget approved: 12k."}});
  auto out = a->Execute(call.dump(), false);
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->ok) << out->content;
  EXPECT_NE(b->Messages()->at(0).find("Budget approved: 12k."), std::string::npos);
  // Each agent keeps its own conversation.
  ASSERT_TRUE(a->Append(User("only for a")).ok());
  EXPECT_EQ(b->Stats()->recall_messages, 0u);
}

TEST_F(ConversationMemoryTest, AnExternalCompressorFinishesTheFlush) {
  external_ = true;
  auto mem = Open(500);
  std::mt19937 rng(8);
  bool pending = false;
  for (int i = 0; i < 100 && !pending; ++i) {
    auto r = mem->Append(User("turn " + std::to_string(i) + " " + Words(rng, 15)));
    ASSERT_TRUE(r.ok());
    pending = r->flush_pending;
    EXPECT_FALSE(r->flushed);
  }
  ASSERT_TRUE(pending);
  ASSERT_TRUE(mem->FlushPending());
  std::string input = *mem->SummaryInput();
  EXPECT_EQ(input.rfind("user: turn 0 ", 0), 0u);
  ASSERT_TRUE(mem->CompleteFlush(std::string("They talked about rivers.")).ok());
  EXPECT_FALSE(mem->FlushPending());
  EXPECT_LE(*mem->ContextTokens(), 250u);
  EXPECT_NE(mem->Messages()->at(1).find("They talked about rivers."), std::string::npos);
  EXPECT_EQ(mem->CompleteFlush(std::string("again")).code(), StatusCode::kInvalidArgument);
}

TEST_F(ConversationMemoryTest, ALongSummaryKeepsItsMostInformativeSentencesWithinItsShare) {
  external_ = true;
  auto mem = Open(1000);
  std::mt19937 rng(2);
  while (!mem->FlushPending()) ASSERT_TRUE(mem->Append(User(Words(rng, 30))).ok());
  std::string summary;
  for (int i = 0; i < 300; ++i) {
    if (i == 150) summary += "The vault code is 9913 according to Director Okafor. ";
    summary += "they chatted about this and that for a while. ";
  }
  ASSERT_TRUE(mem->CompleteFlush(summary).ok());
  std::string rendered = mem->Messages()->at(1);
  EXPECT_LE(mem->Stats()->summary_tokens, 100u);
  EXPECT_NE(rendered.find("The vault code is 9913 according to Director Okafor."),
            std::string::npos) << rendered;
  EXPECT_LE(*mem->ContextTokens(), 500u);
}

}  // namespace
}  // namespace vmllm
