// The chat wire formats vmllm reads and writes: requests, responses and tool schemas.
//
// One enum for the whole chat layer (cpp/src/chat): the stream proxy picks the format by route,
// conversation memory by the caller's `format` argument. A new format is one more enumerator,
// one more name below and one more branch in each chat adapter.
#ifndef VMLLM_WIRE_FORMAT_H_
#define VMLLM_WIRE_FORMAT_H_

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

}  // namespace vmllm

#endif  // VMLLM_WIRE_FORMAT_H_
