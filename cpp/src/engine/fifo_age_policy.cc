// FIFO by age (Pichay's policy): the page that entered L1 first leaves first, however often it
// was used since. Cheap and predictable: a stale tool result ages out in insertion order, which
// is what an append-only message stream produces anyway.
#include "engine/policies.h"

#include <list>
#include <unordered_map>

namespace vmllm {
namespace {

class FifoAgePolicy : public EvictionPolicy {
 public:
  std::string Name() const override { return "fifo-age"; }
  void OnInsert(PageKey key, size_t tokens) override {
    where_[key] = order_.insert(order_.end(), key);
  }
  void OnAccess(PageKey key) override {}  // Age counts from insertion only.
  void OnErase(PageKey key) override {
    auto it = where_.find(key);
    if (it == where_.end()) return;
    order_.erase(it->second);
    where_.erase(it);
  }
  std::optional<PageKey> PickVictim(const std::function<bool(PageKey)>& evictable) override {
    for (PageKey key : order_) {
      if (evictable(key)) return key;
    }
    return std::nullopt;
  }
  size_t size() const override { return where_.size(); }

 private:
  std::list<PageKey> order_;  // Oldest insertion first.
  std::unordered_map<PageKey, std::list<PageKey>::iterator> where_;
};

}  // namespace

std::unique_ptr<EvictionPolicy> NewFifoAgePolicy(const Clock* clock) {
  return std::make_unique<FifoAgePolicy>();
}

}  // namespace vmllm
