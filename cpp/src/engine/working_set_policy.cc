// Working set (Denning 1968): the pages referenced within the last τ units of time are the
// working set W(t, τ). Pages outside it go first, the largest of them first (none of them is
// in use, so one eviction should free as much room as possible); only when every candidate is
// in the working set does the policy fall back to LRU. Expired() lists the pages outside the
// window so a caller can trim them without waiting for pressure, as Denning's policy does.
// τ is read in the clock's unit: seconds from a wall clock, turns from a replay's turn clock.
#include "engine/policies.h"

#include <algorithm>
#include <unordered_map>

namespace vmllm {
namespace {

class WorkingSetPolicy : public EvictionPolicy {
 public:
  WorkingSetPolicy(const Clock* clock, double window) : clock_(clock), window_(window) {}
  std::string Name() const override { return "working-set"; }
  void OnInsert(PageKey key, size_t tokens) override {
    pages_[key] = State{clock_->Now(), ++sequence_, tokens};
  }
  void OnAccess(PageKey key) override {
    auto it = pages_.find(key);
    if (it == pages_.end()) return;
    it->second.last_access = clock_->Now();
    it->second.sequence = ++sequence_;
  }
  void OnErase(PageKey key) override { pages_.erase(key); }
  std::optional<PageKey> PickVictim(const std::function<bool(PageKey)>& evictable) override {
    const double now = clock_->Now();
    std::optional<PageKey> outside, lru;
    const State* best_outside = nullptr;
    const State* best_lru = nullptr;
    for (const auto& [key, state] : pages_) {
      if (!evictable(key)) continue;
      if (now - state.last_access > window_) {
        if (!best_outside || state.tokens > best_outside->tokens ||
            (state.tokens == best_outside->tokens && state.sequence < best_outside->sequence)) {
          best_outside = &state;
          outside = key;
        }
      }
      if (!best_lru || state.sequence < best_lru->sequence) {
        best_lru = &state;
        lru = key;
      }
    }
    return outside ? outside : lru;
  }
  std::vector<PageKey> Expired() const override {
    const double now = clock_->Now();
    std::vector<std::pair<uint64_t, PageKey>> out;
    for (const auto& [key, state] : pages_) {
      if (now - state.last_access > window_) out.emplace_back(state.sequence, key);
    }
    std::sort(out.begin(), out.end());  // Oldest first, independent of hash order.
    std::vector<PageKey> keys;
    for (const auto& entry : out) keys.push_back(entry.second);
    return keys;
  }
  size_t size() const override { return pages_.size(); }

 private:
  struct State {
    double last_access;
    uint64_t sequence;  // Recency order; breaks ties between equal timestamps.
    size_t tokens;
  };
  const Clock* clock_;
  double window_;
  uint64_t sequence_ = 0;
  std::unordered_map<PageKey, State> pages_;
};

}  // namespace

std::unique_ptr<EvictionPolicy> NewWorkingSetPolicy(const Clock* clock, double window) {
  return std::make_unique<WorkingSetPolicy>(clock, window);
}

}  // namespace vmllm
