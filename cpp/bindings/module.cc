// vmllm._core: the native core. One register_* per layer; nothing else lives here.
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace vmllm {
void RegisterText(py::module_& m);
void RegisterChat(py::module_& m);
void RegisterEngine(py::module_& m);
void RegisterNet(py::module_& m);
void RegisterStream(py::module_& m);
void RegisterMemory(py::module_& m);
void RegisterJsonLimits(py::module_& m);
}  // namespace vmllm

PYBIND11_MODULE(_core, m) {
  m.doc() = "vmllm native core (private: use the vmllm package)";
  vmllm::RegisterText(m);
  vmllm::RegisterChat(m);
  vmllm::RegisterEngine(m);
  vmllm::RegisterNet(m);
  vmllm::RegisterStream(m);
  vmllm::RegisterMemory(m);
  vmllm::RegisterJsonLimits(m);
}
