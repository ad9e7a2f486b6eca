#include "chat/tool_registry.h"

#include <nlohmann/json.hpp>

#include "chat/chat_json.h"
#include "vmllm/tool_schemas.h"

namespace vmllm {
namespace {

// Declaration order: a schema reads as written here.
using Json = nlohmann::ordered_json;

// --- stream: the proxy's paging tools ------------------------------------------------------
const ToolParam kPageIds{"page_ids", "array", "", true, "string"};

// --- memory: MemGPT ---------------------------------------------------------------------
const ToolParam kHeartbeat{"request_heartbeat", "boolean",
                           "true to run again right after this call (to chain calls) instead of "
                           "waiting for the user",
                           false};
const ToolParam kPage{"page", "integer", "result page, from 0 (5 results a page)", false};

const std::vector<ToolDef>& StreamTools() {
  static const std::vector<ToolDef>* tools = new std::vector<ToolDef>{
      {kStreamRecallTool,
       "Bring paged-out content back in full. Pass the page ids named in "
       "[vmllm: paged out ...] stubs.",
       {kPageIds}},
      {kStreamReleaseTool,
       "Let pages go from the context now (they stay recallable). Pass page ids.",
       {kPageIds}},
      {kStreamCompactTool,
       "Fold turns from_turn..to_turn (1-based model turns, not the newest) into "
       "your own summary; the originals stay recallable.",
       {{"from_turn", "integer", "", true},
        {"to_turn", "integer", "", true},
        {"summary", "string", "", true}}},
  };
  return *tools;
}

const std::vector<ToolDef>& ConversationMemoryTools() {
  static const std::vector<ToolDef>* tools = new std::vector<ToolDef>{
      {"core_memory_append",
       "Add text to the end of one of your memory blocks (working context). Blocks stay in "
       "view for the whole conversation: keep there what you must not forget.",
       {{"label", "string", "label of the block, e.g. 'human' or 'persona'", true},
        {"content", "string", "text to add (on a new line)", true},
        kHeartbeat}},
      {"core_memory_replace",
       "Replace text in one of your memory blocks. Every occurrence of old_content becomes "
       "new_content; an empty new_content deletes it.",
       {{"label", "string", "label of the block", true},
        {"old_content", "string", "exact text to find in the block", true},
        {"new_content", "string", "text to put in its place", true},
        kHeartbeat}},
      {"archival_memory_insert",
       "Store a passage in archival memory, your unlimited long-term store outside the context. "
       "Find it later with archival_memory_search.",
       {{"content", "string", "the passage; self-contained, with names and dates", true},
        kHeartbeat}},
      {"archival_memory_search",
       "Search archival memory by words and meaning. Results come 5 a page, best first.",
       {{"query", "string", "what to look for", true}, kPage, kHeartbeat}},
      {"conversation_search",
       "Search the whole past conversation, including messages no longer in your context, by "
       "words and meaning. Results come 5 a page, best first.",
       {{"query", "string", "what to look for", true}, kPage, kHeartbeat}},
      {"conversation_search_date",
       "List past messages between two dates (inclusive, UTC), oldest first, 5 a page.",
       {{"start_date", "string", "start, as YYYY-MM-DD (or YYYY-MM-DD HH:MM)", true},
        {"end_date", "string", "end, as YYYY-MM-DD (or YYYY-MM-DD HH:MM)", true},
        kPage,
        kHeartbeat}},
  };
  return *tools;
}

const std::vector<ToolDef>& DocumentTools() {
  static const std::vector<ToolDef>* tools = new std::vector<ToolDef>{
      {"recall_page",
       "Fault one page of virtual memory back into the context by its id.",
       {{"page_id", "string", "A page id such as doc::chunk_0003.", true}}},
      {"search_memory",
       "Search virtual memory by meaning and words and page in the best pages.",
       {{"query", "string", "What information is needed.", true}}},
  };
  return *tools;
}

Json Parameters(const ToolDef& tool) {
  Json properties = Json::object();
  Json required = Json::array();
  for (const ToolParam& p : tool.params) {
    Json property = {{"type", p.type}};
    if (*p.items) property["items"] = {{"type", p.items}};
    if (*p.description) property["description"] = p.description;
    properties[p.name] = std::move(property);
    if (p.required) required.push_back(p.name);
  }
  return Json{{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

constexpr struct {
  ToolSet set;
  const char* name;
} kSetNames[] = {{ToolSet::kStreamMemory, "stream"},
                 {ToolSet::kConversationMemory, "memory"},
                 {ToolSet::kDocuments, "documents"}};

}  // namespace

const std::vector<ToolDef>& ToolsOf(ToolSet set) {
  switch (set) {
    case ToolSet::kStreamMemory:
      return StreamTools();
    case ToolSet::kConversationMemory:
      return ConversationMemoryTools();
    case ToolSet::kDocuments:
      break;
  }
  return DocumentTools();
}

const ToolDef* FindTool(ToolSet set, std::string_view name) {
  for (const ToolDef& tool : ToolsOf(set)) {
    if (name == tool.name) return &tool;
  }
  return nullptr;
}

std::string ToolNames(ToolSet set) {
  std::string names;
  for (const ToolDef& tool : ToolsOf(set)) {
    names += (names.empty() ? "" : ", ") + std::string(tool.name);
  }
  return names;
}

std::string ParametersJson(const ToolDef& tool) { return chat_json::Dump(Parameters(tool)); }

ToolSchema AsToolSchema(const ToolDef& tool) {
  return ToolSchema{tool.name, tool.description, 0, ParametersJson(tool)};
}

std::string ToolSchemasJson(ToolSet set, WireFormat wire) {
  Json out = Json::array();
  for (const ToolDef& tool : ToolsOf(set)) {
    out.push_back(chat_json::ToolEntry(wire, tool.name, tool.description, Parameters(tool)));
  }
  return chat_json::Dump(out);
}

Result<ToolSet> ParseToolSet(std::string_view name) {
  std::string names;
  for (const auto& entry : kSetNames) {
    if (name == entry.name) return entry.set;
    names += (names.empty() ? "'" : ", '") + std::string(entry.name) + "'";
  }
  return Status::InvalidArgument("tool set must be one of " + names + ", not '" +
                                 std::string(name) + "'");
}

Result<std::string> ToolSchemas(std::string_view set, WireFormat wire) {
  auto tools = ParseToolSet(set);
  if (!tools.ok()) return tools.status();
  return ToolSchemasJson(*tools, wire);
}

}  // namespace vmllm
