// Python bindings for conversation memory (MemGPT-style).
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace vmllm {

void RegisterMemory(py::module_& m) {}

}  // namespace vmllm
