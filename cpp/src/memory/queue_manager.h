// The queue manager's decisions, as pure functions over a queue's shape: how a queue pairs
// tool calls with their results, where the FIFO queue may be cut without separating a tool call
// from its results, and how far a flush evicts. No I/O and no clock, so the invariants are
// tested exhaustively on small queues.
//
// The pairing rule (what providers accept: OpenAI Chat wants every assistant tool call answered
// by a tool message right after it, Anthropic Messages a tool_result in the very next turn):
// the tool results of an assistant message's calls follow it directly. Its calls stay open
// only while nothing else has come after it; the first message that is not a result for one
// of them closes the rest with a synthetic result, and a result that answers no open call (it
// came late, twice, or for a call that is not in the queue) becomes a note instead.
//
// Thread safety: free functions without shared state.
#ifndef VMLLM_MEMORY_QUEUE_MANAGER_H_
#define VMLLM_MEMORY_QUEUE_MANAGER_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace vmllm {

// What the queue manager needs to know about one queued message.
struct QueueItem {
  size_t tokens = 0;
  std::vector<std::string> tool_call_ids;  // An assistant message's calls.
  std::string tool_call_id;                // A tool message's call.
};

// One step of the provider-valid form of a queue (see PlanPairing).
struct PairingStep {
  enum class Kind {
    kKeep,        // Queue item `index`, as it is.
    kCloseCall,   // A synthetic tool result closing call `call_id`, which got none in time.
    kLateResult,  // Queue item `index`, a tool result that answers no open call: as a note.
  };
  Kind kind = Kind::kKeep;
  size_t index = 0;
  std::string call_id;

  bool operator==(const PairingStep& o) const {
    return kind == o.kind && index == o.index && call_id == o.call_id;
  }
};

// The queue in provider-valid form: every item once, in order, with synthetic results closing
// the calls that a later message left unanswered and late results turned into notes. The last
// assistant message's calls stay open while only their results follow it (they are awaited).
// A queue that is already valid gives one kKeep per item.
std::vector<PairingStep> PlanPairing(const std::vector<QueueItem>& queue);

// Tool-call ids still awaiting a result: those of the last assistant message with calls, when
// only results for its calls follow it. A result for any other id would come late.
std::vector<std::string> OpenToolCalls(const std::vector<QueueItem>& queue);

// safe[k] is true when evicting items [0, k) and keeping [k, n) separates no tool call from
// any of its results. An open call (see OpenToolCalls) reaches to the end of the queue, so its
// result will find it; a call left unanswered in the middle of a queue (written before calls
// were closed) reaches only over the results right after it, so it never blocks a flush.
// safe[0] is always true.
std::vector<bool> SafeCuts(const std::vector<QueueItem>& queue);

struct CutPlan {
  size_t evict = 0;        // Items [0, evict) leave the queue.
  size_t kept_tokens = 0;  // Tokens of the items that stay.
  bool reached_target = false;
};

// The smallest safe cut that brings `fixed_tokens` plus the kept items to at most
// `target_tokens`; failing that, the largest safe cut (if it is within `limit_tokens`).
// The newest item always stays (a flush never empties the queue the model must answer), and
// so do the items from index `max_evict` on (the newest message, when a warning follows it).
// std::nullopt when no safe cut fits within `limit_tokens`.
std::optional<CutPlan> ChooseCut(const std::vector<QueueItem>& queue, size_t fixed_tokens,
                                 size_t target_tokens, size_t limit_tokens,
                                 size_t max_evict = static_cast<size_t>(-1));

}  // namespace vmllm

#endif  // VMLLM_MEMORY_QUEUE_MANAGER_H_
