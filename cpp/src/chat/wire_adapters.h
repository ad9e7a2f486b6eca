// The per-format pieces of the wire adapters: how one item of a request's conversation, its
// tools and its system text read into the message model, and how an edit writes back into one
// item. wire_request.cc cuts a request into these pieces (and reuses them across requests);
// wire_json.cc implements them for each WireFormat. A new format is one more case in each.
//
// Thread safety: pure functions.
#ifndef VMLLM_CHAT_WIRE_ADAPTERS_H_
#define VMLLM_CHAT_WIRE_ADAPTERS_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/message.h"
#include "vmllm/status.h"
#include "vmllm/wire_format.h"

namespace vmllm::wire_adapters {

// Key order as the client sent it, so what is re-rendered differs only where the policy edits.
using json = nlohmann::ordered_json;

// The top-level member holding the conversation's items.
const char* ItemsMember(WireFormat wire);
// The top-level member holding the system text, or nullptr when it sits among the items.
const char* SystemMember(WireFormat wire);

// Appends the messages of item `index` of the conversation to `out` (each with wire_message =
// `index`); InvalidArgument naming what is wrong. Responses gives each item of a model response
// its own kAssistant Msg; MergeResponseRuns joins them.
Status ParseItem(WireFormat wire, size_t index, const json& item, std::vector<Msg>* out);
// The request's tools that are pages (function tools), in order, and each one's index in
// `tools` (Responses keeps built-in tools beside them).
Status ParseTools(WireFormat wire, const json& tools, std::vector<ToolSchema>* out,
                  std::vector<size_t>* entries);
Status ParseSystem(WireFormat wire, const json& system, std::string* out);

// Replaces the content of tool result `msg` (one parsed from `item`) with `text`.
void SetResultText(WireFormat wire, const Msg& msg, const std::string& text, json* item);
// A tool entry for `tool` (whose json is its parameters schema; empty for a stub's).
json ToolEntry(WireFormat wire, const ToolSchema& tool);
// The one item that stands for folded turns.
json FoldItem(WireFormat wire, const std::string& text);

}  // namespace vmllm::wire_adapters

#endif  // VMLLM_CHAT_WIRE_ADAPTERS_H_
