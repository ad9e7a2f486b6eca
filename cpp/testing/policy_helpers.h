// Helpers shared by the eviction-policy tests.
#ifndef VMLLM_TESTING_POLICY_HELPERS_H_
#define VMLLM_TESTING_POLICY_HELPERS_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "vmllm/eviction_policy.h"

namespace vmllm {

// Every resident page may be evicted.
inline bool AnyPage(PageKey) { return true; }

// The policy called `name`; fails the test (and returns null) when the name is unknown.
inline std::unique_ptr<EvictionPolicy> MakePolicy(const std::string& name, const Clock* clock) {
  auto p = NewEvictionPolicy(name, clock);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : nullptr;
}

}  // namespace vmllm

#endif  // VMLLM_TESTING_POLICY_HELPERS_H_
