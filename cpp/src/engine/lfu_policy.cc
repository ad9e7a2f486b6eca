// LFU: the page used least often while resident leaves first; among equals, the least recent.
#include "engine/policies.h"

namespace vmllm {
namespace {

class LfuPolicy : public PriorityPolicy {
 public:
  using PriorityPolicy::PriorityPolicy;
  std::string Name() const override { return "lfu"; }

 protected:
  double Priority(const PageState& page) const override {
    return static_cast<double>(page.frequency);
  }
};

}  // namespace

std::unique_ptr<EvictionPolicy> NewLfuPolicy(const Clock* clock) {
  return std::make_unique<LfuPolicy>(clock);
}

}  // namespace vmllm
