// Python bindings for conversation memory (MemGPT-style). Messages and tool calls cross as
// JSON text (the Python glue in vmllm/conversation_memory.py encodes and decodes them), so no
// Python object is touched without the GIL. Every call releases the GIL around the core.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <tuple>

#include "python_text.h"
#include "status_to_python.h"
#include "vmllm/conversation_memory.h"

namespace py = pybind11;

namespace vmllm {
namespace {

using BlockTuple = std::tuple<std::string, std::string, std::string, size_t, std::string, bool>;


MemoryBlock ToBlock(const BlockTuple& t) {
  return MemoryBlock{std::get<0>(t), std::get<1>(t), std::get<2>(t),
                     std::get<3>(t), std::get<4>(t), std::get<5>(t)};
}

py::dict BlockDict(const MemoryBlock& b) {
  py::dict d;
  d["block_id"] = b.block_id;
  d["label"] = b.label;
  d["value"] = b.value;
  d["limit"] = b.limit;
  d["description"] = b.description;
  d["read_only"] = b.read_only;
  return d;
}

py::list HitList(const std::vector<MemoryHit>& hits) {
  py::list out;
  for (const MemoryHit& h : hits) {
    py::dict d;
    d["id"] = h.id;
    d["timestamp"] = h.timestamp;
    d["role"] = h.role;
    d["content"] = h.content;
    d["message"] = h.json;
    out.append(d);
  }
  return out;
}

py::dict PageDict(const MemorySearchPage& p) {
  py::dict d;
  d["hits"] = HitList(p.hits);
  d["context"] = HitList(p.context);
  d["page"] = p.page;
  d["total"] = p.total;
  d["total_pages"] = p.total_pages;
  return d;
}

RecallMode ParseRecallMode(const std::string& mode) {
  if (mode == "hybrid") return RecallMode::kHybrid;
  if (mode == "keyword") return RecallMode::kKeyword;
  if (mode == "vector") return RecallMode::kVector;
  ThrowStatus(Status::InvalidArgument("mode must be 'hybrid', 'keyword' or 'vector', not '" +
                                      mode + "'"));
}

}  // namespace

void RegisterMemory(py::module_& m) {
  py::class_<ConversationMemory>(m, "ConversationMemory")
      .def(py::init([](const std::string& path, const std::string& agent_id, size_t window_tokens,
                       std::optional<std::string> system, const std::vector<BlockTuple>& blocks,
                       double warn, double flush, double target, double summary_fraction,
                       size_t page_size, bool external_compressor,
                       std::shared_ptr<Tokenizer> tokenizer, std::shared_ptr<Embedder> embedder) {
             ConversationMemoryOptions o;
             o.path = path;
             o.agent_id = agent_id;
             o.window_tokens = window_tokens;
             o.system = std::move(system);
             for (const BlockTuple& t : blocks) o.blocks.push_back(ToBlock(t));
             o.warn_fraction = warn;
             o.flush_fraction = flush;
             o.target_fraction = target;
             o.summary_fraction = summary_fraction;
             o.page_size = page_size;
             o.external_compressor = external_compressor;
             o.tokenizer = std::move(tokenizer);  // Null: the approximate tokenizer.
             o.embedder = std::move(embedder);    // Null: the hashing embedder.
             return Blocking([&] { return ConversationMemory::Open(std::move(o)); });
           }),
           py::arg("path"), py::arg("agent_id"), py::arg("window_tokens"), py::arg("system"),
           py::arg("blocks"), py::arg("warn_fraction"), py::arg("flush_fraction"),
           py::arg("target_fraction"), py::arg("summary_fraction"), py::arg("page_size"),
           py::arg("external_compressor"), py::arg("tokenizer") = nullptr,
           py::arg("embedder") = nullptr)
      .def("append", [](ConversationMemory& c, py::handle message_json) {
        std::string_view text = Utf8View(message_json, "message");
        AppendOutcome o = Blocking([&] { return c.Append(text); });
        py::dict d;
        d["message_id"] = o.message_id;
        d["warned"] = o.warned;
        d["flushed"] = o.flushed;
        d["flush_pending"] = o.flush_pending;
        return d;
      }, py::arg("message_json"))
      .def("messages", [](ConversationMemory& c) { return Blocking([&] { return c.Messages(); }); })
      .def("maintain", [](ConversationMemory& c) {
        AppendOutcome o = Blocking([&] { return c.Maintain(); });
        return o.flushed || o.flush_pending;
      })
      .def("context_tokens",
           [](ConversationMemory& c) { return Blocking([&] { return c.ContextTokens(); }); })
      .def("blocks", [](ConversationMemory& c) {
        std::vector<MemoryBlock> blocks = Blocking([&] { return c.Blocks(); });
        py::list out;
        for (const MemoryBlock& b : blocks) out.append(BlockDict(b));
        return out;
      })
      .def("attach_block", [](ConversationMemory& c, const BlockTuple& t) {
        MemoryBlock b = ToBlock(t);
        Blocking([&] { return c.AttachBlock(b); });
      }, py::arg("block"))
      .def("set_block_value", [](ConversationMemory& c, const std::string& label,
                                 const std::string& value) {
        Blocking([&] { return c.SetBlockValue(label, value); });
      }, py::arg("label"), py::arg("value"))
      .def("tool_schemas", [](ConversationMemory& c, const std::string& format) {
        return Blocking([&] { return c.ToolSchemas(format); });
      }, py::arg("format"))
      .def("execute", [](ConversationMemory& c, py::handle call_json, bool append) {
        std::string_view text = Utf8View(call_json, "tool_call");
        ToolOutcome o = Blocking([&] { return c.Execute(text, append); });
        py::dict d;
        d["tool_call_id"] = o.tool_call_id;
        d["name"] = o.name;
        d["ok"] = o.ok;
        d["heartbeat"] = o.heartbeat;
        d["content"] = o.content;
        d["message"] = o.message_json;
        d["appended"] = o.appended;
        d["flush_pending"] = o.flush_pending;
        return d;
      }, py::arg("tool_call_json"), py::arg("append"))
      .def("search_recall", [](ConversationMemory& c, const std::string& text,
                               std::optional<double> start, std::optional<double> end,
                               const std::string& mode, size_t page) {
        RecallQuery q;
        q.text = text;
        q.start = start;
        q.end = end;
        q.mode = ParseRecallMode(mode);
        q.page = page;
        return PageDict(Blocking([&] { return c.SearchRecall(q); }));
      }, py::arg("text"), py::arg("start"), py::arg("end"), py::arg("mode"), py::arg("page"))
      .def("archival_insert", [](ConversationMemory& c, py::handle text) {
        std::string_view view = Utf8View(text, "text");
        return Blocking([&] { return c.ArchivalInsert(view); });
      }, py::arg("text"))
      .def("archival_search", [](ConversationMemory& c, const std::string& query, size_t page) {
        return PageDict(Blocking([&] { return c.ArchivalSearch(query, page); }));
      }, py::arg("query"), py::arg("page"))
      .def("texts_to_embed", [](ConversationMemory& c, size_t limit) {
        return Blocking([&] { return c.TextsToEmbed(limit); });
      }, py::arg("limit") = 256)
      .def("flush_pending", [](ConversationMemory& c) {
        py::gil_scoped_release release;
        return c.FlushPending();
      })
      .def("summary_input",
           [](ConversationMemory& c) { return Blocking([&] { return c.SummaryInput(); }); })
      .def("complete_flush", [](ConversationMemory& c, std::optional<std::string> summary) {
        Blocking([&] { return c.CompleteFlush(std::move(summary)); });
      }, py::arg("summary"))
      .def("stats", [](ConversationMemory& c) {
        ConversationMemoryStats s = Blocking([&] { return c.Stats(); });
        py::dict d;
        d["window_tokens"] = s.window_tokens;
        d["context_tokens"] = s.context_tokens;
        d["system_tokens"] = s.system_tokens;
        d["summary_tokens"] = s.summary_tokens;
        d["queue_tokens"] = s.queue_tokens;
        d["queue_messages"] = s.queue_messages;
        d["recall_messages"] = s.recall_messages;
        d["archival_passages"] = s.archival_passages;
        d["warnings"] = s.warnings;
        d["flushes"] = s.flushes;
        d["evicted_messages"] = s.evicted_messages;
        d["compressor_failures"] = s.compressor_failures;
        d["tool_calls"] = s.tool_calls;
        d["tool_errors"] = s.tool_errors;
        d["closed_tool_calls"] = s.closed_tool_calls;
        d["late_tool_results"] = s.late_tool_results;
        d["search_fallbacks"] = s.search_fallbacks;
        return d;
      })
      .def("close", [](ConversationMemory& c) { Blocking([&] { return c.Close(); }); });

  m.def("message_tokens", [](py::handle message_json, std::shared_ptr<Tokenizer> tokenizer) {
    std::string_view text = Utf8View(message_json, "message");
    static const std::shared_ptr<Tokenizer> approx = NewApproxTokenizer();
    if (!tokenizer) tokenizer = approx;
    py::gil_scoped_release release;
    return MessageTokens(*tokenizer, text);
  }, py::arg("message_json"), py::arg("tokenizer") = nullptr,
     "Token cost of one rendered message, as ConversationMemory counts it.");
  m.def("tool_call_query", [](py::handle tool_call_json) {
    std::string_view text = Utf8View(tool_call_json, "tool_call");
    py::gil_scoped_release release;
    return ToolCallQuery(text);
  }, py::arg("tool_call_json"),
     "The query a memory tool call searches by meaning; empty for other calls.");
}

}  // namespace vmllm
