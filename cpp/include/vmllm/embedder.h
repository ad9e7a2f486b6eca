// Embedder: turns text into a fixed-length vector for semantic search in L3.
//
// The built-in HashingEmbedder needs no model and no network: it hashes word, sub-word
// (snake_case / camelCase parts) and word-bigram features into a signed, sublinearly weighted,
// L2-normalised vector, so inner product equals cosine similarity. It captures shared
// vocabulary, not meaning; the hybrid ranking pairs it with BM25.
//
// Thread safety: implementations must allow concurrent Embed calls.
#ifndef VMLLM_EMBEDDER_H_
#define VMLLM_EMBEDDER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vmllm/status.h"

namespace vmllm {

class Embedder {
 public:
  virtual ~Embedder() = default;
  // Stable identity of the vector space, e.g. "hashing-384-v1". A store whose index was built
  // by another embedder rebuilds it.
  virtual std::string Name() const = 0;
  // 0 until Prepare() succeeds for an embedder that learns its dimension from a server.
  virtual size_t Dimension() const = 0;
  // Makes Dimension() known. A remote embedder of unknown dimension asks its server here, at
  // first use rather than at construction, so that a store opens while the server is down;
  // BackendUnavailable until it answers. Local embedders know their dimension already.
  virtual Status Prepare() const { return Status(); }
  // Writes Dimension() floats to `out`, L2-normalised (all zeros for text without features).
  virtual void Embed(std::string_view text, float* out) const = 0;

  // Writes texts.size() * Dimension() floats to `out`, one vector per text, in order. A remote
  // embedder sends the texts in batches and reports failure (BackendUnavailable,
  // InvalidArgument); the default embeds one text at a time and always succeeds.
  virtual Status EmbedBatch(const std::vector<std::string_view>& texts, float* out) const {
    for (size_t i = 0; i < texts.size(); ++i) Embed(texts[i], out + i * Dimension());
    return Status();
  }

  std::vector<float> Embed(std::string_view text) const {
    std::vector<float> v(Dimension());
    Embed(text, v.data());
    return v;
  }
};

// REQUIRES: dimension >= 16.
std::unique_ptr<Embedder> NewHashingEmbedder(size_t dimension = 384);

// True for the built-in hashing embedder (its Name() starts "hashing-"): the hybrid searches
// weight BM25 above it (util/rank_fusion.h).
bool IsHashingEmbedder(const Embedder& embedder);

}  // namespace vmllm

#endif  // VMLLM_EMBEDDER_H_
