// The engine for Python: the Pager with its page entries and statistics. Arguments are
// converted first, then every call that can block (disk, search, compression) releases the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "python_text.h"
#include "status_to_python.h"
#include "vmllm/eviction_policy.h"
#include "vmllm/pager.h"
#include "vmllm/redis_tier.h"

namespace py = pybind11;

namespace vmllm {
namespace {

SearchMode ParseMode(const std::string& mode) {
  if (mode == "hybrid") return SearchMode::kHybrid;
  if (mode == "vector") return SearchMode::kVector;
  if (mode == "keyword") return SearchMode::kKeyword;
  ThrowStatus(Status::InvalidArgument("mode must be 'hybrid', 'vector' or 'keyword', not '" +
                                      mode + "'"));
}

py::dict TierStatsDict(const TierStats& t) {
  py::dict d;
  d["hits"] = t.hits;
  d["misses"] = t.misses;
  d["errors"] = t.errors;
  d["pages"] = t.pages;
  d["bytes"] = t.bytes;
  d["tokens"] = t.tokens;
  return d;
}

py::dict StatsDict(const PagerStats& s) {
  py::dict tiers;
  for (int i = 0; i < 4; ++i) tiers[TierName(static_cast<TierId>(i + 1))] = TierStatsDict(s.tiers[i]);
  py::dict d;
  d["tiers"] = tiers;
  d["requests"] = s.requests;
  d["faults"] = s.faults;
  d["evictions"] = s.evictions;
  d["releases"] = s.releases;
  d["compressions"] = s.compressions;
  d["compression_failures"] = s.compression_failures;
  d["compression_fallbacks"] = s.compression_fallbacks;
  d["compressions_pending"] = s.compressions_pending;
  d["last_compression_error"] = s.last_compression_error;
  d["ingested_documents"] = s.ingested_documents;
  d["ingested_pages"] = s.ingested_pages;
  d["ingested_bytes"] = s.ingested_bytes;
  d["searches"] = s.searches;
  d["search_fallbacks"] = s.search_fallbacks;
  d["l1_budget"] = s.l1_budget;
  d["l1_used"] = s.l1_used;
  d["pinned_pages"] = s.pinned_pages;
  d["total_pages"] = s.total_pages;
  d["policy"] = s.policy;
  return d;
}


}  // namespace

void RegisterEngine(py::module_& m) {
  m.def("eviction_policies", &EvictionPolicyNames);

  py::class_<PageInfo>(m, "PageEntry", "What the page table knows about one page (a copy).")
      .def_readonly("space", &PageInfo::space)
      .def_readonly("page_id", &PageInfo::page_id)
      .def_readonly("doc_id", &PageInfo::doc_id)
      .def_readonly("chunk_index", &PageInfo::chunk_index)
      .def_readonly("tokens", &PageInfo::tokens)
      .def_readonly("bytes", &PageInfo::bytes)
      .def_readonly("content_hash", &PageInfo::content_hash)
      .def_readonly("created", &PageInfo::created)
      .def_readonly("last_accessed", &PageInfo::last_accessed)
      .def_readonly("access_count", &PageInfo::access_count)
      .def_readonly("fault_count", &PageInfo::fault_count)
      .def_readonly("pinned", &PageInfo::pinned)
      .def_property_readonly("tier", [](const PageInfo& p) { return TierName(p.tier); })
      .def_property_readonly("durable_tier",
                             [](const PageInfo& p) { return TierName(p.durable_tier); })
      .def_readonly("compressed", &PageInfo::compressed)
      .def_readonly("resident_as_summary", &PageInfo::resident_as_summary)
      .def_property_readonly("summary", [](const PageInfo& p) -> py::object {
        if (!p.compressed) return py::none();
        return py::str(p.summary);
      })
      .def("__repr__", [](const PageInfo& p) {
        return "PageEntry(page_id=" + std::string(py::repr(py::str(p.page_id))) + ", tier='" +
               TierName(p.tier) + "', tokens=" + std::to_string(p.tokens) +
               ", access_count=" + std::to_string(p.access_count) +
               ", fault_count=" + std::to_string(p.fault_count) +
               ", pinned=" + (p.pinned ? "True" : "False") +
               ", compressed=" + (p.compressed ? "True" : "False") + ")";
      });

  py::class_<Pager>(m, "Pager")
      .def(py::init([](const std::string& path, size_t l1_tokens, size_t page_tokens,
                       const std::string& policy, uint64_t l2_bytes, double l2_ttl_seconds,
                       double stats_flush_seconds, const std::string& l2_url,
                       std::shared_ptr<Embedder> embedder,
                       std::shared_ptr<AsyncCompressor> compressor,
                       std::shared_ptr<Tokenizer> tokenizer) {
             PagerOptions o;
             o.tokenizer = std::move(tokenizer);  // null: the approximate tokenizer.
             if (!l2_url.empty()) {  // A Redis L2; connecting may block.
               o.l2_tier = Blocking([&] { return OpenRedisTier(l2_url, path, l2_ttl_seconds); });
             }
             o.path = path;
             o.l1_tokens = l1_tokens;
             o.page_tokens = page_tokens;
             o.policy = policy;
             o.l2.byte_cap = l2_bytes;
             o.l2.ttl_seconds = l2_ttl_seconds;
             o.stats_flush_seconds = stats_flush_seconds;
             o.embedder = std::move(embedder);
             o.async_compressor = std::move(compressor);
             return Blocking([&] { return Pager::Open(std::move(o)); });
           }),
           py::arg("path"), py::arg("l1_tokens") = 6000, py::arg("page_tokens") = 2000,
           py::arg("policy") = "lru", py::arg("l2_bytes") = 64ull << 20,
           py::arg("l2_ttl_seconds") = 3600.0, py::arg("stats_flush_seconds") = 2.0,
           py::arg("l2_url") = "", py::arg("embedder") = nullptr,
           py::arg("compressor") = nullptr, py::arg("tokenizer") = nullptr)
      .def("ingest", [](Pager& p, py::handle doc_id, py::handle text) {
        std::string_view id = Utf8View(doc_id, "doc_id");
        std::string_view body = Utf8View(text, "text");
        return Blocking([&] { return p.Ingest(id, body); });
      }, py::arg("doc_id"), py::arg("text"))
      .def("delete", [](Pager& p, py::handle doc_id) {
        std::string_view id = Utf8View(doc_id, "doc_id");
        return Blocking([&] { return p.Delete(id); });
      }, py::arg("doc_id"))
      .def("ingest_chunks", [](Pager& p, py::handle doc_id, py::handle text,
                               const std::vector<std::tuple<size_t, size_t, size_t>>& cuts) {
        std::string_view id = Utf8View(doc_id, "doc_id");
        std::string_view body = Utf8View(text, "text");
        std::vector<Chunk> chunks;
        for (const auto& [offset, length, tokens] : cuts) {
          Chunk c;
          c.offset = c.overlap_offset = offset;
          c.length = length;
          c.tokens = tokens;
          chunks.push_back(c);
        }
        return Blocking([&] { return p.IngestChunks(id, body, chunks); });
      }, py::arg("doc_id"), py::arg("text"), py::arg("chunks"),
         "Ingest with the page cuts given as (offset, length, tokens) byte ranges.")
      .def("request_page", [](Pager& p, const std::string& id, bool full) {
        return Blocking([&] { return p.RequestPage(id, full); });
      }, py::arg("page_id"), py::arg("full") = false)
      .def("request_pages", [](Pager& p, const std::vector<std::string>& ids, bool full) {
        return Blocking([&] { return p.RequestPages(ids, full); });
      }, py::arg("page_ids"), py::arg("full") = false)
      .def("release_page", [](Pager& p, const std::string& id, bool compress) {
        return Blocking([&] { return p.ReleasePage(id, compress); });
      }, py::arg("page_id"), py::arg("compress") = true)
      .def("pin", [](Pager& p, const std::string& id) {
        Blocking([&] { return p.Pin(id); });
      }, py::arg("page_id"))
      .def("unpin", [](Pager& p, const std::string& id) {
        Blocking([&] { return p.Unpin(id); });
      }, py::arg("page_id"))
      .def("search", [](Pager& p, py::handle query, size_t n, const std::string& mode,
                        const std::string& space) {
        std::string_view q = Utf8View(query, "query");
        SearchMode m = ParseMode(mode);
        auto hits = Blocking([&] { return p.Search(q, n, m, space); });
        std::vector<std::pair<std::string, double>> out;
        for (auto& h : hits) out.emplace_back(std::move(h.page_id), h.score);
        return out;
      }, py::arg("query"), py::arg("n") = 5, py::arg("mode") = "hybrid",
         py::arg("space") = kDocumentSpace)
      .def("fault", [](Pager& p, py::handle description, size_t n, const std::string& space) {
        std::string_view d = Utf8View(description, "description");
        return Blocking([&] { return p.Fault(d, n, space); });
      }, py::arg("description"), py::arg("n") = 3, py::arg("space") = kDocumentSpace)
      .def("build_context", [](Pager& p, const std::string& space) {
        py::gil_scoped_release release;
        return p.BuildContext(space);
      }, py::arg("space") = kDocumentSpace)
      .def("context_tokens", [](Pager& p, const std::string& space) {
        py::gil_scoped_release release;
        return p.ContextTokens(space);
      }, py::arg("space") = kDocumentSpace)
      .def("active_pages", [](Pager& p, const std::string& space) {
        py::gil_scoped_release release;
        return p.ActivePages(space);
      }, py::arg("space") = kDocumentSpace)
      .def("spaces", [](Pager& p) {
        py::gil_scoped_release release;
        return p.Spaces();
      })
      .def("put_pages", [](Pager& p, const std::string& space,
                           const std::vector<std::pair<std::string, std::string>>& pages) {
        std::vector<PageWrite> writes;
        for (const auto& [id, text] : pages) writes.push_back({id, text});
        return Blocking([&] { return p.PutPages(space, writes); });
      }, py::arg("space"), py::arg("pages"), "Stores (page_id, text) pairs in a space.")
      .def("configure_space", [](Pager& p, const std::string& space, size_t l1_tokens,
                                 const std::string& policy) {
        Blocking([&] { return p.ConfigureSpace(space, SpaceOptions{l1_tokens, policy}); });
      }, py::arg("space"), py::arg("l1_tokens") = 0, py::arg("policy") = "")
      .def("delete_space", [](Pager& p, const std::string& space) {
        return Blocking([&] { return p.DeleteSpace(space); });
      }, py::arg("space"))
      .def("events", [](Pager& p, uint64_t after, size_t limit) {
        std::vector<PagerEvent> events;
        {
          py::gil_scoped_release release;
          events = p.Events(after, limit);
        }
        py::list out;
        for (const PagerEvent& e : events) {
          py::dict d;
          d["seq"] = e.seq;
          d["time"] = e.time;
          d["kind"] = EventKindName(e.kind);
          d["space"] = e.space;
          d["page_id"] = e.page_id;
          d["tokens"] = e.tokens;
          if (e.kind == PagerEvent::Kind::kPageIn) d["from_tier"] = TierName(e.from);
          out.append(std::move(d));
        }
        return out;
      }, py::arg("after") = 0, py::arg("limit") = Pager::kEventRing)
      .def("page_info", [](Pager& p, const std::string& id) {
        return Blocking([&] { return p.GetPageInfo(id); });
      }, py::arg("page_id"))
      .def("page_ids", [](Pager& p, const std::string& space) {
        py::gil_scoped_release release;
        return p.PageIds(space);
      }, py::arg("space") = kDocumentSpace)
      .def("page_count", [](Pager& p, const std::string& space) {
        py::gil_scoped_release release;
        return p.PageCount(space);
      }, py::arg("space") = kDocumentSpace)
      .def("read_page", [](Pager& p, const std::string& id) {
        return Blocking([&] { return p.ReadPage(id); });
      }, py::arg("page_id"))
      .def("stats", [](Pager& p, const std::string& space) {
        PagerStats s;
        {
          py::gil_scoped_release release;
          s = p.Stats(space);
        }
        return StatsDict(s);
      }, py::arg("space") = kDocumentSpace)
      .def("hand_off", [](Pager& p, const std::string& task_state_json) {
        return Blocking([&] { return p.HandOff(task_state_json); });
      }, py::arg("task_state_json"))
      .def("receive_hand_off", [](Pager& p, py::handle snapshot) {
        std::string_view s = Utf8View(snapshot, "snapshot");
        return Blocking([&] { return p.ReceiveHandOff(s); });
      }, py::arg("snapshot_json"))
      .def("texts_to_embed", [](Pager& p, size_t limit) {
        return Blocking([&] { return p.TextsToEmbed(limit); });
      }, py::arg("limit") = 256)
      .def("flush", [](Pager& p) { Blocking([&] { return p.Flush(); }); })
      .def("close", [](Pager& p) { Blocking([&] { return p.Close(); }); });
}

}  // namespace vmllm
