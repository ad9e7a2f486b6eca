#include "engine/priority_policy.h"

namespace vmllm {

void PriorityPolicy::OnInsert(PageKey key, size_t tokens) {
  Tracked& t = pages_[key];
  t.state = PageState{1, tokens > 0 ? tokens : 1, clock_->Now()};
  t.rank = Rank(Priority(t.state), ++sequence_, key);
  order_.insert(t.rank);
}

void PriorityPolicy::OnAccess(PageKey key) {
  auto it = pages_.find(key);
  if (it == pages_.end()) return;
  ++it->second.state.frequency;
  it->second.state.last_access = clock_->Now();
  Rerank(key, &it->second);
}

void PriorityPolicy::OnErase(PageKey key) {
  auto it = pages_.find(key);
  if (it == pages_.end()) return;
  order_.erase(it->second.rank);
  pages_.erase(it);
}

std::optional<PageKey> PriorityPolicy::PickVictim(
    const std::function<bool(PageKey)>& evictable) {
  for (const Rank& rank : order_) {
    PageKey key = std::get<2>(rank);
    if (evictable(key)) {
      OnVictim(std::get<0>(rank));
      return key;
    }
  }
  return std::nullopt;
}

void PriorityPolicy::Rerank(PageKey key, Tracked* t) {
  order_.erase(t->rank);
  t->rank = Rank(Priority(t->state), ++sequence_, key);
  order_.insert(t->rank);
}

}  // namespace vmllm
