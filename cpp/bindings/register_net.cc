// Python bindings for the net layer: the OpenAI-compatible LLM client and the compressors and
// embedders built on it, plus the queued compressor and provided embedder through which Python
// callables serve the core without core threads ever calling into Python.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "status_to_python.h"
#include "vmllm/backend_events.h"
#include "vmllm/redis_tier.h"
#include "python_text.h"
#include "status_to_python.h"
#include "vmllm/async_compressor.h"
#include "vmllm/llm_client.h"
#include "vmllm/provided_embedder.h"

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
  m.def("compression_prompt", [] { return std::string(CompressionPrompt()); },
        "The system prompt LLM compressors send with each page.");

  py::class_<LlmClient, std::shared_ptr<LlmClient>>(m, "LlmClient")
      .def(py::init([](const std::optional<std::string>& base_url,
                       const std::optional<std::string>& api_key, double timeout,
                       double connect_timeout, int max_retries, double backoff,
                       double max_backoff, size_t max_in_flight, size_t embedding_batch_size) {
             LlmClientOptions o;
             o.base_url = base_url.value_or("");
             o.api_key = api_key.value_or("");
             o.timeout_seconds = timeout;
             o.connect_timeout_seconds = connect_timeout;
             o.max_retries = max_retries;
             o.backoff_seconds = backoff;
             o.max_backoff_seconds = max_backoff;
             o.max_in_flight = max_in_flight;
             o.embedding_batch_size = embedding_batch_size;
             return Unwrap(LlmClient::Create(std::move(o)));
           }),
           py::arg("base_url") = py::none(), py::arg("api_key") = py::none(),
           py::arg("timeout") = 60.0, py::arg("connect_timeout") = 10.0,
           py::arg("max_retries") = 4, py::arg("backoff") = 0.5, py::arg("max_backoff") = 30.0,
           py::arg("max_in_flight") = 8, py::arg("embedding_batch_size") = 64)
      .def_property_readonly("base_url", &LlmClient::base_url)
      .def("chat", [](LlmClient& c, const std::string& model,
                      const std::vector<std::pair<std::string, std::string>>& messages) {
        std::vector<ChatMessage> msgs;
        for (const auto& [role, content] : messages) msgs.push_back({role, content});
        Result<std::string> r = Status();
        {
          py::gil_scoped_release release;
          r = c.Chat(model, msgs);
        }
        return Unwrap(std::move(r));
      }, py::arg("model"), py::arg("messages"))
      .def("complete", [](LlmClient& c, const std::string& request_json) {
        Result<std::string> r = Status();
        {
          py::gil_scoped_release release;
          r = c.Complete(request_json);
        }
        return Unwrap(std::move(r));
      }, py::arg("request_json"),
         "POST a whole chat-completions request (JSON text); returns the reply's JSON text.")
      .def("embed", [](LlmClient& c, const std::string& model,
                       const std::vector<std::string>& texts) {
        Result<std::vector<std::vector<float>>> r = Status();
        {
          py::gil_scoped_release release;
          r = c.Embed(model, texts);
        }
        return Unwrap(std::move(r));
      }, py::arg("model"), py::arg("texts"))
      .def("stats", [](const LlmClient& c) {
        LlmClientStats s = c.Stats();
        py::dict d;
        d["requests"] = s.requests;
        d["retries"] = s.retries;
        d["failures"] = s.failures;
        return d;
      })
      .def("__repr__", [](const LlmClient& c) {
        return "LlmClient(base_url=" + std::string(py::repr(py::str(c.base_url()))) + ")";
      });

  py::class_<AsyncCompressor, std::shared_ptr<AsyncCompressor>>(m, "AsyncCompressor")
      .def_property_readonly("name", &AsyncCompressor::Name);
  m.def("llm_compressor", [](std::shared_ptr<LlmClient> client, const std::string& model,
                             size_t threads) {
    if (model.empty()) ThrowStatus(Status::InvalidArgument("the compressor model is empty"));
    return NewLlmCompressor(std::move(client), model, threads);
  }, py::arg("client"), py::arg("model"), py::arg("threads") = 4);

  py::class_<QueuedCompressor, AsyncCompressor, std::shared_ptr<QueuedCompressor>>(
      m, "QueuedCompressor")
      .def(py::init<std::string>(), py::arg("name"))
      .def("take", [](QueuedCompressor& q, size_t limit, double timeout) {
        std::vector<QueuedCompressor::Job> jobs;
        {
          py::gil_scoped_release release;
          jobs = q.Take(limit, timeout);
        }
        std::vector<std::pair<uint64_t, py::str>> out;
        for (auto& j : jobs) out.emplace_back(j.id, py::str(j.text));
        return out;
      }, py::arg("limit") = 16, py::arg("timeout") = 0.0)
      .def("complete", [](QueuedCompressor& q, uint64_t id, py::handle summary) {
        std::string text(Utf8View(summary, "summary"));
        py::gil_scoped_release release;
        q.Complete(id, std::move(text));
      }, py::arg("job_id"), py::arg("summary"))
      .def("fail", [](QueuedCompressor& q, uint64_t id, const std::string& reason) {
        py::gil_scoped_release release;
        q.Complete(id, Status::BackendUnavailable(reason));
      }, py::arg("job_id"), py::arg("reason"))
      .def("close", [](QueuedCompressor& q) {
        py::gil_scoped_release release;
        q.Close();
      })
      .def_property_readonly("pending", &QueuedCompressor::pending);

  m.def("llm_embedder", [](std::shared_ptr<LlmClient> client, const std::string& model,
                           size_t dimension, size_t requested_dimensions) {
    if (model.empty()) ThrowStatus(Status::InvalidArgument("the embedder model is empty"));
    return Unwrap(NewLlmEmbedder(std::move(client), model, dimension, requested_dimensions));
  }, py::arg("client"), py::arg("model"), py::arg("dimension") = 0,
     py::arg("requested_dimensions") = 0,
     "An embedder over `model`; `requested_dimensions` > 0 is sent as the request's "
     "\"dimensions\" and is the index dimension. An unknown dimension is learned at first use.");

  py::class_<ProvidedEmbedder, Embedder, std::shared_ptr<ProvidedEmbedder>>(m, "ProvidedEmbedder")
      .def(py::init([](const std::string& name, size_t dimension) {
             if (dimension < 2) {
               ThrowStatus(Status::InvalidArgument("embedding dimension must be at least 2"));
             }
             return std::make_shared<ProvidedEmbedder>(name, dimension);
           }),
           py::arg("name"), py::arg("dimension"))
      .def("provide", [](ProvidedEmbedder& e, const std::vector<std::string>& texts,
                         const std::vector<std::vector<float>>& vectors) {
        Status s;
        {
          py::gil_scoped_release release;
          s = e.Provide(texts, vectors);
        }
        ThrowIfError(s);
      }, py::arg("texts"), py::arg("vectors"))
      .def("__len__", &ProvidedEmbedder::size);
}

}  // namespace vmllm
