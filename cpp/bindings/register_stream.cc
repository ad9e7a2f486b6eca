// Python bindings for message-stream paging: requests, policy, proxy support, replay.
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace vmllm {

void RegisterStream(py::module_& m) {}

}  // namespace vmllm
