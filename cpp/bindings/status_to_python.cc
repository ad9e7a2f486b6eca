#include "status_to_python.h"

namespace py = pybind11;

namespace vmllm {

void ThrowStatus(const Status& status) {
  const char* name = "VmllmError";
  switch (status.code()) {
    case StatusCode::kNotFound: name = "PageNotFoundError"; break;
    case StatusCode::kInvalidArgument: name = "InvalidArgumentError"; break;
    case StatusCode::kStorageError: name = "StorageError"; break;
    case StatusCode::kBackendUnavailable: name = "BackendUnavailableError"; break;
    case StatusCode::kResourceExhausted: name = "CapacityError"; break;
    case StatusCode::kOk:
    case StatusCode::kInternal: break;
  }
  py::object type = py::module_::import("vmllm.errors").attr(name);
  PyErr_SetString(type.ptr(), status.message().c_str());
  throw py::error_already_set();
}

}  // namespace vmllm
