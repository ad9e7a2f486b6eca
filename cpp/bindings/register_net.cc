// Python bindings for the net layer: HTTP (OpenAI-compatible) and Redis clients.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "status_to_python.h"
#include "vmllm/backend_events.h"
#include "vmllm/redis_tier.h"

namespace py = pybind11;

namespace vmllm {

void RegisterNet(py::module_& m) {
  m.def("take_backend_warnings", &TakeBackendWarnings,
        "Returns and clears the warnings backends posted (Redis down, back up), oldest first.");
  m.def("parse_redis_url", [](const std::string& url) {
    RedisOptions o = Unwrap(ParseRedisUrl(url));
    py::dict d;  // The password is left out on purpose: this is for display and checks.
    d["host"] = o.host;
    d["port"] = o.port;
    d["unix_socket"] = o.unix_socket;
    d["db"] = o.db;
    d["user"] = o.user;
    d["has_password"] = !o.password.empty();
    d["connect_timeout"] = o.connect_timeout_seconds;
    d["timeout"] = o.command_timeout_seconds;
    d["backoff"] = o.retry_backoff_seconds;
    return d;
  }, py::arg("url"), "Checks a Redis URL; InvalidArgumentError names what is wrong.");
}

}  // namespace vmllm
