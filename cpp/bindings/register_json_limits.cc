// The JSON depth and size limits for Python (vmllm/json_limits.h): the numbers, so docs and
// errors quote the core's, and the check, so Python code that must json.loads untrusted text
// (the proxy's request bodies) refuses what the core would refuse before recursing into it.
#include <pybind11/pybind11.h>

#include <string_view>

#include "python_text.h"
#include "status_to_python.h"
#include "vmllm/json_limits.h"

namespace py = pybind11;

namespace vmllm {

void RegisterJsonLimits(py::module_& m) {
  py::dict limits;
  limits["max_depth"] = kMaxJsonDepth;
  limits["task_state_bytes"] = kMaxTaskStateBytes;
  limits["hand_off_bytes"] = kMaxHandOffBytes;
  limits["message_bytes"] = kMaxMessageBytes;
  limits["request_body_bytes"] = kMaxRequestBodyBytes;
  limits["llm_reply_bytes"] = kMaxLlmReplyBytes;
  m.attr("JSON_LIMITS") = limits;

  m.def("check_json_limits", [](py::handle text, const std::string& what, size_t max_bytes) {
    std::string_view view;
    if (PyBytes_Check(text.ptr())) {
      char* data = nullptr;
      Py_ssize_t size = 0;
      PyBytes_AsStringAndSize(text.ptr(), &data, &size);
      view = std::string_view(data, static_cast<size_t>(size));
    } else {
      view = Utf8View(text, what.c_str());
    }
    Status s;
    {
      py::gil_scoped_release release;  // The caller's reference keeps `text` alive.
      s = CheckJsonLimits(view, what, max_bytes);
    }
    ThrowIfError(s);
  }, py::arg("text"), py::arg("what"), py::arg("max_bytes"),
     "Raises InvalidArgumentError when `text` (str or bytes) is over `max_bytes` bytes or nests "
     "arrays and objects deeper than JSON_LIMITS['max_depth']. Scans without recursion.");
}

}  // namespace vmllm
