// The model-facing tools vmllm defines, in one table: each tool's name, description and
// parameters, rendered as a tool schema in any WireFormat.
//
// Three sets: the stream proxy's paging tools (vmllm_recall, vmllm_release, vmllm_compact), the
// MemGPT tools of conversation memory, and the document agent's tools (recall_page,
// search_memory). A front end decides what a call does; this table only says what the model is
// offered, so a name, a description or a parameter is written once.
//
// Thread safety: immutable after first use; safe from any thread.
#ifndef VMLLM_CHAT_TOOL_REGISTRY_H_
#define VMLLM_CHAT_TOOL_REGISTRY_H_

#include <string>
#include <string_view>
#include <vector>

#include "chat/message.h"
#include "vmllm/status.h"
#include "vmllm/wire_format.h"

namespace vmllm {

enum class ToolSet {
  kStreamMemory,        // "stream": paging of a message stream (stream/).
  kConversationMemory,  // "memory": MemGPT memory tools (memory/).
  kDocuments,           // "documents": the document agent (python/vmllm/agent.py).
};

// The stream tools by name: the policy acts on them.
inline constexpr char kStreamRecallTool[] = "vmllm_recall";
inline constexpr char kStreamReleaseTool[] = "vmllm_release";
inline constexpr char kStreamCompactTool[] = "vmllm_compact";

struct ToolParam {
  const char* name;
  const char* type;         // JSON schema type: string, integer, boolean or array.
  const char* description;  // "" leaves it out of the schema.
  bool required;
  const char* items = "";   // An array's item type.
};

struct ToolDef {
  const char* name;
  const char* description;
  std::vector<ToolParam> params;
};

// The tools of `set`, in the order their schemas list them.
const std::vector<ToolDef>& ToolsOf(ToolSet set);

// The tool of `set` named `name`; nullptr for a tool vmllm does not define (the client's own).
const ToolDef* FindTool(ToolSet set, std::string_view name);
inline bool IsStreamMemoryTool(std::string_view name) {
  return FindTool(ToolSet::kStreamMemory, name) != nullptr;
}
inline bool IsConversationMemoryTool(std::string_view name) {
  return FindTool(ToolSet::kConversationMemory, name) != nullptr;
}

// "a, b, c": the names of `set`, for a model that called a tool that does not exist.
std::string ToolNames(ToolSet set);

// {"type":"object","properties":{...},"required":[...]}, compact, in declaration order.
std::string ParametersJson(const ToolDef& tool);
// The tool as ToolSchema (json: its parameters), for a wire adapter to add to a request.
ToolSchema AsToolSchema(const ToolDef& tool);
// A JSON array of the schemas of `set`: OpenAI [{"type":"function","function":{"name",
// "description","parameters"}}], Anthropic [{"name","description","input_schema"}].
std::string ToolSchemasJson(ToolSet set, WireFormat wire);

// "stream", "memory" or "documents"; InvalidArgument for any other name.
Result<ToolSet> ParseToolSet(std::string_view name);

}  // namespace vmllm

#endif  // VMLLM_CHAT_TOOL_REGISTRY_H_
