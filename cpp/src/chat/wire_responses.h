// The OpenAI Responses adapter (/v1/responses), behind wire_adapters.h and wire.h's entry
// points: they cut and parse the body and turn JSON exceptions into InvalidArgument before
// calling these.
//
// A Responses request is "instructions" (the system text), "tools" (flat function entries next
// to built-in tools) and "input": a string, or a list of items. Items map to the message model
// as follows; whatever is not listed is kept byte for byte and never edited:
//   message (role user | system | developer)   -> kUser / kSystem
//   message (role assistant), function_call,
//   custom_tool_call, reasoning                -> one kAssistant Msg per run of such items: a
//                                                 model response, and so one turn
//   function_call_output,
//   custom_tool_call_output                    -> kToolResult (its "output" is what edits replace)
// Only "function" tools are pages and can be stubbed; built-in and custom tools are untouched.
//
// Thread safety: free functions without shared state.
#ifndef VMLLM_CHAT_WIRE_RESPONSES_H_
#define VMLLM_CHAT_WIRE_RESPONSES_H_

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/message.h"
#include "vmllm/status.h"

namespace vmllm::responses_wire {

// Appends the Msgs of input item `i` (wire_adapters.h's ParseItem for Responses): each item of a
// model response gives its own kAssistant Msg until MergeResponseRuns joins each run into one.
Status ParseItem(size_t i, const nlohmann::ordered_json& item, std::vector<Msg>* out);
void MergeResponseRuns(std::vector<Msg>* msgs);

// The function tools among `tools` (null: none) and their indices in it.
Status ParseTools(const nlohmann::ordered_json& tools, std::vector<ToolSchema>* out,
                  std::vector<size_t>* entries);

// The calls in a response's "output": function_call and custom_tool_call items as they are, and
// any other "*_call" item (a built-in tool) as a call named by its type, so that a response
// which also asks for something the client must see is never answered by vmllm alone.
Result<std::vector<ToolCall>> ResponseCalls(const nlohmann::ordered_json& response);

// Appends the response's output items (reasoning stays with the calls it led to) and one
// function_call_output per result to the request's "input" (a string input becomes its first
// user message).
Status AppendExchange(nlohmann::ordered_json* request, const nlohmann::ordered_json& response,
                      const std::vector<std::pair<std::string, std::string>>& results);

}  // namespace vmllm::responses_wire

#endif  // VMLLM_CHAT_WIRE_RESPONSES_H_
