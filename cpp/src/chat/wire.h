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

// InvalidArgument, naming what is wrong, for malformed JSON, the wrong shape, or a body past
// the JSON limits (json_limits.h).
Result<std::unique_ptr<WireRequest>> ParseWireRequest(WireFormat wire, const std::string& body);

// Parses the successive requests of one conversation. An agent resends its whole history each
// time, so every item (message) whose bytes equal the previous request's item at the same index
// is taken from the previous parse, and so is its rendering when its edits are the same: past
// a scan of the body's structure (memchr over the strings), a request costs what is new in it.
// Rendering splices the edited items into the body as received, so every byte the policy does
// not edit goes upstream as the client sent it.
//
// Thread safety: none; one conversation's requests are parsed and rendered in turn (the
// WireRequest of a Parse must be rendered, or dropped, before the next Parse).
class WireParser {
 public:
  WireParser();
  ~WireParser();
  WireParser(const WireParser&) = delete;
  WireParser& operator=(const WireParser&) = delete;

  // As ParseWireRequest.
  Result<std::unique_ptr<WireRequest>> Parse(WireFormat wire, const std::string& body);

  struct Parsed;  // What the previous request left to reuse (wire_request.cc).

 private:
  std::shared_ptr<Parsed> last_;
};

// Tool calls of an upstream non-streaming response.
Result<std::vector<ToolCall>> ParseResponseCalls(WireFormat wire, const std::string& response);

// `request` followed by the response's assistant message and one tool result per entry of
// `results` (call id -> content).
Result<std::string> AppendToolExchange(WireFormat wire, const std::string& request,
                                       const std::string& response,
                                       const std::vector<std::pair<std::string, std::string>>& results);

}  // namespace vmllm

#endif  // VMLLM_CHAT_WIRE_H_
