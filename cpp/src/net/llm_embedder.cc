// An Embedder over an OpenAI-compatible embeddings endpoint: EmbedBatch sends batches (several
// requests in flight), vectors are L2-normalised so inner product is cosine similarity.
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>

#include "vmllm/llm_client.h"

namespace vmllm {
namespace {

class LlmEmbedder : public Embedder {
 public:
  LlmEmbedder(std::shared_ptr<LlmClient> client, std::string model, size_t dimension,
              size_t requested_dimensions)
      : client_(std::move(client)),
        model_(std::move(model)),
        requested_(requested_dimensions),
        dimension_(requested_dimensions > 0 ? requested_dimensions : dimension) {}

  std::string Name() const override { return "openai:" + model_ + ":" + client_->base_url(); }
  size_t Dimension() const override { return dimension_.load(); }

  // An unknown dimension is learned here, at first use: the store that owns this embedder
  // must open (and serve pages and keyword search) while the server is down.
  Status Prepare() const override {
    if (dimension_.load() > 0) return Status();
    std::lock_guard<std::mutex> lock(probe_mu_);
    if (dimension_.load() > 0) return Status();
    auto probe = client_->Embed(model_, {"dimension probe"}, nullptr, requested_);
    if (!probe.ok()) return probe.status();
    const size_t learned = (*probe)[0].size();
    if (learned < 2) {
      return Status::InvalidArgument("the model '" + model_ + "' returned vectors of " +
                                     std::to_string(learned) +
                                     " dimensions; at least 2 are needed");
    }
    dimension_.store(learned);
    return Status();
  }

  // The single-text form cannot report failure: it writes zeros, which match nothing. Callers
  // size `out` by Dimension(); while that is still 0 (not learned yet) nothing is written, as
  // a probe now could learn a size larger than their buffer.
  void Embed(std::string_view text, float* out) const override {
    const size_t dimension = dimension_.load();
    if (dimension == 0) return;
    if (!EmbedBatch({text}, out).ok()) std::memset(out, 0, dimension * sizeof(float));
  }

  Status EmbedBatch(const std::vector<std::string_view>& texts, float* out) const override {
    VMLLM_RETURN_IF_ERROR(Prepare());
    const size_t dimension = dimension_.load();
    std::vector<std::string> inputs;
    inputs.reserve(texts.size());
    for (std::string_view t : texts) {
      // The endpoint rejects empty input; a space embeds as "nothing here".
      inputs.emplace_back(t.empty() ? std::string_view(" ") : t);
    }
    auto vectors = client_->Embed(model_, inputs, nullptr, requested_);
    if (!vectors.ok()) return vectors.status();
    for (size_t i = 0; i < vectors->size(); ++i) {
      const std::vector<float>& v = (*vectors)[i];
      if (v.size() != dimension) {
        // Names both sizes: the usual cause is a server or model other than the one the
        // index was sized for, fixed by asking for that size (the `dimensions` option).
        return Status::InvalidArgument(
            "embedding dimension mismatch: the model '" + model_ + "' at " +
            client_->base_url() + " returned vectors of " + std::to_string(v.size()) +
            " dimensions, but the index expects " + std::to_string(dimension) +
            " (set the embedding dimensions option to the model's size)");
      }
      double norm = 0;
      for (float x : v) norm += double(x) * x;
      float scale = norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.f;
      for (size_t d = 0; d < dimension; ++d) out[i * dimension + d] = v[d] * scale;
    }
    return Status();
  }

 private:
  std::shared_ptr<LlmClient> client_;
  std::string model_;
  size_t requested_;  // Sent as "dimensions" when > 0.
  mutable std::atomic<size_t> dimension_;  // 0 until learned by Prepare.
  mutable std::mutex probe_mu_;
};

}  // namespace

Result<std::shared_ptr<Embedder>> NewLlmEmbedder(std::shared_ptr<LlmClient> client,
                                                 std::string model, size_t dimension,
                                                 size_t requested_dimensions) {
  if (requested_dimensions == 1 || (requested_dimensions == 0 && dimension == 1)) {
    return Status::InvalidArgument("embedding dimension must be at least 2");
  }
  return std::shared_ptr<Embedder>(std::make_shared<LlmEmbedder>(
      std::move(client), std::move(model), dimension, requested_dimensions));
}

}  // namespace vmllm
