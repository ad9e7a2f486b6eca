// Message-stream paging: an agent's request as pages, and the policy that shrinks it.
//
// An agent resends its whole conversation on every call. StreamSession sits between the agent
// and the inference API (OpenAI Chat Completions, OpenAI Responses or Anthropic Messages) and
// rewrites each request:
//   - every tool result and tool schema is a page, named by a hash of its content ("p-" + 16 hex
//     digits), kept in the session's page store, so the same content is the same page on every
//     request;
//   - a tool result older than `tau_turns` turns and larger than `min_evict_bytes` leaves the
//     request as a stub naming the page, the tool and key it came from, its size, and how to get
//     it back; a stub depends only on the page and its call, so it is byte-identical on every
//     later request and the provider's cached prefix survives;
//   - error results and results of the newest turn never leave;
//   - a result the conversation made obsolete (the same call issued again, or a later edit of
//     the file it showed) leaves as soon as it is obsolete, below τ and despite a pin, and
//     re-reading an edited file is not a fault;
//   - while the session thrashes (`thrash_faults` faults within `thrash_window_turns` turns), the
//     faulting tool's results are kept too, and τ grows by `thrash_growth` per episode, up to
//     8×, shrinking back after a quiet window;
//   - a tool schema goes up whole until it has gone `schema_idle_turns` turns uncalled, then as a
//     stub (name, first line of the description, empty input schema); a call brings it back
//     whole for another `schema_idle_turns`. A tool the model has not yet seen whole (every tool
//     of a session's first request, one the client adds or changes) and the tool `tool_choice`
//     names are never stubs. The memory tools below follow the client's tools, and once offered
//     stay offered: the tools array, the front of the cached prefix, seldom changes;
//   - the model can call three injected tools: `vmllm_recall(page_ids)` restores pages in place,
//     `vmllm_release(page_ids)` lets them go now, `vmllm_compact(from_turn, to_turn, summary)`
//     folds whole turns into the model's own summary (the originals stay pages);
//   - a fault is a recall, or the same tool call (name and arguments) issued again while its
//     earlier result is paged out. A key that faulted is pinned: its later results stay in full
//     until a fresh result for the same key differs from the pinned one.
// A tool call is never separated from its result: only result contents and schemas change, and
// compaction removes whole turns. What the policy does not understand (Anthropic thinking and
// redacted_thinking blocks with their signatures, cache_control, Responses reasoning and
// built-in tool items, unknown fields) goes upstream byte for byte.
//
// Turns: by default a turn is one model call (an assistant message; in the Responses format, a
// run of consecutive assistant, function_call and reasoning items), which is what ages a tool
// result in an agent loop with a single human message; `count_user_messages_only` counts only
// human-written user messages instead, as Pichay's "user turns".
//
// Pressure, as a fraction of `window_tokens` (0 disables): at `advisory` the memory tools are
// offered; at `involuntary` eligible results are evicted even if the cache-aware gate says wait;
// at `aggressive` every tool result outside the newest turn is eligible regardless of age.
//
// Cache-aware batching (see docs in stream_session.cc): evicting changes the request at the
// first stub's position, so the provider must re-write its cached prefix from there. Evictions
// are held back and applied as one batch when the tokens they save over the expected remaining
// turns are worth more than that re-write. `cache_aware = false` evicts as soon as eligible.
//
// Where pages live: a session made with an engine keeps every page (and its own state: stubs,
// pins, compactions, fault history, counters) in the engine's store, in space
// "stream:<name>". Its memory is then bounded by the engine's tiers, a restarted process resumes
// the session byte for byte, and processes sharing the store share the session (each rewrite
// first catches up with what another process wrote; concurrent rewrites are serialised by a
// compare-and-swap of the session's record). A request that changes no decision (the same
// history sent again) is not written; its counters go with the next write, at the latest 16
// requests on, so processes sharing a session may lose a few of each other's counts, never a
// stub or a pin. Without an engine, pages are kept in RAM.
//
// Thread safety: a StreamSession is safe to share between threads (one mutex).
#ifndef VMLLM_STREAM_H_
#define VMLLM_STREAM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vmllm/pager.h"
#include "vmllm/status.h"
#include "vmllm/wire_format.h"

namespace vmllm {

// The defaults are the setting that cost least in replay at fault rate <= 1% (BENCHMARKS.md,
// "Paging that pays"): a young result is cheap to page out because little of the cached prefix
// follows it, so τ = 1 with the cache gate beats no paging under prompt-cache prices, where
// τ = 4 evicting eagerly cost 17-24% more than no paging.
struct StreamConfig {
  int tau_turns = 1;
  size_t min_evict_bytes = 500;
  bool count_user_messages_only = false;
  bool stub_unused_tools = true;
  int schema_idle_turns = 8;  // Turns a schema goes uncalled before it is stubbed.
  bool inject_memory_tools = true;
  // Pressure thresholds as fractions of window_tokens; window_tokens = 0 turns pressure off.
  size_t window_tokens = 0;
  double advisory = 0.5, involuntary = 0.75, aggressive = 0.9;
  // Cache-aware batching. Prices are per million tokens; only their ratios matter.
  bool cache_aware = true;
  double input_price = 3.0;        // Uncached input.
  double cache_write_price = 3.75;  // Writing a prefix into the cache.
  double cache_read_price = 0.30;   // Reading a cached prefix.
  double min_expected_turns = 2.0;  // Floor of the remaining-turns estimate.
  // Thrashing (see the fault monitor in engine/fault_monitor.h): `thrash_faults` faults within
  // `thrash_window_turns` turns multiply τ by `thrash_growth` (up to 8×); 0 faults: off.
  int thrash_window_turns = 10;
  int thrash_faults = 1;
  double thrash_growth = 2.0;
};

// Counters since the session began.
struct StreamStats {
  uint64_t requests = 0;
  uint64_t turns = 0;            // Of the latest request.
  uint64_t pages = 0;            // Distinct pages in the store.
  uint64_t evictions = 0;        // Distinct tool results turned into stubs.
  uint64_t faults = 0;           // Recalls plus re-issued calls of paged-out results.
  uint64_t recall_faults = 0;
  uint64_t reissue_faults = 0;
  uint64_t pinned_keys = 0;
  uint64_t unpins = 0;
  uint64_t schema_stubs = 0;     // Schemas stubbed in the latest request.
  uint64_t releases = 0;
  uint64_t compactions = 0;
  uint64_t deferred_by_cache = 0;  // Requests where the cache gate held evictions back.
  uint64_t bytes_in = 0;         // Payload bytes as received, summed over requests.
  uint64_t bytes_out = 0;        // Payload bytes as forwarded.
  std::string pressure = "none";  // none | advisory | involuntary | aggressive (latest request).
};

// What one rewrite did.
struct RewriteReport {
  size_t bytes_before = 0, bytes_after = 0;
  size_t stubbed_results = 0, stubbed_schemas = 0;
  size_t new_evictions = 0, new_faults = 0;
  // Index of the first message whose bytes differ from the request as received (SIZE_MAX if
  // none): where the provider's cached prefix stops matching.
  size_t first_changed_message = SIZE_MAX;
};

class StreamSession {
 public:
  explicit StreamSession(StreamConfig config = {});
  // A session kept in `engine`'s store under `space` (see above). `engine` must outlive the
  // session. REQUIRES: `space` starts with "stream:"; the caller checked its name.
  StreamSession(StreamConfig config, Pager* engine, std::string space);
  ~StreamSession();
  StreamSession(const StreamSession&) = delete;
  StreamSession& operator=(const StreamSession&) = delete;

  // Rewrites a request body. InvalidArgument (with a reason) for malformed JSON or a body that
  // is not a chat request of that format; the session is unchanged then. With an engine, the
  // request's new pages and the session's state are durable before this returns; a store
  // error is returned as it is (the caller may forward the request unchanged).
  Result<std::string> Rewrite(WireFormat wire, const std::string& body,
                              RewriteReport* report = nullptr);

  // The body the next Rewrite of `body` would forward, for counting its tokens (Anthropic's
  // count_tokens) without sending it: no state, counter or page of the session changes and
  // nothing is written to the store. InvalidArgument as Rewrite; with an engine, a store error
  // reading the session's latest state is returned as it is.
  Result<std::string> Preview(WireFormat wire, const std::string& body) const;

  // Given the request as the client sent it (or as extended by an earlier FollowUp) and the
  // upstream's non-streaming response: if the response calls only vmllm_* memory tools, the
  // request extended by that exchange, unrewritten (so it can be chained), and in `rewritten`
  // the same request rewritten, which the proxy sends upstream instead of returning the response
  // to the client. Empty strings if the response should go to the client as it is.
  // InvalidArgument for a malformed response.
  Status FollowUp(WireFormat wire, const std::string& request, const std::string& response,
                  std::string* extended, std::string* rewritten);

  // The full text of a page. NotFound for an unknown id. With an engine the page is paged in
  // to the session's space (its L1, then down the tiers), so reads stay within its budgets.
  Result<std::string> Page(const std::string& page_id) const;
  bool IsPinned(const std::string& tool, const std::string& arguments_json) const;
  StreamStats Stats() const;
  const StreamConfig& config() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// "p-" + 16 lowercase hex digits of a 64-bit FNV-1a hash of `content`.
std::string StreamPageId(const std::string& content);

}  // namespace vmllm

#endif  // VMLLM_STREAM_H_
