// An Embedder over an OpenAI-compatible embeddings endpoint: EmbedBatch sends batches (several
// requests in flight), vectors are L2-normalised so inner product is cosine similarity.
#include <cmath>
#include <cstring>

#include "vmllm/llm_client.h"

namespace vmllm {
namespace {

class LlmEmbedder : public Embedder {
 public:
  LlmEmbedder(std::shared_ptr<LlmClient> client, std::string model, size_t dimension)
      : client_(std::move(client)), model_(std::move(model)), dimension_(dimension) {}

  std::string Name() const override { return "openai:" + model_ + ":" + client_->base_url(); }
  size_t Dimension() const override { return dimension_; }

  // The single-text form cannot report failure: it writes zeros, which match nothing.
  void Embed(std::string_view text, float* out) const override {
    if (!EmbedBatch({text}, out).ok()) std::memset(out, 0, dimension_ * sizeof(float));
  }

  Status EmbedBatch(const std::vector<std::string_view>& texts, float* out) const override {
    std::vector<std::string> inputs;
    inputs.reserve(texts.size());
    for (std::string_view t : texts) {
      // The endpoint rejects empty input; a space embeds as "nothing here".
      inputs.emplace_back(t.empty() ? std::string_view(" ") : t);
    }
    auto vectors = client_->Embed(model_, inputs);
    if (!vectors.ok()) return vectors.status();
    for (size_t i = 0; i < vectors->size(); ++i) {
      const std::vector<float>& v = (*vectors)[i];
      if (v.size() != dimension_) {
        return Status::InvalidArgument("the model '" + model_ + "' returned " +
                                       std::to_string(v.size()) + " dimensions, not " +
                                       std::to_string(dimension_));
      }
      double norm = 0;
      for (float x : v) norm += double(x) * x;
      float scale = norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.f;
      for (size_t d = 0; d < dimension_; ++d) out[i * dimension_ + d] = v[d] * scale;
    }
    return Status();
  }

 private:
  std::shared_ptr<LlmClient> client_;
  std::string model_;
  size_t dimension_;
};

}  // namespace

Result<std::shared_ptr<Embedder>> NewLlmEmbedder(std::shared_ptr<LlmClient> client,
                                                 std::string model, size_t dimension) {
  if (dimension == 0) {
    auto probe = client->Embed(model, {"dimension probe"});
    if (!probe.ok()) return probe.status();
    dimension = (*probe)[0].size();
  }
  if (dimension < 2) return Status::InvalidArgument("embedding dimension must be at least 2");
  return std::shared_ptr<Embedder>(
      std::make_shared<LlmEmbedder>(std::move(client), std::move(model), dimension));
}

}  // namespace vmllm
