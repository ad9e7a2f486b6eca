// The chat message model: a request in a wire-neutral shape, and the edits made to it.
//
// The wire adapters (wire.h) are the only code that sees OpenAI or Anthropic JSON: they parse a
// request into a Conversation and apply Edits to the original document, so everything left
// unedited (model, temperature, unknown fields) goes upstream byte for byte as parsed.
#ifndef VMLLM_CHAT_MESSAGE_H_
#define VMLLM_CHAT_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "vmllm/wire_format.h"

namespace vmllm {

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text as sent; CanonicalArguments (arguments.h) sorts it.
};

struct Msg {
  enum Kind { kSystem, kUser, kAssistant, kToolResult } kind = kUser;
  std::string text;               // Text content; for a tool result, the result.
  std::vector<ToolCall> calls;    // Assistant tool calls.
  std::string tool_call_id;       // Tool result: the call it answers.
  bool is_error = false;          // Tool result flagged as an error.
  size_t wire_message = 0;        // Index in the request's messages array (Responses: input
                                  // items; an assistant Msg is a run of items, from its first).
  int wire_block = -1;            // Anthropic: index of the block in that message's content.
  size_t call_bytes = 0;          // Bytes of the calls' names and arguments.
  // Fnv1a64(text) of a tool result, computed once when the wire parser first reads the item
  // (a message resent unchanged is not hashed again); unset for other messages.
  bool text_hashed = false;
  uint64_t text_hash = 0;
};

// A tool as offered to the model. `json` is what the wire adapter renders the tool from: for a
// parsed request, the client's whole tool entry; for a tool vmllm adds, its parameters schema.
struct ToolSchema {
  std::string name;
  std::string description;
  size_t json_bytes = 0;  // Of the full schema as sent.
  std::string json;       // Compact JSON.
};

struct Conversation {
  WireFormat wire = WireFormat::kOpenAI;
  // Anthropic's top-level system text, Responses' "instructions" (Chat Completions keeps it in
  // messages).
  std::string system;
  std::vector<ToolSchema> tools;
  std::string forced_tool;  // Named by the request's tool_choice; "" when none is.
  std::vector<Msg> msgs;
  size_t wire_messages = 0;  // Entries of "messages" (Responses: items of "input").
};

// One whole-turn compaction: wire messages [from, to) become one user message `text`.
struct Fold {
  size_t from = 0, to = 0;
  std::string text;
};

struct Edits {
  std::map<size_t, std::string> result_text;  // Index in Conversation::msgs -> new content.
  std::map<size_t, ToolSchema> tool_stub;      // Index in Conversation::tools -> short schema.
  std::vector<ToolSchema> add_tools;           // Appended: json is the parameters schema.
  std::vector<Fold> folds;                     // Non-overlapping, any order.
};

}  // namespace vmllm

#endif  // VMLLM_CHAT_MESSAGE_H_
