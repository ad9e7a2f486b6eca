// Fuzzes the stream layer's request parser and rewriter (vmllm/stream.h): any bytes, as an OpenAI
// Chat Completions, Anthropic or OpenAI Responses request, either rewrite or give InvalidArgument, never a crash; a session that
// accepted a request accepts it again (the request repeated is a valid next turn).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "vmllm/stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the wire format (0 OpenAI, 1 Anthropic, 2 Responses, as the seeds'
  // first bytes say); the rest is the request body.
  constexpr vmllm::WireFormat kWires[] = {vmllm::WireFormat::kOpenAI,
                                          vmllm::WireFormat::kAnthropic,
                                          vmllm::WireFormat::kOpenAIResponses};
  const vmllm::WireFormat wire = kWires[data[0] % 3];
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
  auto preview = session.Preview(wire, body);
  if (!preview.ok()) std::abort();
  auto second = session.Rewrite(wire, body);
  if (!second.ok()) std::abort();
  return 0;
}
