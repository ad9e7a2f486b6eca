#include "vmllm/eviction_policy.h"

#include "engine/policies.h"

namespace vmllm {
namespace {

struct NamedPolicy {
  const char* name;
  std::unique_ptr<EvictionPolicy> (*make)(const Clock*);
};

const NamedPolicy kPolicies[] = {
    {"lru", NewLruPolicy},
    {"lfu", NewLfuPolicy},
    {"gdsf", NewGdsfPolicy},
};

}  // namespace

Result<std::unique_ptr<EvictionPolicy>> NewEvictionPolicy(const std::string& name,
                                                          const Clock* clock) {
  for (const auto& p : kPolicies) {
    if (name == p.name) return p.make(clock);
  }
  std::string known;
  for (const auto& p : kPolicies) known += std::string(known.empty() ? "" : ", ") + p.name;
  return Status::InvalidArgument("unknown eviction policy '" + name + "' (known: " + known + ")");
}

std::vector<std::string> EvictionPolicyNames() {
  std::vector<std::string> names;
  for (const auto& p : kPolicies) names.emplace_back(p.name);
  return names;
}

}  // namespace vmllm
