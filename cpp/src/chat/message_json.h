// One chat message in the OpenAI Chat shape, as conversation memory stores it: validated into
// plain fields and canonical JSON, and written back for the messages vmllm makes itself.
// Malformed JSON becomes InvalidArgument.
//
// Thread safety: free functions without shared state.
#ifndef VMLLM_CHAT_MESSAGE_JSON_H_
#define VMLLM_CHAT_MESSAGE_JSON_H_

#include <string>
#include <string_view>
#include <vector>

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

}  // namespace vmllm

#endif  // VMLLM_CHAT_MESSAGE_JSON_H_
