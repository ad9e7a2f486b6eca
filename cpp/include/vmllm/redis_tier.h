// The Redis L2: recently evicted pages in a Redis server, shared by every Pager (in any process)
// that opens the same store with the same server. The seed's hot tier, made real.
//
// Keys are "<prefix>:<store id>:<page key>". The store id is a random id kept once in the store's
// meta table: two stores on one Redis never collide, and two processes on one store share
// entries. No user string (document or page id) ever appears in a key. Values are the page
// bytes, with a TTL that every read refreshes (GETEX).
//
// The tier degrades instead of failing: while the server is unreachable every call returns
// BackendUnavailable at once or within the command timeout (the pager then counts an L2 error
// and falls through to L3/L4, or skips the L2 copy), a warning is posted to backend_events.h,
// and the first call after the server is back (and the reconnect back-off has passed) uses it
// again. Usage() is approximate: what this tier wrote minus what it erased or found missing; it
// does not see TTL expiry or other processes' writes.
//
// Thread safety: the tier is internally synchronised.
#ifndef VMLLM_REDIS_TIER_H_
#define VMLLM_REDIS_TIER_H_

#include <memory>
#include <string>
#include <string_view>

#include "vmllm/redis_options.h"
#include "vmllm/status.h"
#include "vmllm/tier.h"

namespace vmllm {

struct RedisTierOptions {
  RedisOptions redis;
  std::string key_prefix = "vmllm";  // REQUIRES: letters, digits, '_' or '-' only.
  std::string store_id;              // REQUIRES: non-empty; letters, digits, '_' or '-' only.
  double ttl_seconds = 3600;         // Refreshed on every read. <= 0: entries never expire.
};

// A Redis tier. Tries to connect once, and posts a warning if it cannot; it never fails for an
// unreachable server. InvalidArgument for a bad prefix or store id.
Result<std::unique_ptr<Tier>> NewRedisTier(RedisTierOptions options);

// The Redis tier for the store in directory `store_path` (created if missing), its keys under
// the store's id (DiskStore::store_id), so a store made anew at the same path never reads the
// old one's entries.
Result<std::unique_ptr<Tier>> OpenRedisTier(std::string_view url, const std::string& store_path,
                                            double ttl_seconds);

}  // namespace vmllm

#endif  // VMLLM_REDIS_TIER_H_
