// SchemaPolicy: which tool schemas a stream request carries in full, which as stubs, and which
// of vmllm's memory tools it offers.
//
// The tools array is the front of the provider's cached prefix: a change there re-writes the
// whole cache. So a schema changes shape rarely, and never before the model has had it:
//   - a tool the model has not seen in full (the first request of a session, a tool the client
//     adds, a schema the client changes) goes up whole;
//   - a schema becomes a stub (name, first line of its description, empty parameters) once it
//     has gone `schema_idle_turns` turns without being called since it was last seen whole or
//     called; a call brings it back whole, and the count starts again;
//   - the tool the request's tool_choice names is never a stub;
//   - memory tools go after the client's tools, in the registry's order; recall is offered to
//     any conversation with tools, release and compact from advisory pressure on, and a memory
//     tool once offered stays offered for the rest of the session.
//
// Thread safety: none; StreamPolicy serialises calls.
#ifndef VMLLM_STREAM_SCHEMA_POLICY_H_
#define VMLLM_STREAM_SCHEMA_POLICY_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "chat/message.h"
#include "vmllm/stream.h"

namespace vmllm {

// What the session remembers about tools, saved with its state.
struct SchemaState {
  struct Tool {
    std::string page;  // Of the schema last seen: another page is a changed schema.
    long active = 0;   // Turn it was last called or newly seen whole.
  };
  std::map<std::string, Tool> tools;  // The client's tools by name.
  std::set<std::string> offered;      // Memory tools offered so far.
};

struct SchemaPlan {
  std::set<std::string> stubbed;  // Names of the schemas stubbed in this request.
  bool offered_more = false;      // A memory tool offered for the first time.
};

// Decides the tool edits of one request (Edits::tool_stub and add_tools) and updates `state`.
// `turn_of[i]` is the turn of conv.msgs[i]; `current` the request's turn count; `pressure` 0
// (none) to 3 (aggressive).
SchemaPlan PlanSchemas(const StreamConfig& config, const Conversation& conv,
                       const std::vector<long>& turn_of, long current, int pressure,
                       SchemaState* state, Edits* edits);

}  // namespace vmllm

#endif  // VMLLM_STREAM_SCHEMA_POLICY_H_
