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
// boundary.
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

struct ChunkerOptions {
  size_t page_tokens = 2000;  // REQUIRES: > 0.
};

// One page of a document: a byte range of the input and its token count.
struct Chunk {
  size_t offset = 0;
  size_t length = 0;
  size_t tokens = 0;
};

class Chunker {
 public:
  // `tokenizer` must outlive the Chunker.
  Chunker(const Tokenizer* tokenizer, ChunkerOptions options);

  // Calls `emit` for each page of `text`, in order. Memory use is bounded by one page plus the
  // bookkeeping of the current cut, never by the size of `text`. `emit` returns false to stop.
  void Split(std::string_view text, const std::function<bool(const Chunk&)>& emit) const;

  // Convenience: all pages at once.
  std::vector<Chunk> Split(std::string_view text) const;

  const ChunkerOptions& options() const { return options_; }

 private:
  const Tokenizer* tokenizer_;
  ChunkerOptions options_;
};

}  // namespace vmllm

#endif  // VMLLM_CHUNKER_H_
