// Python bindings for the chat layer: the schemas of vmllm's model-facing tools, so Python
// offers the tools the core defines instead of a copy of them.
#include <pybind11/pybind11.h>

#include <string>

#include "status_to_python.h"
#include "vmllm/tool_schemas.h"
#include "vmllm/wire_format.h"

namespace py = pybind11;

namespace vmllm {

void RegisterChat(py::module_& m) {
  m.def("tool_schemas", [](const std::string& set, const std::string& format) {
    return Unwrap(ToolSchemas(set, Unwrap(ParseWireFormat(format))));
  }, py::arg("set"), py::arg("format") = "openai",
  "JSON array of the schemas of a tool set ('stream', 'memory', 'documents') in the 'openai', "
  "'anthropic' or 'openai-responses' shape.");
}

}  // namespace vmllm
