// Trace replay: how a recorded agent session would have fared under message-stream paging.
//
// A trace is one request body holding a whole recorded conversation (OpenAI or Anthropic
// format). Turn k is the k-th assistant message: the request that produced it is every message
// before it. Pages are the tool results. Replay walks the conversation once and reports, per
// turn and in total, what each policy would have sent.
//
// Policies:
//   "tau"     the stream policy itself (StreamPolicy: age τ, size s_min, errors and the newest
//             turn kept, fault-driven pinning); no token budget.
//   "tau-cache"  the same with cache-aware batching (StreamConfig's prices).
//   "default" the stream policy exactly as StreamConfig's defaults configure it (what the proxy
//             runs unless told otherwise), at the replay's prices; ignores τ and s_min.
//   any EvictionPolicyNames() name ("lru", "fifo-age", "clock", "working-set", "arc", ...):
//             tool-result pages live in an L1 of `l1_tokens`; when the resident results exceed
//             it, the policy picks victims (errors, the newest turn's results and results of at
//             most s_min bytes are never evictable). The policy's clock counts turns, so
//             working-set's τ is in turns; pages outside its window are also trimmed eagerly.
//   "belady"  MIN, knowing the future: the victim is the page whose next use, counted from the
//             current turn, is furthest away (never-used-again pages first, larger first). With
//             pages of equal size (`equal_page_tokens`) MIN is optimal and no policy faults less
//             (the tests check it); with real, unequal sizes it is a heuristic bound only.
// A page is used again when the same tool call (name and canonical arguments) is issued again;
// the use falls on the newest result of that call and supersedes it (stream/supersession.h), so
// each result is used at most once. Using a page that was evicted is a fault; re-reading a file
// whose earlier read an edit made stale is not. Superseded results leave first (every policy;
// "tau" as soon as they are superseded) and never fault. Fault rate = faults / evictions, over
// every eviction the policy made (superseded ones included; they are also counted apart).
//
// Thrashing: every policy runs a fault monitor (engine/fault_monitor.h, StreamConfig's thrash_*
// settings): faults in a recent window past the threshold pin the faulting call's key and its
// tool (their results are not evicted again until superseded) and grow the working set (the L1
// budget, or τ for "tau").
//
// Prompt-cache accounting: each request's longest common prefix with the previous request
// (system, schemas, then messages up to the first one an eviction changed) is read from the
// provider's cache; the rest is written (or plain input). Output tokens are the recorded
// assistant message's. A fault is charged one extra request: the paged request read from cache,
// the recalled page written. Prices are applied by the caller (python/vmllm/prices.json).
//
// Thread safety: ReplayTrace is a pure function; call it from any thread.
#ifndef VMLLM_REPLAY_H_
#define VMLLM_REPLAY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "vmllm/status.h"
#include "vmllm/stream.h"

namespace vmllm {

struct ReplayOptions {
  std::string policy = "tau";
  size_t l1_tokens = 4000;   // Budget for resident tool results (not "tau").
  StreamConfig stream;       // τ, s_min, thrash_*; for "tau" the whole stream policy.
  // Every tool result weighs this many tokens in the L1 budget (0: its real size), for the
  // equal-size setting where MIN is provably optimal.
  size_t equal_page_tokens = 0;
};

struct ReplayTurn {
  uint64_t bytes_full = 0, bytes_paged = 0;
  uint64_t tokens_full = 0, tokens_paged = 0;
  uint64_t evictions = 0, faults = 0;
  // Input tokens read from the provider's prompt cache (the prefix shared with the previous
  // request), without and with paging; the rest of tokens_full / tokens_paged is written.
  uint64_t cached_full = 0, cached_paged = 0;
  uint64_t output_tokens = 0;  // The recorded answer to this request.
  uint64_t fault_tokens = 0;   // Tokens of the pages faulted on in this turn.
};

// Cumulative input by what it is, without and with paging.
struct ReplayContentClass {
  std::string name;  // system, user text, assistant text, tool inputs, tool results, schemas
  uint64_t tokens_full = 0, tokens_paged = 0;
};

struct ReplayResult {
  std::string policy;
  uint64_t turns = 0;
  uint64_t tool_results = 0;
  uint64_t evictions = 0;
  uint64_t superseded_evictions = 0;  // Of `evictions`: results already superseded.
  uint64_t faults = 0;
  uint64_t pinned_keys = 0;      // Keys the fault monitor pinned.
  int max_growth_level = 0;      // Highest working-set growth step the monitor reached.
  // Sums over turns (what a provider bills): cumulative input with and without paging.
  uint64_t bytes_full = 0, bytes_paged = 0, tokens_full = 0, tokens_paged = 0;
  // Share of the unpaged input (bytes summed over turns) that is tool-result content at least τ
  // turns old: the bytes a pager can address.
  double structural_waste = 0;
  // Σ size × requests it was sent in full / Σ size, over tool results: how many times each byte
  // of a tool result is re-sent. Without paging and with.
  double amplification_full = 0, amplification_paged = 0;
  // Requests whose prefix differs from the previous request's (an eviction changed an earlier
  // message), and the tokens from the first change to the end that the provider re-writes.
  uint64_t cache_rewrites = 0, cache_rewrite_tokens = 0;
  std::vector<ReplayContentClass> classes;
  std::vector<ReplayTurn> per_turn;
};

// InvalidArgument for an unknown policy or a malformed trace.
Result<ReplayResult> ReplayTrace(WireFormat wire, const std::string& body,
                                 const ReplayOptions& options);

// The policy names replay accepts: "default", "tau", "tau-cache", every eviction policy, and
// "belady".
std::vector<std::string> ReplayPolicyNames();

}  // namespace vmllm

#endif  // VMLLM_REPLAY_H_
