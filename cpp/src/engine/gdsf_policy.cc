// GDSF (Greedy-Dual-Size-Frequency; Cherkasova 1998): priority = L + frequency * cost / size.
// With a uniform fault cost, a large page must be used proportionally more often to stay, so
// one big, cold page leaves before several small, hot ones. L, the inflation value, rises to
// each victim's priority, so pages that were hot long ago age out instead of staying forever.
#include "engine/policies.h"

namespace vmllm {
namespace {

class GdsfPolicy : public PriorityPolicy {
 public:
  using PriorityPolicy::PriorityPolicy;
  std::string Name() const override { return "gdsf"; }

 protected:
  double Priority(const PageState& page) const override {
    return inflation_ + static_cast<double>(page.frequency) / static_cast<double>(page.tokens);
  }
  void OnVictim(double victim_priority) override {
    if (victim_priority > inflation_) inflation_ = victim_priority;
  }

 private:
  double inflation_ = 0;
};

}  // namespace

std::unique_ptr<EvictionPolicy> NewGdsfPolicy(const Clock* clock) {
  return std::make_unique<GdsfPolicy>(clock);
}

}  // namespace vmllm
