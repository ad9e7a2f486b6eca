// EvictionPolicy: decides which resident L1 page leaves when room is needed.
//
// The pager tells the policy when a page enters L1 (OnInsert), is used (OnAccess) and leaves
// (OnErase); PickVictim names the least valuable resident page among those the pager allows
// (pinned pages and the page being loaded are never allowed). Policies do no I/O and read time
// only from the injected Clock, so their tests are deterministic.
//
// Policies by name:
//   "lru"   least recently used (the seed's policy): oldest last access leaves first.
//   "lfu"   least frequently used; ties broken by older last access.
//   "gdsf"  Greedy-Dual-Size-Frequency: priority = L + frequency / size; the lowest leaves and L
//           rises to its priority, so large, rarely used pages leave before small hot ones and
//           old priorities age out.
//   "fifo-age"  Pichay's: the page that entered L1 first leaves first; accesses do not matter.
//   "clock"  second chance: a ring with reference bits; a referenced page is passed over once.
//   "working-set" / "working-set:τ"  Denning: pages not referenced within the last τ clock
//           units (default 4) leave first, largest first; then LRU. Expired() lists them.
//   "arc"   adaptive replacement cache: recency (T1) and frequency (T2) lists whose balance
//           adapts to hits in ghost lists of recently evicted keys.
// Belady's MIN needs the future and so exists only in trace replay (vmllm replay).
//
// Thread safety: none; the pager serialises calls.
#ifndef VMLLM_EVICTION_POLICY_H_
#define VMLLM_EVICTION_POLICY_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vmllm/clock.h"
#include "vmllm/page.h"
#include "vmllm/status.h"

namespace vmllm {

class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;
  virtual std::string Name() const = 0;
  // REQUIRES: `key` is not already tracked.
  virtual void OnInsert(PageKey key, size_t tokens) = 0;
  virtual void OnAccess(PageKey key) = 0;
  virtual void OnErase(PageKey key) = 0;
  virtual std::optional<PageKey> PickVictim(const std::function<bool(PageKey)>& evictable) = 0;
  virtual size_t size() const = 0;
  // Pages the policy would drop even without pressure (working-set: outside the window), oldest
  // first. Most policies have none.
  virtual std::vector<PageKey> Expired() const { return {}; }
};

// InvalidArgument for an unknown name. `clock` must outlive the policy.
Result<std::unique_ptr<EvictionPolicy>> NewEvictionPolicy(const std::string& name,
                                                          const Clock* clock);

// The names NewEvictionPolicy accepts.
std::vector<std::string> EvictionPolicyNames();

}  // namespace vmllm

#endif  // VMLLM_EVICTION_POLICY_H_
