// PriorityPolicy: the shared base of policies that rank resident pages by one number.
//
// Each tracked page has a priority; the lowest evictable one is the victim, ties going to the
// page touched longest ago. Subclasses say only how a priority is computed (and, for aging
// policies such as GDSF, what a victim's departure changes).
#ifndef VMLLM_ENGINE_PRIORITY_POLICY_H_
#define VMLLM_ENGINE_PRIORITY_POLICY_H_

#include <set>
#include <tuple>
#include <unordered_map>

#include "vmllm/eviction_policy.h"

namespace vmllm {

class PriorityPolicy : public EvictionPolicy {
 public:
  explicit PriorityPolicy(const Clock* clock) : clock_(clock) {}

  void OnInsert(PageKey key, size_t tokens) override;
  void OnAccess(PageKey key) override;
  void OnErase(PageKey key) override;
  std::optional<PageKey> PickVictim(const std::function<bool(PageKey)>& evictable) override;
  size_t size() const override { return pages_.size(); }

 protected:
  struct PageState {
    uint64_t frequency = 0;   // Accesses while resident, counting the insert.
    size_t tokens = 1;
    double last_access = 0;   // From the clock.
  };
  virtual double Priority(const PageState& page) const = 0;
  virtual void OnVictim(double victim_priority) {}

 private:
  using Rank = std::tuple<double, uint64_t, PageKey>;  // Priority, recency sequence, key.
  struct Tracked {
    PageState state;
    Rank rank;
  };
  void Rerank(PageKey key, Tracked* tracked);

  const Clock* clock_;
  uint64_t sequence_ = 0;
  std::unordered_map<PageKey, Tracked> pages_;
  std::set<Rank> order_;  // Lowest first: the next victim.
};

}  // namespace vmllm

#endif  // VMLLM_ENGINE_PRIORITY_POLICY_H_
