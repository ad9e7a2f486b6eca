// The JSON adapter of the memory layer: the only file of it that includes nlohmann/json.
// It validates OpenAI-style messages and tool calls into plain structs, and renders messages,
// tool results and tool schemas back to JSON text. Malformed JSON becomes InvalidArgument.
//
// Thread safety: free functions without shared state.
#ifndef VMLLM_MEMORY_MESSAGE_JSON_H_
#define VMLLM_MEMORY_MESSAGE_JSON_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vmllm/conversation_memory.h"
#include "vmllm/status.h"

namespace vmllm {

struct ParsedMessage {
  std::string role;                         // system, user, assistant or tool.
  std::string canonical;                    // Compact JSON, keys sorted: what is sent and counted.
  std::string text;                         // The content's text.
  std::vector<std::string> tool_call_ids;   // An assistant message's tool calls,
  std::vector<std::string> tool_call_names; // their function names
  std::vector<std::string> tool_call_texts; // and "name arguments" (searchable).
  std::string tool_call_id;                 // A tool message's call.
};

// REQUIRES nothing: any input is checked, first against kMaxMessageBytes and kMaxJsonDepth
// (vmllm/json_limits.h). Content may be a string, null (an assistant message
// with tool calls) or a list of parts whose "text" fields are searched.
Result<ParsedMessage> ParseMessage(std::string_view json);

// A message with plain string content, as canonical JSON.
std::string TextMessageJson(std::string_view role, std::string_view content);
// A tool result message, as canonical JSON.
std::string ToolMessageJson(std::string_view tool_call_id, std::string_view content);

struct ArgValue {
  enum class Type { kString, kInteger, kBool, kOther } type = Type::kOther;
  std::string text;  // kString: the string; otherwise the JSON text.
  int64_t integer = 0;
  bool boolean = false;
};

struct ParsedToolCall {
  std::string id;
  std::string name;
  std::map<std::string, ArgValue> args;
  std::string error;  // Arguments that are not a JSON object: the call fails, its id is kept.
};

// OpenAI {"id","type":"function","function":{"name","arguments":"<json>"}}, Anthropic
// {"type":"tool_use","id","name","input":{...}} or {"name","arguments":{...}|"<json>"}.
Result<ParsedToolCall> ParseToolCall(std::string_view json);

// {"status":"OK"|"Failed","message":...}
std::string ToolStatusJson(bool ok, std::string_view message);
// {"status":"OK","page":p,"total_pages":n,"total":t,"results":[{"timestamp","role","content"}]}
std::string SearchPageJson(const MemorySearchPage& page, bool with_role);

struct ToolParam {
  const char* name;
  const char* type;  // JSON schema type: string, integer, boolean.
  const char* description;
  bool required;
};

struct ToolSpec {
  const char* name;
  const char* description;
  std::vector<ToolParam> params;
};

// "openai": [{"type":"function","function":{"name","description","parameters"}}];
// "anthropic": [{"name","description","input_schema"}].
std::string ToolSchemasJson(const std::vector<ToolSpec>& specs, bool anthropic);

}  // namespace vmllm

#endif  // VMLLM_MEMORY_MESSAGE_JSON_H_
