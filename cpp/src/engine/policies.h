// Constructors of the built-in eviction policies; NewEvictionPolicy picks one by name.
#ifndef VMLLM_ENGINE_POLICIES_H_
#define VMLLM_ENGINE_POLICIES_H_

#include <memory>

#include "engine/priority_policy.h"

namespace vmllm {

std::unique_ptr<EvictionPolicy> NewLruPolicy(const Clock* clock);
std::unique_ptr<EvictionPolicy> NewLfuPolicy(const Clock* clock);
std::unique_ptr<EvictionPolicy> NewGdsfPolicy(const Clock* clock);

}  // namespace vmllm

#endif  // VMLLM_ENGINE_POLICIES_H_
