// How to reach a Redis server: the options the Redis client connects with, and the URL form
// users give them in (`l2="redis://..."`, `$REDIS_URL`). Part of the net layer, beside the
// client; the Redis L2 tier (redis_tier.h) builds on it.
//
// Thread safety: plain values and a pure function.
#ifndef VMLLM_REDIS_OPTIONS_H_
#define VMLLM_REDIS_OPTIONS_H_

#include <string>
#include <string_view>

#include "vmllm/status.h"

namespace vmllm {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;  // When set, host and port are ignored.
  int db = 0;
  std::string user;         // ACL user (Redis 6+); empty: AUTH with the password alone.
  std::string password;     // Empty: no AUTH.
  double connect_timeout_seconds = 1.0;
  double command_timeout_seconds = 1.0;
  double retry_backoff_seconds = 1.0;  // No reconnect attempt sooner than this after a failure.
};

// Parses "redis://[[user]:password@]host[:port][/db][?query]" or
// "unix://[[user]:password@]/path/to/redis.sock[?db=N&...]". Query parameters (all optional):
// db, timeout (command timeout, seconds), connect_timeout, backoff (reconnect back-off).
// User and password may be percent-encoded. InvalidArgument names what is wrong; "rediss://"
// (TLS) is not supported.
Result<RedisOptions> ParseRedisUrl(std::string_view url);

}  // namespace vmllm

#endif  // VMLLM_REDIS_OPTIONS_H_
