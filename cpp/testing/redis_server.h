// A throwaway redis-server for one test: on 127.0.0.1 at a free port (and optionally a unix
// socket), no persistence, killed when the object goes. Kill() sends SIGKILL, as a crash would;
// Start() again brings it back on the same port.
#ifndef VMLLM_TESTING_REDIS_SERVER_H_
#define VMLLM_TESTING_REDIS_SERVER_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace vmllm {

class RedisServer {
 public:
  // `extra_args` go to redis-server as they are (e.g. {"--requirepass", "secret"}).
  explicit RedisServer(std::vector<std::string> extra_args = {}, std::string unix_socket = "");
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // False when no redis-server binary is on PATH (the caller skips).
  static bool Available();

  // Starts the server and waits until it accepts connections. False on failure.
  bool Start();
  void Kill();

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  bool StartOnce();

  std::vector<std::string> extra_args_;
  std::string unix_socket_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace vmllm

#endif  // VMLLM_TESTING_REDIS_SERVER_H_
