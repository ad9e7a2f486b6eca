// Tokenizer: counts the tokens a model would see in a piece of text.
//
// Page sizes, the L1 budget and every "tokens" figure in vmllm come from a Tokenizer. The
// approximate tokenizer is dependency-free and fast; it mimics cl100k_base's pre-tokenisation
// (letter runs with their leading space, digit groups of at most three, punctuation runs,
// whitespace runs) so its counts stay within a few percent of the real BPE on prose and code.
// Exact byte-pair encoding for cl100k_base / o200k_base plugs in behind the same interface.
//
// Thread safety: implementations are immutable after construction; Count may be called from any
// number of threads at once.
#ifndef VMLLM_TOKENIZER_H_
#define VMLLM_TOKENIZER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

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

}  // namespace vmllm

#endif  // VMLLM_TOKENIZER_H_
