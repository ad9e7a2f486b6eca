#include "stream/cache_gate.h"

#include <algorithm>
#include <cstdint>

namespace vmllm {

size_t FirstWorthEvicting(const Conversation& conv, const std::vector<GateCandidate>& candidates,
                          const StreamConfig& config, long turns_so_far, size_t changed) {
  // The previous request ended before the newest assistant message: what follows it is new and
  // written to the cache either way.
  size_t fresh = SIZE_MAX;
  for (size_t i = conv.msgs.size(); i-- > 0;) {
    if (conv.msgs[i].kind == Msg::kAssistant) {
      fresh = conv.msgs[i].wire_message;
      break;
    }
  }
  // Bytes of the cached prefix from each candidate's message on, as received.
  std::vector<double> tail(candidates.size(), 0);
  for (const Msg& m : conv.msgs) {
    if (m.wire_message >= std::min(changed, fresh)) break;  // Written anyway from there.
    const double bytes = static_cast<double>(m.text.size() + m.call_bytes);
    for (size_t c = 0; c < candidates.size() && candidates[c].wire_message <= m.wire_message;
         ++c) {
      tail[c] += bytes;
    }
  }
  const double turns_left =
      std::max(config.min_expected_turns, static_cast<double>(turns_so_far));
  size_t best = candidates.size();
  double best_gain = 0, saved = 0;
  for (size_t c = candidates.size(); c-- > 0;) {
    saved += candidates[c].saved_bytes;
    const double rewrite = std::max(0.0, tail[c] - saved) / 4.0;
    const double gain = saved / 4.0 * config.cache_read_price * turns_left -
                        rewrite * (config.cache_write_price - config.cache_read_price);
    if (gain > best_gain) {
      best_gain = gain;
      best = c;
    }
  }
  return best;
}

}  // namespace vmllm
