// Python bindings for the net layer: HTTP (OpenAI-compatible) and Redis clients.
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace vmllm {

void RegisterNet(py::module_& m) {}

}  // namespace vmllm
