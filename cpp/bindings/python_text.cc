#include "python_text.h"

#include <string>

#include "status_to_python.h"

namespace py = pybind11;

namespace vmllm {

std::string_view Utf8View(const py::handle& text, const char* what) {
  if (PyUnicode_Check(text.ptr())) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
    if (!data) {
      PyErr_Clear();
      ThrowStatus(Status::InvalidArgument(std::string(what) +
                                          " cannot be encoded as UTF-8 (it holds a lone "
                                          "surrogate); clean it first, e.g. "
                                          "s.encode('utf-8', 'replace').decode()"));
    }
    return std::string_view(data, static_cast<size_t>(size));
  }
  if (PyBytes_Check(text.ptr())) {
    return std::string_view(PyBytes_AS_STRING(text.ptr()),
                            static_cast<size_t>(PyBytes_GET_SIZE(text.ptr())));
  }
  throw py::type_error(std::string(what) + " must be str or bytes, not " +
                       std::string(py::str(py::type::handle_of(text).attr("__name__"))));
}

}  // namespace vmllm
