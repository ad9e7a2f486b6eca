// The hiredis adapter: the only file in vmllm that includes hiredis.
#include "net/redis_client.h"

#include <hiredis/hiredis.h>

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <ctime>

namespace vmllm {
namespace {

double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

timeval ToTimeval(double seconds) {
  if (seconds <= 0) seconds = 0.001;
  timeval tv;
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - std::floor(seconds)) * 1e6);
  return tv;
}

// Writing to a connection the server has closed raises SIGPIPE, which kills a process that has
// not ignored it (Python ignores it; a C++ program may not). hiredis 0.14 writes with write(),
// so the signal is blocked in this thread around the I/O and a pending one is consumed.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    already_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~ScopedSigpipeBlock() {
    if (!already_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
        timespec zero{0, 0};
        sigtimedwait(&pipe_, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_, old_;
  bool already_pending_ = false;
};

}  // namespace

// A reply copied out of hiredis, so no hiredis type escapes this file's functions.
struct RedisClient::Reply {
  int type = 0;
  std::string str;
  long long integer = 0;

  bool is_error() const { return type == REDIS_REPLY_ERROR; }
};

RedisClient::RedisClient(RedisOptions options) : options_(std::move(options)) {}

RedisClient::~RedisClient() {
  if (context_) redisFree(context_);
}

std::string RedisClient::Endpoint() const {
  if (!options_.unix_socket.empty()) return options_.unix_socket;
  return options_.host + ":" + std::to_string(options_.port);
}

Status RedisClient::FailLocked(const std::string& what) {
  std::string message = "Redis at " + Endpoint() + ": " + what;
  if (context_ && context_->err) message += ": " + std::string(context_->errstr);
  if (context_) redisFree(context_);
  context_ = nullptr;
  retry_at_ = MonotonicSeconds() + options_.retry_backoff_seconds;
  last_error_ = message;
  return Status::BackendUnavailable(message);
}

Status RedisClient::EnsureConnectedLocked(bool ignore_backoff) {
  if (context_) return Status();
  if (!ignore_backoff && MonotonicSeconds() < retry_at_) {
    return Status::BackendUnavailable(last_error_ + " (waiting before the next reconnect)");
  }
  const timeval connect_timeout = ToTimeval(options_.connect_timeout_seconds);
  context_ = options_.unix_socket.empty()
                 ? redisConnectWithTimeout(options_.host.c_str(), options_.port, connect_timeout)
                 : redisConnectUnixWithTimeout(options_.unix_socket.c_str(), connect_timeout);
  if (!context_) return FailLocked("cannot allocate a connection");
  if (context_->err) return FailLocked("cannot connect");
  if (redisSetTimeout(context_, ToTimeval(options_.command_timeout_seconds)) != REDIS_OK) {
    return FailLocked("cannot set the command timeout");
  }
  std::vector<std::vector<std::string_view>> setup;
  if (!options_.password.empty()) {
    if (options_.user.empty()) {
      setup.push_back({"AUTH", options_.password});
    } else {
      setup.push_back({"AUTH", options_.user, options_.password});
    }
  }
  const std::string db = std::to_string(options_.db);
  if (options_.db != 0) setup.push_back({"SELECT", db});
  if (setup.empty()) return Status();
  std::vector<Reply> replies;
  VMLLM_RETURN_IF_ERROR(PipelineLocked(setup, &replies));
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].is_error()) {
      std::string what = std::string(setup[i][0]) + " failed: " + replies[i].str;
      return FailLocked(what);
    }
  }
  return Status();
}

Status RedisClient::PipelineLocked(const std::vector<std::vector<std::string_view>>& commands,
                                   std::vector<Reply>* replies) {
  ScopedSigpipeBlock no_sigpipe;
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& command : commands) {
    argv.clear();
    lengths.clear();
    for (std::string_view arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                               lengths.data()) != REDIS_OK) {
      return FailLocked("cannot queue a command");
    }
  }
  replies->clear();
  replies->reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      return FailLocked("no reply");  // Broken or timed out: the stream is out of step.
    }
    auto* reply = static_cast<redisReply*>(raw);
    Reply r;
    r.type = reply->type;
    if (reply->str) r.str.assign(reply->str, reply->len);
    r.integer = reply->integer;
    freeReplyObject(reply);
    replies->push_back(std::move(r));
  }
  return Status();
}

Status RedisClient::Connect() {
  std::lock_guard<std::mutex> lock(mu_);
  return EnsureConnectedLocked(/*ignore_backoff=*/true);
}

Status RedisClient::GetManyLocked(const std::vector<std::string>& keys, int64_t ttl_seconds,
                                  std::vector<Result<std::string>>* out) {
  const std::string ttl = std::to_string(ttl_seconds);
  const bool refresh = ttl_seconds > 0;
  const bool getex = refresh && use_getex_;
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(keys.size() * 2);
  for (const std::string& key : keys) {
    if (getex) {
      commands.push_back({"GETEX", key, "EX", ttl});
    } else {
      commands.push_back({"GET", key});
      if (refresh) commands.push_back({"EXPIRE", key, ttl});
    }
  }
  std::vector<Reply> replies;
  VMLLM_RETURN_IF_ERROR(PipelineLocked(commands, &replies));
  const size_t stride = (refresh && !getex) ? 2 : 1;
  for (size_t i = 0; i < keys.size(); ++i) {
    Reply& r = replies[i * stride];
    if (r.type == REDIS_REPLY_STRING) {
      out->push_back(std::move(r.str));
    } else if (r.type == REDIS_REPLY_NIL) {
      out->push_back(Status::NotFound("not in Redis"));
    } else if (getex && r.is_error() && r.str.find("unknown command") != std::string::npos) {
      use_getex_ = false;  // Redis < 6.2: the caller retries with GET + EXPIRE.
      out->clear();
      return Status::Internal("retry without GETEX");
    } else {
      out->push_back(Status::BackendUnavailable("Redis at " + Endpoint() + ": " +
                                                (r.is_error() ? r.str : "unexpected reply")));
    }
  }
  return Status();
}

std::vector<Result<std::string>> RedisClient::GetMany(const std::vector<std::string>& keys,
                                                      int64_t ttl_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Result<std::string>> out;
  out.reserve(keys.size());
  Status s = EnsureConnectedLocked(false);
  if (s.ok()) s = GetManyLocked(keys, ttl_seconds, &out);
  if (s.code() == StatusCode::kInternal) s = GetManyLocked(keys, ttl_seconds, &out);
  if (!s.ok()) out.assign(keys.size(), s);
  return out;
}

Result<std::string> RedisClient::Get(const std::string& key, int64_t ttl_seconds) {
  return std::move(GetMany({key}, ttl_seconds)[0]);
}

Status RedisClient::SetMany(const std::vector<std::pair<std::string, std::string>>& entries,
                            int64_t ttl_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(EnsureConnectedLocked(false));
  const std::string ttl = std::to_string(ttl_seconds);
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(entries.size());
  for (const auto& [key, value] : entries) {
    if (ttl_seconds > 0) {
      commands.push_back({"SETEX", key, ttl, value});
    } else {
      commands.push_back({"SET", key, value});
    }
  }
  std::vector<Reply> replies;
  VMLLM_RETURN_IF_ERROR(PipelineLocked(commands, &replies));
  for (const Reply& r : replies) {
    if (r.is_error()) return Status::BackendUnavailable("Redis at " + Endpoint() + ": " + r.str);
  }
  return Status();
}

Status RedisClient::Set(const std::string& key, std::string_view value, int64_t ttl_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(EnsureConnectedLocked(false));
  const std::string ttl = std::to_string(ttl_seconds);
  std::vector<std::vector<std::string_view>> command;
  if (ttl_seconds > 0) {
    command.push_back({"SETEX", key, ttl, value});
  } else {
    command.push_back({"SET", key, value});
  }
  std::vector<Reply> replies;
  VMLLM_RETURN_IF_ERROR(PipelineLocked(command, &replies));
  if (replies[0].is_error()) {
    return Status::BackendUnavailable("Redis at " + Endpoint() + ": " + replies[0].str);
  }
  return Status();
}

Status RedisClient::Del(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return IntegerCommandLocked("DEL", key).status();
}

Result<int64_t> RedisClient::IntegerCommandLocked(std::string_view command,
                                                  const std::string& key) {
  VMLLM_RETURN_IF_ERROR(EnsureConnectedLocked(false));
  std::vector<Reply> replies;
  VMLLM_RETURN_IF_ERROR(PipelineLocked({{command, key}}, &replies));
  if (replies[0].type != REDIS_REPLY_INTEGER) {
    return Status::BackendUnavailable("Redis at " + Endpoint() + ": " + replies[0].str);
  }
  return static_cast<int64_t>(replies[0].integer);
}

Result<bool> RedisClient::Exists(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto n = IntegerCommandLocked("EXISTS", key);
  if (!n.ok()) return n.status();
  return *n > 0;
}

Result<int64_t> RedisClient::Ttl(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return IntegerCommandLocked("TTL", key);
}

}  // namespace vmllm
