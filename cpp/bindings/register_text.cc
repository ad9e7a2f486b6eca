// The text layer for Python: token counting, chunking, embedding and extractive compression,
// exposed for tests, benchmarks and users who want the pieces without a store.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <functional>
#include <optional>

#include "python_text.h"
#include "status_to_python.h"
#include "vmllm/chunker.h"
#include "vmllm/compressor.h"
#include "vmllm/embedder.h"
#include "vmllm/tokenizer.h"
#include "vmllm/utf8.h"

namespace py = pybind11;

namespace vmllm {
namespace {

// Text for a tokenizer, as tiktoken takes it: a str holding lone surrogates is first cleaned
// the way tiktoken's `encode` does (UTF-16 round trip: paired surrogates join, lone ones become
// U+FFFD), so counts match tiktoken's instead of failing. `storage` keeps a cleaned copy alive.
std::string_view TokenizerText(py::handle text, std::string* storage) {
  if (PyUnicode_Check(text.ptr())) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
    if (data != nullptr) return std::string_view(data, static_cast<size_t>(size));
    PyErr_Clear();
    py::object clean = py::reinterpret_borrow<py::object>(text)
                           .attr("encode")("utf-16", "surrogatepass")
                           .attr("decode")("utf-16", "replace");
    *storage = clean.cast<std::string>();
    return *storage;
  }
  return Utf8View(text, "text");
}

// Counts with a Python callable `f(text) -> int`. Only chunk() uses it, on the calling Python
// thread with the GIL held: it never reaches a Pager, so core threads never call into Python.
class CallableTokenizer : public Tokenizer {
 public:
  explicit CallableTokenizer(py::function f) : f_(std::move(f)) {}
  std::string Name() const override { return "python"; }
  size_t Count(std::string_view text) const override {
    py::object n = f_(py::str(text.data(), text.size()));
    if (!py::isinstance<py::int_>(n) || n.cast<long long>() < 0) {
      throw py::type_error("tokenizer callable must return a non-negative int, not " +
                           std::string(py::str(py::repr(n))));
    }
    return n.cast<size_t>();
  }

 private:
  py::function f_;
};

// Shared body of chunk() and chunk_overlapping(): validates, then splits without the GIL
// (with it, when `counter` is a Python callable).
void SplitForPython(py::handle text, size_t page_tokens, std::shared_ptr<Tokenizer> tokenizer,
                    const std::string& kind_name, const std::string& doc_id,
                    size_t overlap_tokens, size_t code_page_tokens,
                    const std::function<void(const Chunk&)>& add,
                    py::object counter = py::none()) {
  if (page_tokens == 0) ThrowStatus(Status::InvalidArgument("page_tokens must be positive"));
  ContentKind kind = ContentKind::kText;
  if (!ParseContentKind(kind_name, &kind)) {
    ThrowStatus(Status::InvalidArgument("kind must be auto, text, markdown or python, not '" +
                                        kind_name + "'"));
  }
  std::string_view view = Utf8View(text, "text");
  if (!IsValidUtf8(view)) ThrowStatus(Status::InvalidArgument("text is not valid UTF-8"));
  if (!counter.is_none()) tokenizer = std::make_shared<CallableTokenizer>(counter);
  if (!tokenizer) tokenizer = NewApproxTokenizer();
  std::optional<py::gil_scoped_release> release;
  if (counter.is_none()) release.emplace();
  if (kind == ContentKind::kAuto) kind = DetectContentKind(doc_id, view);
  ChunkerOptions options;
  options.page_tokens = page_tokens;
  options.overlap_tokens = overlap_tokens;
  if (code_page_tokens > 0) options.code_page_tokens = code_page_tokens;
  Chunker chunker(tokenizer.get(), options);
  chunker.Split(view, kind, [&](const Chunk& c) {
    add(c);
    return true;
  });
}

}  // namespace

void RegisterText(py::module_& m) {
  py::class_<Tokenizer, std::shared_ptr<Tokenizer>>(m, "Tokenizer")
      .def_property_readonly("name", &Tokenizer::Name)
      .def("count", [](const Tokenizer& t, py::handle text) {
        std::string storage;
        std::string_view view = TokenizerText(text, &storage);
        py::gil_scoped_release release;
        return t.Count(view);
      }, py::arg("text"));
  m.def("approx_tokenizer", [] { return std::shared_ptr<Tokenizer>(NewApproxTokenizer()); });

  py::class_<BpeTokenizer, Tokenizer, std::shared_ptr<BpeTokenizer>>(m, "BpeTokenizer")
      .def("encode", [](const BpeTokenizer& t, py::handle text) {
        std::string storage;
        std::string_view view = TokenizerText(text, &storage);
        std::vector<uint32_t> ids;
        {
          py::gil_scoped_release release;
          ids = t.Encode(view);
        }
        return ids;
      }, py::arg("text"), "Token ids, as tiktoken's encode_ordinary.");
  m.def("find_bpe_rank_file", [](const std::string& name, std::vector<std::string> extra_dirs) {
    Result<std::string> path = FindBpeRankFile(name, extra_dirs);
    if (!path.ok()) ThrowStatus(path.status());
    return *path;
  }, py::arg("name"), py::arg("extra_dirs") = std::vector<std::string>{});
  m.def("bpe_tokenizer", [](const std::string& name, const std::string& path) {
    Result<std::unique_ptr<BpeTokenizer>> t = [&]() -> Result<std::unique_ptr<BpeTokenizer>> {
      py::gil_scoped_release release;
      return NewBpeTokenizer(name, path);
    }();
    if (!t.ok()) ThrowStatus(t.status());
    return std::shared_ptr<BpeTokenizer>(std::move(*t));
  }, py::arg("name"), py::arg("path"),
     "Exact BPE tokenizer `name` (cl100k_base | o200k_base) from a tiktoken rank file.");

  m.def("chunk", [](py::handle text, size_t page_tokens, std::shared_ptr<Tokenizer> tokenizer,
                    const std::string& kind, const std::string& doc_id, py::object counter) {
    std::vector<std::tuple<size_t, size_t, size_t>> out;
    if (!counter.is_none() && !PyCallable_Check(counter.ptr())) {
      throw py::type_error("counter must be callable");
    }
    SplitForPython(text, page_tokens, std::move(tokenizer), kind, doc_id, 0, 0,
                   [&](const Chunk& c) { out.emplace_back(c.offset, c.length, c.tokens); },
                   counter);
    return out;
  }, py::arg("text"), py::arg("page_tokens") = 2000, py::arg("tokenizer") = nullptr,
     py::arg("kind") = "text", py::arg("doc_id") = "", py::arg("counter") = py::none(),
     "Byte ranges (offset, length, tokens) of the pages of UTF-8 `text`. `kind`: text, "
     "markdown, python or auto (from `doc_id`'s extension, else the text).");
  m.def("chunk_overlapping", [](py::handle text, size_t page_tokens, size_t overlap_tokens,
                                std::shared_ptr<Tokenizer> tokenizer, const std::string& kind,
                                const std::string& doc_id, size_t code_page_tokens) {
    std::vector<std::tuple<size_t, size_t, size_t, size_t>> out;
    SplitForPython(text, page_tokens, std::move(tokenizer), kind, doc_id, overlap_tokens,
                   code_page_tokens, [&](const Chunk& c) {
                     out.emplace_back(c.overlap_offset, c.offset, c.length, c.tokens);
                   });
    return out;
  }, py::arg("text"), py::arg("page_tokens") = 2000, py::arg("overlap_tokens") = 0,
     py::arg("tokenizer") = nullptr, py::arg("kind") = "auto", py::arg("doc_id") = "",
     py::arg("code_page_tokens") = 500,
     "Pages as (overlap_offset, offset, length, tokens): [offset, offset+length) are the cores, "
     "which tile `text`; [overlap_offset, offset) repeats the previous page's end.");

  py::class_<Embedder, std::shared_ptr<Embedder>>(m, "Embedder")
      .def_property_readonly("name", &Embedder::Name)
      .def_property_readonly("dimension", &Embedder::Dimension)
      .def("embed", [](const Embedder& e, py::handle text) {
        std::string_view view = Utf8View(text, "text");
        std::vector<float> v;
        {
          py::gil_scoped_release release;
          v = e.Embed(view);
        }
        return v;
      }, py::arg("text"));
  m.def("hashing_embedder", [](size_t dim) {
    if (dim < 16) ThrowStatus(Status::InvalidArgument("dimension must be at least 16"));
    return std::shared_ptr<Embedder>(NewHashingEmbedder(dim));
  }, py::arg("dimension") = 384);

  py::class_<Compressor, std::shared_ptr<Compressor>>(m, "Compressor")
      .def_property_readonly("name", &Compressor::Name)
      .def("compress", [](const Compressor& c, py::handle text) {
        std::string_view view = Utf8View(text, "text");
        std::string out;
        {
          py::gil_scoped_release release;
          out = c.Compress(view);
        }
        return out;
      }, py::arg("text"));
  m.def("extractive_compressor", [](double ratio) {
    if (!(ratio > 0 && ratio <= 1)) ThrowStatus(Status::InvalidArgument("ratio must be in (0, 1]"));
    return std::shared_ptr<Compressor>(NewExtractiveCompressor(ratio));
  }, py::arg("ratio") = 0.1);
}

}  // namespace vmllm
