// Conversation: a chat request in a wire-neutral shape, and the edits the policy makes to it.
//
// The JSON adapter (wire_json.cc) is the only code that sees OpenAI or Anthropic JSON: it parses
// a request into a Conversation and applies Edits to the original document, so everything it
// does not edit (model, temperature, unknown fields) goes upstream byte for byte as parsed.
#ifndef VMLLM_STREAM_CONVERSATION_H_
#define VMLLM_STREAM_CONVERSATION_H_

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vmllm/status.h"
#include "vmllm/stream.h"

namespace vmllm {

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // Canonical JSON: keys sorted, compact, so equal calls compare equal.
};

struct Msg {
  enum Kind { kSystem, kUser, kAssistant, kToolResult } kind = kUser;
  std::string text;               // Text content; for a tool result, the result.
  std::vector<ToolCall> calls;    // Assistant tool calls.
  std::string tool_call_id;       // Tool result: the call it answers.
  bool is_error = false;          // Tool result flagged as an error.
  size_t wire_message = 0;        // Index in the request's messages array.
  int wire_block = -1;            // Anthropic: index of the block in that message's content.
  size_t call_bytes = 0;          // Bytes of the calls' names and arguments.
};

struct ToolSchema {
  std::string name;
  std::string description;
  size_t json_bytes = 0;  // Of the full schema as sent.
  std::string json;       // The full schema, compact JSON.
};

struct Conversation {
  WireFormat wire = WireFormat::kOpenAI;
  std::string system;  // Anthropic's top-level system text (OpenAI keeps it in messages).
  std::vector<ToolSchema> tools;
  std::vector<Msg> msgs;
  size_t wire_messages = 0;
};

// One whole-turn compaction: wire messages [from, to) become one user message `text`.
struct Fold {
  size_t from = 0, to = 0;
  std::string text;
};

struct Edits {
  std::map<size_t, std::string> result_text;  // Index in Conversation::msgs -> new content.
  std::map<size_t, ToolSchema> tool_stub;      // Index in Conversation::tools -> short schema.
  std::vector<ToolSchema> add_tools;           // Appended (the memory tools); json unused.
  std::vector<Fold> folds;                     // Non-overlapping, any order.
};

// A parsed request whose JSON document stays inside the adapter.
class WireRequest {
 public:
  virtual ~WireRequest() = default;
  virtual const Conversation& conversation() const = 0;
  // The request with `edits` applied, as compact JSON. Edits the parsed document in place (no
  // copy of a large body): call it once.
  virtual std::string Render(const Edits& edits) = 0;
};

// InvalidArgument, naming what is wrong, for malformed JSON or the wrong shape.
Result<std::unique_ptr<WireRequest>> ParseWireRequest(WireFormat wire, const std::string& body);

// Tool calls of an upstream non-streaming response.
Result<std::vector<ToolCall>> ParseResponseCalls(WireFormat wire, const std::string& response);

// `request` followed by the response's assistant message and one tool result per entry of
// `results` (call id -> content).
Result<std::string> AppendToolExchange(WireFormat wire, const std::string& request,
                                       const std::string& response,
                                       const std::vector<std::pair<std::string, std::string>>& results);

// Parses a JSON arguments object (string form) into canonical JSON; "" stays "{}". The second
// member is a short human key: the first path-, url-, query- or command-like argument.
std::pair<std::string, std::string> CanonicalArguments(const std::string& json);

// String values of array `field` in a JSON object (e.g. page_ids of a recall call).
std::vector<std::string> StringListArgument(const std::string& json, const std::string& field);
std::string StringArgument(const std::string& json, const std::string& field);
long IntArgument(const std::string& json, const std::string& field, long fallback);

}  // namespace vmllm

#endif  // VMLLM_STREAM_CONVERSATION_H_
