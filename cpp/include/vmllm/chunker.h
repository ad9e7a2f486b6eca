// Chunker: cuts a document into pages of at most `page_tokens` tokens.
//
// Invariants, for every input:
//   * the pages, concatenated in order, equal the input byte for byte;
//   * every page holds at most `page_tokens` tokens (as counted by the Tokenizer), except a
//     single character that alone exceeds the limit, which becomes its own page;
//   * no cut falls inside a UTF-8 character;
//   * an empty input yields no pages.
// Cuts prefer, in order: a blank line (paragraph), the boundary of a fenced code block
// ("```"), a line end, a sentence end (". ", "? ", "! "), a space, and only then any character
// boundary. That is the order for ContentKind::kText; the other kinds add better boundaries:
//   * kMarkdown: before a heading line ("# ...", outside fences) beats everything else, and is
//     taken once the page holds a quarter of its budget;
//   * kPython: before a top-level `def`/`class` (or its decorators), then before a nested one,
//     then a blank line between statements, then any statement boundary (a line end outside
//     brackets, strings and backslash continuations), then other line ends. Pages of code aim at
//     `code_page_tokens` (the 200-500-token size that retrieves well), so a function of that size
//     is one page and a larger one is split between statements.
//
// Overlap: with `overlap_tokens` > 0, each page after the first also reports an overlap prefix,
// [overlap_offset, offset): the end of the previous page, at most `overlap_tokens` tokens, begun
// at a line or word start. Prefixes repeat text on purpose (context for an embedder or a
// reader); the cores [offset, offset + length) still tile the input exactly, so stores keep
// cores only and concatenating them always gives the document back.
//
// Thread safety: a Chunker is immutable; Split may be called from many threads at once.
#ifndef VMLLM_CHUNKER_H_
#define VMLLM_CHUNKER_H_

#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

#include "vmllm/tokenizer.h"

namespace vmllm {

// What a document is, for choosing cut points. kAuto is resolved by DetectContentKind.
enum class ContentKind { kAuto, kText, kMarkdown, kPython };

struct ChunkerOptions {
  size_t page_tokens = 2000;  // REQUIRES: > 0.
  ContentKind kind = ContentKind::kText;
  size_t overlap_tokens = 0;      // Overlap prefix budget; 0 for none.
  size_t code_page_tokens = 500;  // Page target for kPython (capped by page_tokens).
};

// The kind of a document from its id's extension (.py/.pyi/.pyw, .md/.markdown/.mdx), else from
// its first lines (Python keywords at line starts; Markdown headings, lists or fences), else
// kText.
ContentKind DetectContentKind(std::string_view doc_id, std::string_view text);

// "auto", "text", "markdown", "python" <-> ContentKind; false for an unknown name.
bool ParseContentKind(std::string_view name, ContentKind* kind);
const char* ContentKindName(ContentKind kind);

// One page of a document: a byte range of the input and its token count.
struct Chunk {
  size_t offset = 0;
  size_t length = 0;
  size_t tokens = 0;
  // Start of the overlap prefix ([overlap_offset, offset) repeats the previous page's end);
  // equals `offset` when there is none.
  size_t overlap_offset = 0;
};

class Chunker {
 public:
  // `tokenizer` must outlive the Chunker.
  Chunker(const Tokenizer* tokenizer, ChunkerOptions options);

  // Calls `emit` for each page of `text`, in order, cutting as options().kind says (kAuto is
  // resolved from the text alone). Memory use is bounded by one page plus the
  // bookkeeping of the current cut, never by the size of `text`. `emit` returns false to stop.
  void Split(std::string_view text, const std::function<bool(const Chunk&)>& emit) const;

  // The same with the kind given (kAuto: from the text alone).
  void Split(std::string_view text, ContentKind kind,
             const std::function<bool(const Chunk&)>& emit) const;

  // Convenience: all pages at once.
  std::vector<Chunk> Split(std::string_view text) const;

  const ChunkerOptions& options() const { return options_; }

 private:
  const Tokenizer* tokenizer_;
  ChunkerOptions options_;
};

}  // namespace vmllm

#endif  // VMLLM_CHUNKER_H_
