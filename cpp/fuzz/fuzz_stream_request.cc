// Fuzzes the stream layer's request parser and rewriter (vmllm/stream.h): any bytes, as an OpenAI
// or an Anthropic request, either rewrite or give InvalidArgument, never a crash; a session that
// accepted a request accepts it again (the request repeated is a valid next turn).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "vmllm/stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the wire format; the rest is the request body.
  vmllm::WireFormat wire = (data[0] & 1) ? vmllm::WireFormat::kAnthropic
                                         : vmllm::WireFormat::kOpenAI;
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  vmllm::StreamConfig config;
  config.tau_turns = 1;  // Evict early, so stubs are exercised on small inputs.
  config.min_evict_bytes = 8;
  vmllm::StreamSession session(config);
  auto first = session.Rewrite(wire, body);
  if (!first.ok()) {
    if (first.status().code() != vmllm::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  auto second = session.Rewrite(wire, body);
  if (!second.ok()) std::abort();
  return 0;
}
