// Tokenizer: counts the tokens a model would see in a piece of text.
//
// Page sizes, the L1 budget and every "tokens" figure in vmllm come from a Tokenizer. The
// approximate tokenizer is dependency-free and fast; it mimics cl100k_base's pre-tokenisation
// (letter runs with their leading space, digit groups of at most three, punctuation runs,
// whitespace runs) so its counts stay within a few percent of the real BPE on prose and code.
// Exact byte-pair encoding for cl100k_base / o200k_base (BpeTokenizer) plugs in behind the same
// interface.
//
// Thread safety: implementations are immutable after construction; Count may be called from any
// number of threads at once.
#ifndef VMLLM_TOKENIZER_H_
#define VMLLM_TOKENIZER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vmllm/status.h"

namespace vmllm {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // A short stable name, e.g. "approx" or "cl100k_base"; stored with a store's metadata.
  virtual std::string Name() const = 0;
  // Number of tokens in `text`. REQUIRES: `text` is valid UTF-8 (invalid bytes count as one
  // token each rather than failing, so a count is always available).
  virtual size_t Count(std::string_view text) const = 0;
};

// The fast approximate tokenizer ("approx").
std::unique_ptr<Tokenizer> NewApproxTokenizer();

// Exact byte-pair encoding as OpenAI's tiktoken does it: the encoding's pre-tokenisation
// pattern (implemented by hand, Unicode classes from compact generated tables), then BPE merges
// by rank inside each piece. Special tokens such as "<|endoftext|>" are ordinary text, as in
// tiktoken's `encode_ordinary`, so counts of untrusted text are never surprising.
//
// Thread safety: immutable after construction; Count and Encode may run on many threads.
class BpeTokenizer : public Tokenizer {
 public:
  // Token ids of `text`, equal to tiktoken's `encode_ordinary` for valid UTF-8. Invalid bytes
  // become single-byte tokens (tiktoken cannot be given them at all).
  virtual std::vector<uint32_t> Encode(std::string_view text) const = 0;
};

// Encodings with a built-in pre-tokenisation pattern: "cl100k_base" and "o200k_base".
bool IsBpeEncodingName(std::string_view name);

// Loads `rank_file_path`, a tiktoken-format rank file (one "base64-token rank" per line).
// Returns InvalidArgument for an unknown encoding name, NotFound if the file cannot be read,
// and InvalidArgument naming the line for a malformed file.
Result<std::unique_ptr<BpeTokenizer>> NewBpeTokenizer(std::string_view name,
                                                      const std::string& rank_file_path);

// Where the rank file of encoding `name` is, or NotFound listing the places searched. Searches
// $VMLLM_TOKENIZER_DIR, then $TIKTOKEN_CACHE_DIR, then each of `extra_dirs`, for
// "<name>.tiktoken" and for the file name tiktoken's cache uses (the SHA-1 of its download URL).
Result<std::string> FindBpeRankFile(std::string_view name,
                                    const std::vector<std::string>& extra_dirs = {});

}  // namespace vmllm

#endif  // VMLLM_TOKENIZER_H_
