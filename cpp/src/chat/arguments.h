// Tool-call arguments: canonical form, typed values, and single fields, for any wire format.
//
// Arguments are JSON inside JSON (OpenAI sends a string, Anthropic an object); these parse them
// once more, each time against vmllm/json_limits.h, since the envelope's check did not see
// inside the string.
//
// Thread safety: free functions without shared state.
#ifndef VMLLM_CHAT_ARGUMENTS_H_
#define VMLLM_CHAT_ARGUMENTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vmllm/status.h"

namespace vmllm {

// Parses a JSON arguments object (string form) into canonical JSON (keys sorted, compact, so
// equal calls compare equal); "" stays "{}". The second member is a short human key: the first
// path-, url-, query- or command-like argument. Text that is not JSON is its own canonical form.
std::pair<std::string, std::string> CanonicalArguments(const std::string& json);

// String values of array `field` in a JSON object (e.g. page_ids of a recall call); a lone
// string counts as a list of one.
std::vector<std::string> StringListArgument(const std::string& json, const std::string& field);
std::string StringArgument(const std::string& json, const std::string& field);
// An integer, or a string holding one (models quote numbers); `fallback` otherwise.
long IntArgument(const std::string& json, const std::string& field, long fallback);

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

// One tool call as a model emits it, in any shape: OpenAI
// {"id","type":"function","function":{"name","arguments":"<json>"}}, Anthropic
// {"type":"tool_use","id","name","input":{...}} or {"name","arguments":{...}|"<json>"}.
// InvalidArgument for JSON that is not an object with a name, or over kMaxMessageBytes.
Result<ParsedToolCall> ParseToolCall(std::string_view json);

}  // namespace vmllm

#endif  // VMLLM_CHAT_ARGUMENTS_H_
