// Tier: one level of the memory hierarchy, as a small key-value store of page texts.
//
// Every tier (L1 context, L2 hot RAM or Redis, L3 swap, L4 disk) answers the same five calls,
// so the pager treats them alike and tests can wrap any of them. Keys are store-assigned
// PageKeys, never user strings. A tier below L4 is a cache: losing its contents loses no page.
//
// Status contract: Get returns NotFound when the tier lacks the key; any other error means the
// tier itself failed (I/O, backend gone) and the caller should fall through to a lower tier.
//
// Thread safety: implementations are internally synchronised.
#ifndef VMLLM_TIER_H_
#define VMLLM_TIER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vmllm/page.h"
#include "vmllm/status.h"

namespace vmllm {

struct TierUsage {
  uint64_t pages = 0;
  uint64_t bytes = 0;
};

class Tier {
 public:
  virtual ~Tier() = default;
  virtual TierId id() const = 0;
  virtual Status Put(PageKey key, std::string_view text) = 0;
  virtual Result<std::string> Get(PageKey key) = 0;
  virtual Status Erase(PageKey key) = 0;  // OK when absent.
  virtual Result<bool> Contains(PageKey key) = 0;
  virtual TierUsage Usage() const = 0;

  // Get for many keys at once, one result per key in order. Remote tiers override it to make
  // one round trip (Redis pipelining); the default calls Get for each key.
  virtual std::vector<Result<std::string>> GetMany(const std::vector<PageKey>& keys) {
    std::vector<Result<std::string>> out;
    out.reserve(keys.size());
    for (PageKey key : keys) out.push_back(Get(key));
    return out;
  }

  // Called synchronously, from inside this tier's own calls, for each entry the tier drops on
  // its own (byte cap, TTL), so the page table never claims a copy that is gone. Tiers whose
  // backend expires entries out of sight (Redis) cannot report them; readers then find out on
  // the next Get.
  using DropListener = std::function<void(PageKey)>;
  virtual void SetDropListener(DropListener listener) {}
};

// Forwards every call to `target`; subclass it and override one call to change one behaviour
// (fault injection, counting, latency). GetMany is not forwarded: it goes through this
// wrapper's Get, so an overridden Get sees batch reads too.
class TierWrapper : public Tier {
 public:
  explicit TierWrapper(std::unique_ptr<Tier> target) : target_(std::move(target)) {}
  TierId id() const override { return target_->id(); }
  Status Put(PageKey key, std::string_view text) override { return target_->Put(key, text); }
  Result<std::string> Get(PageKey key) override { return target_->Get(key); }
  Status Erase(PageKey key) override { return target_->Erase(key); }
  Result<bool> Contains(PageKey key) override { return target_->Contains(key); }
  TierUsage Usage() const override { return target_->Usage(); }
  void SetDropListener(DropListener listener) override {
    target_->SetDropListener(std::move(listener));
  }
  Tier* target() const { return target_.get(); }

 private:
  std::unique_ptr<Tier> target_;
};

struct MemoryTierOptions {
  uint64_t byte_cap = 64ull << 20;  // Least recently used entries leave beyond this.
  double ttl_seconds = 3600;        // Refreshed on every read, as Redis GETEX would. <= 0: none.
};

class Clock;
// The embedded L2: an in-process LRU with TTL and a byte cap. `clock` must outlive the tier.
std::unique_ptr<Tier> NewMemoryTier(MemoryTierOptions options, const Clock* clock);

}  // namespace vmllm

#endif  // VMLLM_TIER_H_
