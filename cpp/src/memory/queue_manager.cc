#include "memory/queue_manager.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

namespace vmllm {
namespace {

// Walks the queue as PlanPairing describes, leaving in `open` the calls still awaited and in
// `open_at` the index of the assistant message that made them. One walk for PlanPairing,
// OpenToolCalls and SafeCuts, so the three can never disagree about which calls are open.
std::vector<PairingStep> Walk(const std::vector<QueueItem>& queue,
                              std::vector<std::string>* open, size_t* open_at) {
  std::vector<PairingStep> steps;
  steps.reserve(queue.size());
  open->clear();
  *open_at = 0;
  auto close_open = [&] {
    for (std::string& id : *open) {
      steps.push_back(PairingStep{PairingStep::Kind::kCloseCall, 0, std::move(id)});
    }
    open->clear();
  };
  for (size_t i = 0; i < queue.size(); ++i) {
    const QueueItem& item = queue[i];
    if (!item.tool_call_id.empty()) {
      auto it = std::find(open->begin(), open->end(), item.tool_call_id);
      if (it != open->end()) {
        open->erase(it);
        steps.push_back(PairingStep{PairingStep::Kind::kKeep, i, {}});
      } else {
        // As a note it is not a tool result, so it ends the group of the calls before it.
        close_open();
        steps.push_back(PairingStep{PairingStep::Kind::kLateResult, i, {}});
      }
      continue;
    }
    close_open();
    steps.push_back(PairingStep{PairingStep::Kind::kKeep, i, {}});
    if (!item.tool_call_ids.empty()) {
      *open = item.tool_call_ids;
      *open_at = i;
    }
  }
  return steps;
}

}  // namespace

std::vector<PairingStep> PlanPairing(const std::vector<QueueItem>& queue) {
  std::vector<std::string> open;
  size_t open_at;
  return Walk(queue, &open, &open_at);
}

std::vector<std::string> OpenToolCalls(const std::vector<QueueItem>& queue) {
  std::vector<std::string> open;
  size_t open_at;
  Walk(queue, &open, &open_at);
  return open;
}

std::vector<bool> SafeCuts(const std::vector<QueueItem>& queue) {
  const size_t n = queue.size();
  std::vector<std::string> open;
  size_t open_at = 0;
  Walk(queue, &open, &open_at);
  // A call and its results form a span from the call to its last result: a cut inside would
  // orphan a call or a result. A result pairs with the latest call of its id before it (ids
  // may be reused). The open calls span to the end of the queue: their results are to come.
  // A call that got no result and is not open spans nothing: nothing will ever answer it in
  // place, and keeping it would block every flush after it.
  std::vector<std::pair<size_t, size_t>> spans;  // [first, last]
  std::unordered_map<std::string, size_t> latest;  // id -> index in spans
  for (size_t i = 0; i < n; ++i) {
    for (const std::string& id : queue[i].tool_call_ids) {
      latest[id] = spans.size();
      spans.emplace_back(i, i);
    }
    const std::string& answered = queue[i].tool_call_id;
    if (answered.empty()) continue;
    auto it = latest.find(answered);
    if (it != latest.end()) spans[it->second].second = i;
  }
  if (!open.empty()) spans.emplace_back(open_at, n);
  // Difference array: cuts k with first < k <= last are unsafe.
  std::vector<int> cover(n + 2, 0);
  for (const auto& s : spans) {
    if (s.second <= s.first) continue;
    cover[s.first + 1] += 1;
    cover[s.second + 1] -= 1;
  }
  std::vector<bool> safe(n + 1, true);
  int depth = 0;
  for (size_t k = 0; k <= n; ++k) {
    depth += cover[k];
    safe[k] = depth == 0;
  }
  return safe;
}

std::optional<CutPlan> ChooseCut(const std::vector<QueueItem>& queue, size_t fixed_tokens,
                                 size_t target_tokens, size_t limit_tokens, size_t max_evict) {
  const size_t n = queue.size();
  if (n == 0) {
    if (fixed_tokens > limit_tokens) return std::nullopt;
    return CutPlan{0, 0, fixed_tokens <= target_tokens};
  }
  std::vector<bool> safe = SafeCuts(queue);
  size_t kept = 0;
  for (const QueueItem& item : queue) kept += item.tokens;
  std::optional<CutPlan> within_limit;
  // k = n would empty the queue: never.
  for (size_t k = 0; k < n && k <= max_evict; ++k) {
    if (k > 0) kept -= queue[k - 1].tokens;
    if (!safe[k]) continue;
    const size_t total = fixed_tokens + kept;
    if (total <= target_tokens) return CutPlan{k, kept, true};
    // Short of the target, evict as much as may be cut, so the next flush is far away.
    if (total <= limit_tokens) within_limit = CutPlan{k, kept, false};
  }
  return within_limit;
}

}  // namespace vmllm
