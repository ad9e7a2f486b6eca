// The wire adapters: chat requests and responses of each WireFormat in and out of the message
// model (message.h). The stream layer's only door to OpenAI and Anthropic JSON.
//
// Thread safety: free functions without shared state; a WireRequest is used by one thread.
#ifndef VMLLM_CHAT_WIRE_H_
#define VMLLM_CHAT_WIRE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/message.h"
#include "vmllm/status.h"
#include "vmllm/wire_format.h"

namespace vmllm {

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

}  // namespace vmllm

#endif  // VMLLM_CHAT_WIRE_H_
