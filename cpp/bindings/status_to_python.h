// Turns a core Status into the matching exception from vmllm.errors (each also a standard
// Python exception, so `except KeyError` works for an unknown page id).
#ifndef VMLLM_BINDINGS_STATUS_TO_PYTHON_H_
#define VMLLM_BINDINGS_STATUS_TO_PYTHON_H_

#include <pybind11/pybind11.h>

#include <optional>
#include <type_traits>

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

// Runs `fn` (returning a Status or a Result<T>) without the GIL, then, holding it again, raises
// the matching Python error or returns the value. Convert every argument before calling.
template <typename Fn>
auto Blocking(Fn&& fn) {
  using R = decltype(fn());
  if constexpr (std::is_same_v<R, Status>) {
    Status s;
    {
      pybind11::gil_scoped_release release;
      s = fn();
    }
    ThrowIfError(s);
  } else {
    std::optional<R> result;
    {
      pybind11::gil_scoped_release release;
      result.emplace(fn());
    }
    return Unwrap(std::move(*result));
  }
}

}  // namespace vmllm

#endif  // VMLLM_BINDINGS_STATUS_TO_PYTHON_H_
