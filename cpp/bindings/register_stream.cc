// Python bindings for message-stream paging: StreamSession (what the proxy calls for every
// request) and trace replay. Bodies cross as bytes; every call releases the GIL once its
// arguments are converted.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "status_to_python.h"
#include "vmllm/replay.h"
#include "vmllm/stream.h"

namespace py = pybind11;

namespace vmllm {
namespace {

WireFormat ParseWire(const std::string& wire) { return Unwrap(ParseWireFormat(wire, "wire")); }

StreamConfig MakeConfig(int tau_turns, size_t min_evict_bytes, bool count_user_messages_only,
                        bool stub_unused_tools, bool inject_memory_tools, size_t window_tokens,
                        bool cache_aware, double cache_write_price, double cache_read_price,
                        int schema_idle_turns = 8) {
  if (tau_turns < 1) ThrowStatus(Status::InvalidArgument("tau_turns must be at least 1"));
  if (schema_idle_turns < 0) {
    ThrowStatus(Status::InvalidArgument("schema_idle_turns must be at least 0"));
  }
  StreamConfig c;
  c.tau_turns = tau_turns;
  c.min_evict_bytes = min_evict_bytes;
  c.count_user_messages_only = count_user_messages_only;
  c.stub_unused_tools = stub_unused_tools;
  c.inject_memory_tools = inject_memory_tools;
  c.window_tokens = window_tokens;
  c.cache_aware = cache_aware;
  c.cache_write_price = cache_write_price;
  c.cache_read_price = cache_read_price;
  c.schema_idle_turns = schema_idle_turns;
  return c;
}

py::dict StatsDict(const StreamStats& s) {
  py::dict d;
  d["requests"] = s.requests;
  d["turns"] = s.turns;
  d["pages"] = s.pages;
  d["evictions"] = s.evictions;
  d["faults"] = s.faults;
  d["recall_faults"] = s.recall_faults;
  d["reissue_faults"] = s.reissue_faults;
  d["pinned_keys"] = s.pinned_keys;
  d["unpins"] = s.unpins;
  d["schema_stubs"] = s.schema_stubs;
  d["releases"] = s.releases;
  d["compactions"] = s.compactions;
  d["deferred_by_cache"] = s.deferred_by_cache;
  d["bytes_in"] = s.bytes_in;
  d["bytes_out"] = s.bytes_out;
  d["pressure"] = s.pressure;
  return d;
}

py::dict ReplayDict(const ReplayResult& r) {
  py::dict d;
  d["policy"] = r.policy;
  d["turns"] = r.turns;
  d["tool_results"] = r.tool_results;
  d["evictions"] = r.evictions;
  d["superseded_evictions"] = r.superseded_evictions;
  d["faults"] = r.faults;
  d["pinned_keys"] = r.pinned_keys;
  d["max_growth_level"] = r.max_growth_level;
  d["bytes_full"] = r.bytes_full;
  d["bytes_paged"] = r.bytes_paged;
  d["tokens_full"] = r.tokens_full;
  d["tokens_paged"] = r.tokens_paged;
  d["structural_waste"] = r.structural_waste;
  d["amplification_full"] = r.amplification_full;
  d["amplification_paged"] = r.amplification_paged;
  d["cache_rewrites"] = r.cache_rewrites;
  d["cache_rewrite_tokens"] = r.cache_rewrite_tokens;
  py::dict classes;
  for (const ReplayContentClass& c : r.classes) {
    classes[py::str(c.name)] = py::make_tuple(c.tokens_full, c.tokens_paged);
  }
  d["classes"] = classes;
  py::list turns;
  for (const ReplayTurn& t : r.per_turn) {
    py::dict e;
    e["bytes_full"] = t.bytes_full;
    e["bytes_paged"] = t.bytes_paged;
    e["tokens_full"] = t.tokens_full;
    e["tokens_paged"] = t.tokens_paged;
    e["evictions"] = t.evictions;
    e["faults"] = t.faults;
    e["cached_full"] = t.cached_full;
    e["cached_paged"] = t.cached_paged;
    e["output_tokens"] = t.output_tokens;
    e["fault_tokens"] = t.fault_tokens;
    turns.append(e);
  }
  d["per_turn"] = turns;
  return d;
}

}  // namespace

void RegisterStream(py::module_& m) {
  static const StreamConfig kDefaults;
  py::class_<StreamSession>(m, "StreamSession")
      .def(py::init([](int tau_turns, size_t min_evict_bytes, bool count_user_messages_only,
                       bool stub_unused_tools, bool inject_memory_tools, size_t window_tokens,
                       bool cache_aware, double cache_write_price, double cache_read_price,
                       Pager* pager, const std::string& session, int schema_idle_turns) {
             StreamConfig config = MakeConfig(
                 tau_turns, min_evict_bytes, count_user_messages_only, stub_unused_tools,
                 inject_memory_tools, window_tokens, cache_aware, cache_write_price,
                 cache_read_price, schema_idle_turns);
             if (!pager) return std::make_unique<StreamSession>(config);
             if (session.empty()) {
               ThrowStatus(Status::InvalidArgument("a session kept in a store needs a name"));
             }
             const std::string space = "stream:" + session;
             Unwrap(pager->SpaceRecordVersion(space));  // Checks the name; fails if closed.
             return std::make_unique<StreamSession>(config, pager, space);
           }),
           // Defaults are StreamConfig's: the policy issue 15 chose as the cheapest.
           py::arg("tau_turns") = kDefaults.tau_turns,
           py::arg("min_evict_bytes") = kDefaults.min_evict_bytes,
           py::arg("count_user_messages_only") = kDefaults.count_user_messages_only,
           py::arg("stub_unused_tools") = kDefaults.stub_unused_tools,
           py::arg("inject_memory_tools") = kDefaults.inject_memory_tools,
           py::arg("window_tokens") = kDefaults.window_tokens,
           py::arg("cache_aware") = kDefaults.cache_aware,
           py::arg("cache_write_price") = kDefaults.cache_write_price,
           py::arg("cache_read_price") = kDefaults.cache_read_price, py::arg("pager") = nullptr,
           py::arg("session") = "", py::arg("schema_idle_turns") = kDefaults.schema_idle_turns,
           // The store outlives every session kept in it.
           py::keep_alive<1, 11>())
      .def("rewrite", [](StreamSession& s, const std::string& wire, const std::string& body) {
        const WireFormat w = ParseWire(wire);
        RewriteReport report;
        Result<std::string> out = Status();
        {
          py::gil_scoped_release release;
          out = s.Rewrite(w, body, &report);
        }
        std::string text = Unwrap(std::move(out));
        py::dict r;
        r["bytes_before"] = report.bytes_before;
        r["bytes_after"] = report.bytes_after;
        r["stubbed_results"] = report.stubbed_results;
        r["stubbed_schemas"] = report.stubbed_schemas;
        r["new_evictions"] = report.new_evictions;
        r["new_faults"] = report.new_faults;
        r["cache_rewrite"] = report.first_changed_message != SIZE_MAX;
        return py::make_tuple(py::bytes(text), r);
      }, py::arg("wire"), py::arg("body"))
      .def("preview", [](const StreamSession& s, const std::string& wire, const std::string& body) {
        const WireFormat w = ParseWire(wire);
        Result<std::string> out = Status();
        {
          py::gil_scoped_release release;
          out = s.Preview(w, body);
        }
        return py::bytes(Unwrap(std::move(out)));
      }, py::arg("wire"), py::arg("body"))
      .def("follow_up", [](StreamSession& s, const std::string& wire, const std::string& request,
                           const std::string& response) -> py::object {
        const WireFormat w = ParseWire(wire);
        std::string extended, rewritten;
        Status status;
        {
          py::gil_scoped_release release;
          status = s.FollowUp(w, request, response, &extended, &rewritten);
        }
        ThrowIfError(status);
        if (rewritten.empty()) return py::none();
        return py::make_tuple(py::bytes(extended), py::bytes(rewritten));
      }, py::arg("wire"), py::arg("request"), py::arg("response"))
      .def("page", [](const StreamSession& s, const std::string& id) {
        return Unwrap(s.Page(id));
      }, py::arg("page_id"))
      .def("is_pinned", &StreamSession::IsPinned, py::arg("tool"), py::arg("arguments_json"))
      .def("stats", [](const StreamSession& s) { return StatsDict(s.Stats()); });

  m.def("request_head", [](const std::string& wire, const std::string& body) {
    const WireFormat w = ParseWire(wire);
    Result<RequestHead> head = Status();
    {
      py::gil_scoped_release release;
      head = ReadRequestHead(w, body);
    }
    RequestHead h = Unwrap(std::move(head));
    return py::make_tuple(py::bytes(h.identity), h.upstream_history);
  }, py::arg("wire"), py::arg("body"),
        "(identity, upstream_history): the bytes naming a request's conversation (its model, "
        "system text and first two items) and whether it names a previous_response_id, read "
        "without parsing the body.");

  m.def("replay_trace", [](const std::string& wire, const std::string& body,
                           const std::string& policy, size_t l1_tokens, int tau_turns,
                           size_t min_evict_bytes, bool count_user_messages_only,
                           size_t equal_page_tokens, double cache_write_price,
                           double cache_read_price, int thrash_window_turns, int thrash_faults,
                           double thrash_growth) {
    const WireFormat w = ParseWire(wire);
    if (thrash_window_turns < 1 || thrash_faults < 0 || !(thrash_growth >= 1.0)) {
      ThrowStatus(Status::InvalidArgument(
          "thrash_window_turns must be >= 1, thrash_faults >= 0 and thrash_growth >= 1"));
    }
    ReplayOptions options;
    options.policy = policy;
    options.l1_tokens = l1_tokens;
    options.equal_page_tokens = equal_page_tokens;
    options.stream = MakeConfig(tau_turns, min_evict_bytes, count_user_messages_only, true, true,
                                0, false, cache_write_price, cache_read_price);
    options.stream.thrash_window_turns = thrash_window_turns;
    options.stream.thrash_faults = thrash_faults;
    options.stream.thrash_growth = thrash_growth;
    Result<ReplayResult> r = Status();
    {
      py::gil_scoped_release release;
      r = ReplayTrace(w, body, options);
    }
    return ReplayDict(Unwrap(std::move(r)));
  }, py::arg("wire"), py::arg("body"), py::arg("policy") = "tau", py::arg("l1_tokens") = 4000,
     py::arg("tau_turns") = 4, py::arg("min_evict_bytes") = 500,
     py::arg("count_user_messages_only") = false, py::arg("equal_page_tokens") = 0,
     py::arg("cache_write_price") = 3.75, py::arg("cache_read_price") = 0.30,
     py::arg("thrash_window_turns") = 10, py::arg("thrash_faults") = 1,
     py::arg("thrash_growth") = 2.0);
  m.def("replay_policy_names", &ReplayPolicyNames);
  m.def("stream_page_id", &StreamPageId, py::arg("content"));
}

}  // namespace vmllm
