// ResidentSet: the pages resident in one context (an L1 within a token budget) and the eviction
// policy that picks which of them leaves. The pager keeps one per space; trace replay drives the
// same class, so a policy is measured exactly as it runs.
//
// Thread safety: none; the owner serialises calls.
#ifndef VMLLM_ENGINE_RESIDENT_SET_H_
#define VMLLM_ENGINE_RESIDENT_SET_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/l1_context.h"
#include "vmllm/eviction_policy.h"

namespace vmllm {

class ResidentSet {
 public:
  // `tokenizer` must outlive the set.
  ResidentSet(size_t budget_tokens, const Tokenizer* tokenizer,
              std::unique_ptr<EvictionPolicy> policy)
      : l1_(budget_tokens, tokenizer), policy_(std::move(policy)) {}

  // Makes `key` resident as `view` (the page or its summary), replacing an earlier view.
  // Does not check the budget: MakeRoom first.
  void Admit(PageKey key, std::string view, size_t tokens, bool is_summary);
  // Drops `key` if resident.
  void Remove(PageKey key);
  // A use of a resident page, for the policy.
  void Touch(PageKey key) { policy_->OnAccess(key); }

  // Evicts, by policy and among the pages `evictable` allows, until `tokens` more fit in the
  // budget (0: until the set is within it). `evict` runs for each victim while it is still
  // resident and must Remove it. ResourceExhausted when nothing allowed is left to evict.
  Status MakeRoom(size_t tokens, const std::function<bool(PageKey)>& evictable,
                  const std::function<void(PageKey)>& evict);
  // Pages the policy drops even without pressure (working-set: outside its window).
  std::vector<PageKey> Expired() const { return policy_->Expired(); }

  const L1Context::Resident* Find(PageKey key) const { return l1_.Find(key); }
  std::vector<PageKey> Order() const { return l1_.Order(); }  // Order of entry.
  size_t budget() const { return l1_.budget(); }
  size_t used_tokens() const { return l1_.used_tokens(); }
  size_t free_tokens() const { return l1_.free_tokens(); }
  TierUsage Usage() const { return l1_.Usage(); }
  std::string policy_name() const { return policy_->Name(); }

 private:
  L1Context l1_;
  std::unique_ptr<EvictionPolicy> policy_;
};

}  // namespace vmllm

#endif  // VMLLM_ENGINE_RESIDENT_SET_H_
