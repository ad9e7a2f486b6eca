// CLOCK (second chance; Corbató 1968): resident pages sit on a ring with a reference bit. The
// hand sweeps: a page with its bit set loses the bit and is passed over once; the first page
// without it is the victim. An approximation of LRU that costs O(1) per access, no reordering.
#include "engine/policies.h"

#include <list>
#include <unordered_map>

namespace vmllm {
namespace {

class ClockPolicy : public EvictionPolicy {
 public:
  std::string Name() const override { return "clock"; }
  void OnInsert(PageKey key, size_t tokens) override {
    // A new page goes just behind the hand, so it is the last the hand reaches.
    const bool was_empty = ring_.empty();
    where_[key] = ring_.insert(was_empty ? ring_.end() : hand_, Slot{key, false});
    if (was_empty) hand_ = ring_.begin();
  }
  void OnAccess(PageKey key) override {
    auto it = where_.find(key);
    if (it != where_.end()) it->second->referenced = true;
  }
  void OnErase(PageKey key) override {
    auto it = where_.find(key);
    if (it == where_.end()) return;
    auto pos = it->second;
    if (pos == hand_) hand_ = std::next(pos);
    ring_.erase(pos);
    where_.erase(it);
    if (hand_ == ring_.end()) hand_ = ring_.begin();
  }
  std::optional<PageKey> PickVictim(const std::function<bool(PageKey)>& evictable) override {
    if (ring_.empty()) return std::nullopt;
    // Two full sweeps suffice: the first clears every bit it passes.
    for (size_t step = 0; step < 2 * ring_.size() + 1; ++step) {
      Slot& slot = *hand_;
      Advance();
      if (!evictable(slot.key)) continue;
      if (slot.referenced) {
        slot.referenced = false;
        continue;
      }
      return slot.key;
    }
    return std::nullopt;
  }
  size_t size() const override { return where_.size(); }

 private:
  struct Slot {
    PageKey key;
    bool referenced;
  };
  void Advance() {
    ++hand_;
    if (hand_ == ring_.end()) hand_ = ring_.begin();
  }

  std::list<Slot> ring_;
  std::list<Slot>::iterator hand_ = ring_.end();
  std::unordered_map<PageKey, std::list<Slot>::iterator> where_;
};

}  // namespace

std::unique_ptr<EvictionPolicy> NewClockPolicy(const Clock* clock) {
  return std::make_unique<ClockPolicy>();
}

}  // namespace vmllm
