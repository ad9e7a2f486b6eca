// The queue manager's decisions, as pure functions over a queue's shape: where the FIFO queue
// may be cut without separating a tool call from its results, and how far a flush evicts.
// No I/O and no clock, so the invariants are tested exhaustively on small queues.
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

// safe[k] is true when evicting items [0, k) and keeping [k, n) separates no tool call from
// any of its results. A call still waiting for its result reaches to the end of the queue, so
// the result will find its call. safe[0] is always true.
std::vector<bool> SafeCuts(const std::vector<QueueItem>& queue);

// Tool-call ids of assistant messages that still wait for a result.
std::vector<std::string> OpenToolCalls(const std::vector<QueueItem>& queue);

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
