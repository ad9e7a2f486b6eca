// The Redis L2 (see vmllm/redis_tier.h): page bytes under "<prefix>:<store id>:<page key>" with
// a TTL refreshed on read, over net/RedisClient. Posts a warning when the server goes away and
// when it comes back, so the Python glue can log state changes rather than every failed call.
#include "vmllm/redis_tier.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include "net/redis_client.h"
#include "store/disk_store.h"
#include "vmllm/backend_events.h"

namespace vmllm {
namespace {

bool IsKeySafe(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

class RedisTier : public Tier {
 public:
  explicit RedisTier(const RedisTierOptions& options)
      : client_(options.redis),
        prefix_(options.key_prefix + ":" + options.store_id + ":"),
        ttl_(options.ttl_seconds > 0
                 ? std::max<int64_t>(1, static_cast<int64_t>(std::ceil(options.ttl_seconds)))
                 : 0) {
    Note(client_.Connect());
  }

  TierId id() const override { return TierId::kL2; }

  Status Put(PageKey key, std::string_view text) override {
    Status s = Note(client_.Set(Key(key), text, ttl_));
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      auto [it, inserted] = sizes_.emplace(key, text.size());
      if (!inserted) {
        bytes_ -= it->second;
        it->second = text.size();
      }
      bytes_ += text.size();
    }
    return s;
  }

  Result<std::string> Get(PageKey key) override {
    auto result = client_.Get(Key(key), ttl_);
    Note(result.status());
    if (result.status().code() == StatusCode::kNotFound) Forget(key);
    return result;
  }

  std::vector<Result<std::string>> GetMany(const std::vector<PageKey>& keys) override {
    std::vector<std::string> names;
    names.reserve(keys.size());
    for (PageKey key : keys) names.push_back(Key(key));
    auto results = client_.GetMany(names, ttl_);
    Status worst;
    for (size_t i = 0; i < results.size(); ++i) {
      const Status& s = results[i].status();
      if (s.code() == StatusCode::kNotFound) Forget(keys[i]);
      if (!s.ok() && s.code() != StatusCode::kNotFound) worst = s;
    }
    Note(worst);
    return results;
  }

  Status Erase(PageKey key) override {
    Forget(key);  // Even if DEL fails: the entry will expire, and reads verify the content hash.
    return Note(client_.Del(Key(key)));
  }

  Result<bool> Contains(PageKey key) override {
    auto result = client_.Exists(Key(key));
    Note(result.status());
    return result;
  }

  TierUsage Usage() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return TierUsage{sizes_.size(), bytes_};
  }

 private:
  std::string Key(PageKey key) const { return prefix_ + std::to_string(key); }

  void Forget(PageKey key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(key);
    if (it == sizes_.end()) return;
    bytes_ -= it->second;
    sizes_.erase(it);
  }

  // Tracks up/down transitions and posts one warning for each.
  const Status& Note(const Status& s) {
    if (s.code() == StatusCode::kNotFound) return s;
    const bool up = s.ok();
    std::lock_guard<std::mutex> lock(mu_);
    if (up == up_) return s;
    up_ = up;
    if (up) {
      PostBackendWarning("Redis L2 at " + client_.Endpoint() + " is reachable again; using it");
    } else {
      PostBackendWarning(s.message() +
                         " -- L2 is unavailable: reads fall through to L3/L4 and writes skip "
                         "L2 until it is back (failures are counted in stats())");
    }
    return s;
  }

  RedisClient client_;
  const std::string prefix_;
  const int64_t ttl_;
  mutable std::mutex mu_;
  bool up_ = true;
  std::unordered_map<PageKey, uint64_t> sizes_;  // What this tier wrote, for Usage().
  uint64_t bytes_ = 0;
};

}  // namespace

Result<std::unique_ptr<Tier>> NewRedisTier(RedisTierOptions options) {
  if (!IsKeySafe(options.key_prefix)) {
    return Status::InvalidArgument("Redis key prefix must be 1-64 letters, digits, '_' or '-'");
  }
  if (!IsKeySafe(options.store_id)) {
    return Status::InvalidArgument("Redis store id must be 1-64 letters, digits, '_' or '-'");
  }
  return std::unique_ptr<Tier>(std::make_unique<RedisTier>(options));
}

Result<std::unique_ptr<Tier>> OpenRedisTier(std::string_view url, const std::string& store_path,
                                            double ttl_seconds) {
  auto redis = ParseRedisUrl(url);
  if (!redis.ok()) return redis.status();
  if (store_path.empty()) return Status::InvalidArgument("store path is empty");
  auto store = DiskStore::Open(store_path);
  if (!store.ok()) return store.status();
  RedisTierOptions options;
  options.redis = std::move(redis).value();
  options.store_id = (*store)->store_id();  // A new store never reads an old one's keys.
  options.ttl_seconds = ttl_seconds;
  return NewRedisTier(std::move(options));
}

}  // namespace vmllm
