// RedisClient: a small synchronous Redis client for the L2 tier, over one hiredis connection.
//
// It speaks only the commands the tier needs (GET with TTL refresh, SETEX, DEL, EXISTS, and
// pipelined batches of them). Every failure (no connection, timeout, AUTH refused, an error
// reply) is a Status::BackendUnavailable; a value that is absent is NotFound. After a failure the
// connection is dropped and re-opened by a later call, but not before `retry_backoff_seconds`
// have passed, so a dead server costs one timeout per back-off period instead of one per call.
//
// This header does not include hiredis: redis_client.cc is the only file that does.
//
// Thread safety: internally synchronised; calls on one client are serialised.
#ifndef VMLLM_NET_REDIS_CLIENT_H_
#define VMLLM_NET_REDIS_CLIENT_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vmllm/redis_options.h"
#include "vmllm/status.h"

struct redisContext;

namespace vmllm {

class RedisClient {
 public:
  // Does not connect: the first call does.
  explicit RedisClient(RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Connects now (or confirms the connection is up). Ignores the back-off.
  Status Connect();

  // The value of `key`; its TTL is reset to `ttl_seconds` when > 0 (GETEX, or GET + EXPIRE on
  // servers before 6.2). NotFound when absent.
  Result<std::string> Get(const std::string& key, int64_t ttl_seconds);
  // SETEX when ttl_seconds > 0, else SET.
  Status Set(const std::string& key, std::string_view value, int64_t ttl_seconds);
  Status Del(const std::string& key);
  Result<bool> Exists(const std::string& key);
  // Seconds left before `key` expires: -1 without a TTL, -2 when absent.
  Result<int64_t> Ttl(const std::string& key);

  // One round trip for many keys. Each element is the value, NotFound, or (when the whole batch
  // failed) the batch's BackendUnavailable status.
  std::vector<Result<std::string>> GetMany(const std::vector<std::string>& keys,
                                           int64_t ttl_seconds);
  Status SetMany(const std::vector<std::pair<std::string, std::string>>& entries,
                 int64_t ttl_seconds);

  // "host:port" or the socket path, for messages.
  std::string Endpoint() const;

 private:
  struct Reply;
  Status EnsureConnectedLocked(bool ignore_backoff);
  Status FailLocked(const std::string& what);
  // Sends `commands` in one pipeline and collects one reply per command.
  Status PipelineLocked(const std::vector<std::vector<std::string_view>>& commands,
                        std::vector<Reply>* replies);
  Result<int64_t> IntegerCommandLocked(std::string_view command, const std::string& key);
  Status GetManyLocked(const std::vector<std::string>& keys, int64_t ttl_seconds,
                       std::vector<Result<std::string>>* out);

  const RedisOptions options_;
  std::mutex mu_;
  redisContext* context_ = nullptr;
  double retry_at_ = 0;     // Monotonic seconds; no reconnect attempt before this.
  bool use_getex_ = true;   // Cleared when the server does not know GETEX (Redis < 6.2).
  std::string last_error_;
};

}  // namespace vmllm

#endif  // VMLLM_NET_REDIS_CLIENT_H_
