// The cache gate: which of the results eligible for eviction are worth a prompt-cache rewrite.
//
// Stubbing results from wire message p on changes the request from p on, so the provider
// re-writes its cached prefix from there: this request pays the write price instead of the read
// price for what the previous request had after p (the messages new since it, from the newest
// assistant message on, are written either way). Every later request reads the saved tokens
// fewer:
//     cost(p)    = cached_tail_tokens(p, after stubbing) * (cache_write_price - cache_read_price)
//     benefit(p) = saved_tokens(candidates at or after p) * cache_read_price * turns_left
// with turns_left = max(min_expected_turns, turns so far) (a session that has run T turns is,
// absent other knowledge, about as likely to run T more). The gate applies the suffix of the
// candidates (in message order) with the largest benefit - cost, if positive; the older rest
// waits, and a young result is never held back by an old one deep in the cached prefix: young
// results are the cheap ones to page out, their cached tail being short. When the
// prefix is re-written from `changed` anyway (a recall), candidates after it cost nothing.
// Tokens are estimated as bytes / 4: the gate needs ratios, not exact counts.
//
// Thread safety: a pure function.
#ifndef VMLLM_STREAM_CACHE_GATE_H_
#define VMLLM_STREAM_CACHE_GATE_H_

#include <cstddef>
#include <vector>

#include "chat/message.h"
#include "vmllm/stream.h"

namespace vmllm {

struct GateCandidate {
  size_t wire_message = 0;
  double saved_bytes = 0;  // Result bytes minus its stub's.
};

// Index of the first of `candidates` (sorted by wire_message) to evict now; candidates.size()
// when none is worth it.
size_t FirstWorthEvicting(const Conversation& conv, const std::vector<GateCandidate>& candidates,
                          const StreamConfig& config, long turns_so_far, size_t changed);

}  // namespace vmllm

#endif  // VMLLM_STREAM_CACHE_GATE_H_
