// FaultInjectingTier: wraps any tier and makes its calls fail at random, with a seed, so a test
// can prove that a failing tier never loses a page and that every error reaches the caller.
#ifndef VMLLM_TESTING_FAULT_INJECTING_TIER_H_
#define VMLLM_TESTING_FAULT_INJECTING_TIER_H_

#include <atomic>
#include <mutex>
#include <random>

#include "vmllm/tier.h"

namespace vmllm {

class FaultInjectingTier : public TierWrapper {
 public:
  // Each Put/Get/Erase/Contains fails with probability `failure_rate`.
  FaultInjectingTier(std::unique_ptr<Tier> target, double failure_rate, uint64_t seed)
      : TierWrapper(std::move(target)), failure_rate_(failure_rate), rng_(seed) {}

  Status Put(PageKey key, std::string_view text) override {
    if (Fail()) return Injected();
    return TierWrapper::Put(key, text);
  }
  Result<std::string> Get(PageKey key) override {
    if (Fail()) return Injected();
    return TierWrapper::Get(key);
  }
  Status Erase(PageKey key) override {
    if (Fail()) return Injected();
    return TierWrapper::Erase(key);
  }
  Result<bool> Contains(PageKey key) override {
    if (Fail()) return Injected();
    return TierWrapper::Contains(key);
  }

  void set_failure_rate(double rate) { failure_rate_ = rate; }
  uint64_t injected() const { return injected_; }

 private:
  bool Fail() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::uniform_real_distribution<double>(0, 1)(rng_) < failure_rate_;
  }
  Status Injected() {
    ++injected_;
    return Status::BackendUnavailable("injected fault");
  }

  std::atomic<double> failure_rate_;
  std::mutex mu_;
  std::mt19937_64 rng_;
  std::atomic<uint64_t> injected_{0};
};

}  // namespace vmllm

#endif  // VMLLM_TESTING_FAULT_INJECTING_TIER_H_
