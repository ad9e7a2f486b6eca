// The embedded L2: recently evicted pages in process memory, least recently used first out,
// each with a TTL refreshed on read (the seed's Redis behaviour, without Redis).
#include <list>
#include <mutex>
#include <unordered_map>

#include "vmllm/clock.h"
#include "vmllm/tier.h"

namespace vmllm {
namespace {

class MemoryTier : public Tier {
 public:
  MemoryTier(MemoryTierOptions options, const Clock* clock) : options_(options), clock_(clock) {}

  TierId id() const override { return TierId::kL2; }

  Status Put(PageKey key, std::string_view text) override {
    std::lock_guard<std::mutex> lock(mu_);
    EraseLocked(key);
    if (text.size() > options_.byte_cap) {
      return Status::ResourceExhausted("page larger than the L2 byte cap");
    }
    lru_.push_front(key);
    entries_[key] = Entry{std::string(text), Expiry(), lru_.begin()};
    bytes_ += text.size();
    while (bytes_ > options_.byte_cap && !lru_.empty()) DropLocked(lru_.back());
    return Status();
  }

  Result<std::string> Get(PageKey key) override {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = LiveLocked(key);
    if (!e) return Status::NotFound("not in L2");
    e->expires = Expiry();
    lru_.splice(lru_.begin(), lru_, e->position);
    return e->text;
  }

  Status Erase(PageKey key) override {
    std::lock_guard<std::mutex> lock(mu_);
    EraseLocked(key);
    return Status();
  }

  Result<bool> Contains(PageKey key) override {
    std::lock_guard<std::mutex> lock(mu_);
    return LiveLocked(key) != nullptr;
  }

  TierUsage Usage() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return TierUsage{entries_.size(), bytes_};
  }

  struct Entry {
    std::string text;
    double expires;
    std::list<PageKey>::iterator position;
  };

  double Expiry() const {
    return options_.ttl_seconds > 0 ? clock_->Now() + options_.ttl_seconds : 0;
  }

  // The entry for `key` if present and not expired; an expired one is dropped.
  Entry* LiveLocked(PageKey key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    if (it->second.expires > 0 && clock_->Now() >= it->second.expires) {
      DropLocked(key);
      return nullptr;
    }
    return &it->second;
  }

  void SetDropListener(DropListener listener) override {
    std::lock_guard<std::mutex> lock(mu_);
    on_drop_ = std::move(listener);
  }

 private:
  // Removes an entry the tier gave up on by itself, and says so.
  void DropLocked(PageKey key) {
    EraseLocked(key);
    if (on_drop_) on_drop_(key);
  }

  void EraseLocked(PageKey key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    bytes_ -= it->second.text.size();
    lru_.erase(it->second.position);
    entries_.erase(it);
  }

  const MemoryTierOptions options_;
  const Clock* clock_;
  mutable std::mutex mu_;
  std::list<PageKey> lru_;  // Front: most recently used.
  std::unordered_map<PageKey, Entry> entries_;
  uint64_t bytes_ = 0;
  DropListener on_drop_;
};

}  // namespace

std::unique_ptr<Tier> NewMemoryTier(MemoryTierOptions options, const Clock* clock) {
  return std::make_unique<MemoryTier>(options, clock);
}

}  // namespace vmllm
