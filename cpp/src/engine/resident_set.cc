#include "engine/resident_set.h"

namespace vmllm {

void ResidentSet::Admit(PageKey key, std::string view, size_t tokens, bool is_summary) {
  Remove(key);
  l1_.PutView(key, std::move(view), tokens, is_summary);
  policy_->OnInsert(key, tokens);
}

void ResidentSet::Remove(PageKey key) {
  if (!l1_.Find(key)) return;
  l1_.Erase(key);
  policy_->OnErase(key);
}

Status ResidentSet::MakeRoom(size_t tokens, const std::function<bool(PageKey)>& evictable,
                             const std::function<void(PageKey)>& evict) {
  while (l1_.used_tokens() + tokens > l1_.budget()) {
    auto victim = policy_->PickVictim(evictable);
    if (!victim) {
      return Status::ResourceExhausted(
          "L1 cannot make room for " + std::to_string(tokens) + " tokens: " +
          std::to_string(l1_.free_tokens()) + " of " + std::to_string(l1_.budget()) +
          " are free and every resident page is pinned or in use");
    }
    evict(*victim);
    if (l1_.Find(*victim)) return Status::Internal("an evicted page stayed resident");
  }
  return Status();
}

}  // namespace vmllm
