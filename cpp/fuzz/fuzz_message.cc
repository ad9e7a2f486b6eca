// Fuzzes the chat layer's message and tool call parsers (chat/message_json.h, chat/arguments.h),
// which ConversationMemory.append and .execute feed with caller and model JSON: any bytes either
// parse or give InvalidArgument, never a crash (deep nesting included: the JSON limits refuse it
// before nlohmann recurses); a message that parses is canonical and within the depth limit, so
// what ConversationMemory stores loads again, in C++ and in Python.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "chat/arguments.h"
#include "chat/message_json.h"
#include "vmllm/json_limits.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto message = vmllm::ParseMessage(text);
  if (!message.ok()) {
    if (message.status().code() != vmllm::StatusCode::kInvalidArgument) std::abort();
  } else {
    if (vmllm::JsonDepth(message->canonical) > vmllm::kMaxJsonDepth) {
      std::fprintf(stderr, "stored a message nested deeper than the limit\n");
      std::abort();
    }
    auto again = vmllm::ParseMessage(message->canonical);
    if (!again.ok() || again->canonical != message->canonical || again->text != message->text ||
        again->tool_call_ids != message->tool_call_ids) {
      std::fprintf(stderr, "canonical message does not round-trip\n");
      std::abort();
    }
  }
  auto call = vmllm::ParseToolCall(text);
  if (!call.ok() && call.status().code() != vmllm::StatusCode::kInvalidArgument) std::abort();
  return 0;
}
