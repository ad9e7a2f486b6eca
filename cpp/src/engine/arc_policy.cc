// ARC (Megiddo & Modha 2003), simplified to the pager's interface. Resident pages are split into
// T1 (seen once recently) and T2 (seen at least twice); ghost lists B1 and B2 remember the keys
// (not the data) of pages recently evicted from each. A page re-inserted while its key is in B1
// shows that T1 was too small, so the target size p of T1 grows; a hit in B2 shrinks it. The
// victim is T1's LRU page while T1 is above its target, else T2's LRU page. The capacity c used
// to bound the ghosts is the largest resident count seen, since the pager budgets tokens, not
// page slots.
#include "engine/policies.h"

#include <algorithm>
#include <list>
#include <unordered_map>

namespace vmllm {
namespace {

class ArcPolicy : public EvictionPolicy {
 public:
  std::string Name() const override { return "arc"; }

  void OnInsert(PageKey key, size_t tokens) override {
    auto ghost = where_.find(key);
    if (ghost != where_.end() && ghost->second.list == kB1) {
      const double delta = std::max(1.0, double(lists_[kB2].size()) / lists_[kB1].size());
      p_ = std::min(p_ + delta, double(capacity_));
      Move(key, kT2);
    } else if (ghost != where_.end() && ghost->second.list == kB2) {
      const double delta = std::max(1.0, double(lists_[kB1].size()) / lists_[kB2].size());
      p_ = std::max(p_ - delta, 0.0);
      Move(key, kT2);
    } else {
      Move(key, kT1);
    }
    capacity_ = std::max(capacity_, lists_[kT1].size() + lists_[kT2].size());
  }
  void OnAccess(PageKey key) override {
    auto it = where_.find(key);
    if (it == where_.end() || it->second.list > kT2) return;
    Move(key, kT2);  // Seen twice: frequency side, MRU end.
  }
  void OnErase(PageKey key) override {
    auto it = where_.find(key);
    if (it == where_.end() || it->second.list > kT2) return;
    Move(key, it->second.list == kT1 ? kB1 : kB2);
    TrimGhosts();
  }
  std::optional<PageKey> PickVictim(const std::function<bool(PageKey)>& evictable) override {
    const bool t1_first = !lists_[kT1].empty() && double(lists_[kT1].size()) > p_;
    const int order[2] = {t1_first ? kT1 : kT2, t1_first ? kT2 : kT1};
    for (int list : order) {
      for (PageKey key : lists_[list]) {  // LRU end first.
        if (evictable(key)) return key;
      }
    }
    return std::nullopt;
  }
  size_t size() const override { return lists_[kT1].size() + lists_[kT2].size(); }

  double target_t1() const { return p_; }

 private:
  enum List { kT1 = 0, kT2 = 1, kB1 = 2, kB2 = 3 };
  struct Where {
    int list;
    std::list<PageKey>::iterator pos;
  };
  void Move(PageKey key, int to) {
    auto it = where_.find(key);
    if (it != where_.end()) lists_[it->second.list].erase(it->second.pos);
    where_[key] = Where{to, lists_[to].insert(lists_[to].end(), key)};
  }
  void TrimGhosts() {
    while (lists_[kB1].size() + lists_[kB2].size() > capacity_) {
      int from = lists_[kB1].size() >= lists_[kB2].size() ? kB1 : kB2;
      where_.erase(lists_[from].front());
      lists_[from].pop_front();
    }
  }

  std::list<PageKey> lists_[4];  // Each ordered LRU first.
  std::unordered_map<PageKey, Where> where_;
  double p_ = 0;
  size_t capacity_ = 1;
};

}  // namespace

std::unique_ptr<EvictionPolicy> NewArcPolicy(const Clock* clock) {
  return std::make_unique<ArcPolicy>();
}

}  // namespace vmllm
