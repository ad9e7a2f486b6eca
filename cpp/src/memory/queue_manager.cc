#include "memory/queue_manager.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

namespace vmllm {

std::vector<bool> SafeCuts(const std::vector<QueueItem>& queue) {
  const size_t n = queue.size();
  // Each tool-call id spans from its call to its last result; a call still waiting for a
  // result spans to the end of the queue. A cut inside a span would orphan a call or a result.
  struct Span {
    size_t first;
    size_t last;
    bool answered;
  };
  std::unordered_map<std::string, Span> spans;
  for (size_t i = 0; i < n; ++i) {
    for (const std::string& id : queue[i].tool_call_ids) spans[id] = Span{i, i, false};
    const std::string& answered = queue[i].tool_call_id;
    if (answered.empty()) continue;
    auto it = spans.find(answered);
    if (it == spans.end()) {
      spans.emplace(answered, Span{i, i, true});
    } else {
      it->second.last = i;
      it->second.answered = true;
    }
  }
  // Difference array: cuts k with first < k <= end are unsafe.
  std::vector<int> cover(n + 2, 0);
  for (const auto& entry : spans) {
    const Span& s = entry.second;
    const size_t end = s.answered ? s.last : n;
    if (end <= s.first) continue;
    cover[s.first + 1] += 1;
    cover[end + 1] -= 1;
  }
  std::vector<bool> safe(n + 1, true);
  int depth = 0;
  for (size_t k = 0; k <= n; ++k) {
    depth += cover[k];
    safe[k] = depth == 0;
  }
  return safe;
}

std::vector<std::string> OpenToolCalls(const std::vector<QueueItem>& queue) {
  std::vector<std::string> open;
  for (const QueueItem& item : queue) {
    for (const std::string& id : item.tool_call_ids) open.push_back(id);
    if (!item.tool_call_id.empty()) {
      open.erase(std::remove(open.begin(), open.end(), item.tool_call_id), open.end());
    }
  }
  return open;
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
