// LRU, the seed's policy: the page whose last access is oldest leaves first.
#include "engine/policies.h"

namespace vmllm {
namespace {

class LruPolicy : public PriorityPolicy {
 public:
  using PriorityPolicy::PriorityPolicy;
  std::string Name() const override { return "lru"; }

 protected:
  double Priority(const PageState& page) const override { return page.last_access; }
};

}  // namespace

std::unique_ptr<EvictionPolicy> NewLruPolicy(const Clock* clock) {
  return std::make_unique<LruPolicy>(clock);
}

}  // namespace vmllm
