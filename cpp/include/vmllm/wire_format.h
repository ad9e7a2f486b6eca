// The chat wire formats vmllm reads and writes: requests, responses and tool schemas.
//
// One enum for the whole chat layer (cpp/src/chat): the stream proxy picks the format by route,
// conversation memory by the caller's `format` argument. A new format is one more enumerator,
// one more name below and one more branch in each chat adapter.
#ifndef VMLLM_WIRE_FORMAT_H_
#define VMLLM_WIRE_FORMAT_H_

#include <string>
#include <string_view>

#include "vmllm/status.h"

namespace vmllm {

enum class WireFormat {
  kOpenAI,           // Chat Completions: "openai".
  kAnthropic,        // Messages: "anthropic".
  kOpenAIResponses,  // Responses (/v1/responses): "openai-responses".
};

// "openai", "anthropic" or "openai-responses".
const char* WireFormatName(WireFormat wire);

// The format named `name`; InvalidArgument "<what> must be 'openai', 'anthropic' or
// 'openai-responses', not '<name>'".
Result<WireFormat> ParseWireFormat(std::string_view name, std::string_view what = "format");

// What names a request's conversation, read without parsing the body: the bytes of its model,
// system text and first two items (what stays the same while a conversation grows, each
// length-prefixed so no two heads read alike), and whether it continues a conversation the
// upstream keeps (Responses' previous_response_id). InvalidArgument for a body whose structure
// is broken; the rest of the body is checked when it is parsed.
struct RequestHead {
  std::string identity;
  bool upstream_history = false;
};
Result<RequestHead> ReadRequestHead(WireFormat wire, const std::string& body);

}  // namespace vmllm

#endif  // VMLLM_WIRE_FORMAT_H_
