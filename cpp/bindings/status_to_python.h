// Turns a core Status into the matching exception from vmllm.errors (each also a standard
// Python exception, so `except KeyError` works for an unknown page id).
#ifndef VMLLM_BINDINGS_STATUS_TO_PYTHON_H_
#define VMLLM_BINDINGS_STATUS_TO_PYTHON_H_

#include <pybind11/pybind11.h>

#include "vmllm/status.h"

namespace vmllm {

// REQUIRES: the GIL is held.
[[noreturn]] void ThrowStatus(const Status& status);

inline void ThrowIfError(const Status& status) {
  if (!status.ok()) ThrowStatus(status);
}

template <typename T>
T Unwrap(Result<T>&& result) {
  if (!result.ok()) ThrowStatus(result.status());
  return std::move(result).value();
}

}  // namespace vmllm

#endif  // VMLLM_BINDINGS_STATUS_TO_PYTHON_H_
