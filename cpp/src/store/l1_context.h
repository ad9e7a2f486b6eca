// L1Context: the resident set of one context window, within a token budget.
//
// Each resident page is held either in full or as its summary (a cheaper view). Pages keep the
// order in which they entered, which is the order BuildContext renders them in.
//
// Thread safety: none; the pager serialises calls.
#ifndef VMLLM_STORE_L1_CONTEXT_H_
#define VMLLM_STORE_L1_CONTEXT_H_

#include <list>
#include <unordered_map>
#include <vector>

#include "vmllm/tier.h"
#include "vmllm/tokenizer.h"

namespace vmllm {

class L1Context : public Tier {
 public:
  struct Resident {
    std::string text;
    size_t tokens = 0;
    bool is_summary = false;
  };

  // `tokenizer` must outlive the context.
  L1Context(size_t budget_tokens, const Tokenizer* tokenizer)
      : budget_(budget_tokens), tokenizer_(tokenizer) {}

  TierId id() const override { return TierId::kL1; }
  // Stores `text` in full, counting its tokens. Does not check the budget: the pager makes room.
  Status Put(PageKey key, std::string_view text) override;
  Result<std::string> Get(PageKey key) override;
  Status Erase(PageKey key) override;
  Result<bool> Contains(PageKey key) override { return Find(key) != nullptr; }
  TierUsage Usage() const override { return TierUsage{entries_.size(), bytes_}; }

  // Stores a view whose token count the caller already knows; replaces any earlier view.
  void PutView(PageKey key, std::string text, size_t tokens, bool is_summary);
  const Resident* Find(PageKey key) const;
  std::vector<PageKey> Order() const { return {order_.begin(), order_.end()}; }

  size_t budget() const { return budget_; }
  size_t used_tokens() const { return used_tokens_; }
  size_t free_tokens() const { return used_tokens_ >= budget_ ? 0 : budget_ - used_tokens_; }

 private:
  struct Slot {
    Resident resident;
    std::list<PageKey>::iterator position;
  };

  const size_t budget_;
  const Tokenizer* tokenizer_;
  std::list<PageKey> order_;
  std::unordered_map<PageKey, Slot> entries_;
  size_t used_tokens_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace vmllm

#endif  // VMLLM_STORE_L1_CONTEXT_H_
