// The one registry of model-facing tools (chat/tool_registry.h): both schema formats carry the
// same tools, lookups by set, and the stream's schemas byte for byte as the proxy always sent.
#include "chat/tool_registry.h"

#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "vmllm/tool_schemas.h"

namespace vmllm {
namespace {

using nlohmann::json;

constexpr ToolSet kSets[] = {ToolSet::kStreamMemory, ToolSet::kConversationMemory,
                             ToolSet::kDocuments};

TEST(ToolRegistry, BothFormatsRenderTheSameToolsAsValidJson) {
  for (ToolSet set : kSets) {
    json openai = json::parse(ToolSchemasJson(set, WireFormat::kOpenAI));
    json anthropic = json::parse(ToolSchemasJson(set, WireFormat::kAnthropic));
    ASSERT_TRUE(openai.is_array());
    ASSERT_EQ(openai.size(), ToolsOf(set).size());
    ASSERT_EQ(anthropic.size(), openai.size());
    for (size_t i = 0; i < openai.size(); ++i) {
      const json& o = openai[i];
      const json& a = anthropic[i];
      EXPECT_EQ(o["type"], "function");
      EXPECT_EQ(o["function"]["name"], ToolsOf(set)[i].name);
      EXPECT_EQ(o["function"]["name"], a["name"]);
      EXPECT_EQ(o["function"]["description"], a["description"]);
      EXPECT_EQ(o["function"]["parameters"], a["input_schema"]);
      EXPECT_EQ(a["input_schema"]["type"], "object");
      for (const json& required : a["input_schema"]["required"]) {
        EXPECT_TRUE(a["input_schema"]["properties"].contains(required.get<std::string>()));
      }
    }
  }
}

TEST(ToolRegistry, StreamSchemasAreTheOnesTheProxyAlwaysSent) {
  // Injected into every request of a session: a changed byte would break provider caches.
  EXPECT_EQ(ParametersJson(*FindTool(ToolSet::kStreamMemory, kStreamRecallTool)),
            R"({"type":"object","properties":{"page_ids":{"type":"array","items":{"type":"string"}}},"required":["page_ids"]})");
  EXPECT_EQ(ParametersJson(*FindTool(ToolSet::kStreamMemory, kStreamCompactTool)),
            R"({"type":"object","properties":{"from_turn":{"type":"integer"},"to_turn":{"type":"integer"},"summary":{"type":"string"}},"required":["from_turn","to_turn","summary"]})");
  ToolSchema schema = AsToolSchema(*FindTool(ToolSet::kStreamMemory, kStreamReleaseTool));
  EXPECT_EQ(schema.name, "vmllm_release");
  EXPECT_EQ(json::parse(schema.json)["required"], json::array({"page_ids"}));
}

TEST(ToolRegistry, UnknownToolsAreNotFound) {
  EXPECT_EQ(FindTool(ToolSet::kStreamMemory, "read_file"), nullptr);
  EXPECT_EQ(FindTool(ToolSet::kStreamMemory, ""), nullptr);
  EXPECT_EQ(FindTool(ToolSet::kConversationMemory, "vmllm_recal"), nullptr);
  const ToolDef* found = FindTool(ToolSet::kConversationMemory, "conversation_search");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(std::string(found->name), "conversation_search");
}

TEST(ToolRegistry, MembershipIsPerSet) {
  for (const char* name : {"vmllm_recall", "vmllm_release", "vmllm_compact"}) {
    EXPECT_TRUE(IsStreamMemoryTool(name)) << name;
    EXPECT_FALSE(IsConversationMemoryTool(name)) << name;
  }
  for (const ToolDef& tool : ToolsOf(ToolSet::kConversationMemory)) {
    EXPECT_TRUE(IsConversationMemoryTool(tool.name)) << tool.name;
    EXPECT_FALSE(IsStreamMemoryTool(tool.name)) << tool.name;
  }
  EXPECT_FALSE(IsStreamMemoryTool("recall_page"));
  EXPECT_FALSE(IsConversationMemoryTool("search_memory"));
  // No name is in two sets: a call is never claimed by two front ends.
  std::set<std::string> names;
  size_t total = 0;
  for (ToolSet set : kSets) {
    for (const ToolDef& tool : ToolsOf(set)) names.insert(tool.name);
    total += ToolsOf(set).size();
  }
  EXPECT_EQ(names.size(), total);
}

TEST(ToolRegistry, NamesListTheSetInOrder) {
  EXPECT_EQ(ToolNames(ToolSet::kStreamMemory), "vmllm_recall, vmllm_release, vmllm_compact");
  EXPECT_EQ(ToolNames(ToolSet::kDocuments), "recall_page, search_memory");
}

TEST(ToolRegistry, PublicSchemasBySetName) {
  auto memory = ToolSchemas("memory", WireFormat::kAnthropic);
  ASSERT_TRUE(memory.ok());
  EXPECT_EQ(*memory, ToolSchemasJson(ToolSet::kConversationMemory, WireFormat::kAnthropic));
  auto documents = ToolSchemas("documents", WireFormat::kOpenAI);
  ASSERT_TRUE(documents.ok());
  EXPECT_EQ(json::parse(*documents)[0]["function"]["name"], "recall_page");
  auto unknown = ToolSchemas("gemini", WireFormat::kOpenAI);
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("'stream'"), std::string::npos);
}

TEST(WireFormatNames, RoundTripAndRefuseOthers) {
  for (WireFormat wire :
       {WireFormat::kOpenAI, WireFormat::kAnthropic, WireFormat::kOpenAIResponses}) {
    auto parsed = ParseWireFormat(WireFormatName(wire));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, wire);
  }
  auto bad = ParseWireFormat("gemini", "wire");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "wire must be 'openai', 'anthropic' or 'openai-responses', not 'gemini'");
}

}  // namespace
}  // namespace vmllm
