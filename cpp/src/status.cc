#include "vmllm/status.h"

namespace vmllm {

const std::string& Status::message() const {
  static const std::string kEmpty;
  return rep_ ? rep_->message : kEmpty;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  const char* name = "Internal";
  switch (code()) {
    case StatusCode::kOk: name = "OK"; break;
    case StatusCode::kNotFound: name = "NotFound"; break;
    case StatusCode::kInvalidArgument: name = "InvalidArgument"; break;
    case StatusCode::kStorageError: name = "StorageError"; break;
    case StatusCode::kBackendUnavailable: name = "BackendUnavailable"; break;
    case StatusCode::kResourceExhausted: name = "ResourceExhausted"; break;
    case StatusCode::kInternal: name = "Internal"; break;
  }
  return std::string(name) + ": " + message();
}

}  // namespace vmllm
