// Status and Result<T>: how every fallible call in the vmllm core reports failure.
//
// No exception leaves a public header. Adapters around third-party code (SQLite, hnswlib,
// nlohmann/json) catch what those libraries throw and turn it into a Status. An OK Status holds
// no allocation, so returning one on the hot path costs nothing.
//
// Thread safety: Status and Result are values; distinct objects may be used from any thread.
#ifndef VMLLM_STATUS_H_
#define VMLLM_STATUS_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace vmllm {

enum class StatusCode {
  kOk = 0,
  kNotFound,             // Unknown page id, doc id or key.
  kInvalidArgument,      // Bad input from the caller: ids, UTF-8, sizes, malformed JSON.
  kStorageError,         // Disk, database or index I/O failed.
  kBackendUnavailable,   // A remote backend (Redis, HTTP) could not be reached in time.
  kResourceExhausted,    // The request cannot fit, e.g. pinned pages fill the L1 budget.
  kInternal,             // A broken invariant: a bug in vmllm.
};

class Status {
 public:
  Status() = default;  // OK.

  static Status NotFound(std::string msg) { return Status(StatusCode::kNotFound, std::move(msg)); }
  static Status InvalidArgument(std::string msg) {
    return Status(StatusCode::kInvalidArgument, std::move(msg));
  }
  static Status StorageError(std::string msg) {
    return Status(StatusCode::kStorageError, std::move(msg));
  }
  static Status BackendUnavailable(std::string msg) {
    return Status(StatusCode::kBackendUnavailable, std::move(msg));
  }
  static Status ResourceExhausted(std::string msg) {
    return Status(StatusCode::kResourceExhausted, std::move(msg));
  }
  static Status Internal(std::string msg) { return Status(StatusCode::kInternal, std::move(msg)); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  const std::string& message() const;
  std::string ToString() const;

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  Status(StatusCode code, std::string msg)
      : rep_(std::make_shared<const Rep>(Rep{code, std::move(msg)})) {}
  std::shared_ptr<const Rep> rep_;
};

// A value or the Status that explains its absence.
// REQUIRES: value() only on ok(); status() on an ok Result returns an OK Status.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}                      // NOLINT: implicit on purpose.
  Result(Status status) : status_(std::move(status)) {}              // NOLINT: implicit on purpose.

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace vmllm

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define VMLLM_RETURN_IF_ERROR(expr)               \
  do {                                            \
    ::vmllm::Status _vmllm_status = (expr);       \
    if (!_vmllm_status.ok()) return _vmllm_status; \
  } while (0)

#endif  // VMLLM_STATUS_H_
