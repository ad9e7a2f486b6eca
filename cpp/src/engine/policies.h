// Constructors of the built-in eviction policies; NewEvictionPolicy picks one by name.
#ifndef VMLLM_ENGINE_POLICIES_H_
#define VMLLM_ENGINE_POLICIES_H_

#include <memory>

#include "engine/priority_policy.h"

namespace vmllm {

std::unique_ptr<EvictionPolicy> NewLruPolicy(const Clock* clock);
std::unique_ptr<EvictionPolicy> NewLfuPolicy(const Clock* clock);
std::unique_ptr<EvictionPolicy> NewGdsfPolicy(const Clock* clock);
std::unique_ptr<EvictionPolicy> NewFifoAgePolicy(const Clock* clock);
std::unique_ptr<EvictionPolicy> NewClockPolicy(const Clock* clock);
std::unique_ptr<EvictionPolicy> NewArcPolicy(const Clock* clock);
// `window` is τ in the clock's unit (seconds, or turns under a replay's turn clock).
std::unique_ptr<EvictionPolicy> NewWorkingSetPolicy(const Clock* clock, double window);

// τ of "working-set" when the name carries no ":τ" suffix.
inline constexpr double kDefaultWorkingSetWindow = 4.0;

}  // namespace vmllm

#endif  // VMLLM_ENGINE_POLICIES_H_
