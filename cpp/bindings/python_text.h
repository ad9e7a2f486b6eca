// Borrowing the UTF-8 bytes of Python text without copying them.
#ifndef VMLLM_BINDINGS_PYTHON_TEXT_H_
#define VMLLM_BINDINGS_PYTHON_TEXT_H_

#include <pybind11/pybind11.h>

#include <string_view>

namespace vmllm {

// A view of `text` (str or bytes) as UTF-8. For str the buffer is the one CPython caches inside
// the object, so a 200 MB document is not copied; the view lives as long as `text` does.
// Raises InvalidArgumentError for a str holding lone surrogates and TypeError for other types.
// REQUIRES: the GIL is held.
std::string_view Utf8View(const pybind11::handle& text, const char* what);

}  // namespace vmllm

#endif  // VMLLM_BINDINGS_PYTHON_TEXT_H_
