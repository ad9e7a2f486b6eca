#include "vmllm/eviction_policy.h"

#include <cstdlib>

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
    {"fifo-age", NewFifoAgePolicy},
    {"clock", NewClockPolicy},
    {"working-set",
     [](const Clock* clock) { return NewWorkingSetPolicy(clock, kDefaultWorkingSetWindow); }},
    {"arc", NewArcPolicy},
};

// "working-set:τ" picks the window; InvalidArgument unless τ is a positive number.
Result<std::unique_ptr<EvictionPolicy>> ParameterizedWorkingSet(const std::string& name,
                                                                 const Clock* clock) {
  const std::string arg = name.substr(name.find(':') + 1);
  char* end = nullptr;
  const double window = std::strtod(arg.c_str(), &end);
  if (arg.empty() || end != arg.c_str() + arg.size() || !(window > 0)) {
    return Status::InvalidArgument("working-set window must be a positive number, got '" + arg +
                                   "'");
  }
  return NewWorkingSetPolicy(clock, window);
}

}  // namespace

Result<std::unique_ptr<EvictionPolicy>> NewEvictionPolicy(const std::string& name,
                                                          const Clock* clock) {
  for (const auto& p : kPolicies) {
    if (name == p.name) return p.make(clock);
  }
  if (name.rfind("working-set:", 0) == 0) return ParameterizedWorkingSet(name, clock);
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
