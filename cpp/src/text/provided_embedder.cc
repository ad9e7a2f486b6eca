#include "vmllm/provided_embedder.h"

#include <cmath>
#include <cstring>

namespace vmllm {
namespace {

// Vectors nobody asked for (a query that was never searched) must not pile up forever.
constexpr size_t kMaxStored = 100000;

}  // namespace

ProvidedEmbedder::ProvidedEmbedder(std::string name, size_t dimension)
    : name_(std::move(name)), dimension_(dimension) {}

void ProvidedEmbedder::Embed(std::string_view text, float* out) const {
  if (!EmbedBatch({text}, out).ok()) std::memset(out, 0, dimension_ * sizeof(float));
}

Status ProvidedEmbedder::EmbedBatch(const std::vector<std::string_view>& texts,
                                    float* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < texts.size(); ++i) {
    auto it = vectors_.find(std::string(texts[i]));
    if (it == vectors_.end()) {
      return Status::BackendUnavailable("no vector provided for a text of " +
                                        std::to_string(texts[i].size()) + " bytes (embedder '" +
                                        name_ + "' runs in Python)");
    }
    std::memcpy(out + i * dimension_, it->second.data(), dimension_ * sizeof(float));
  }
  // Consumed only when the whole batch succeeded, so a retry finds them again.
  for (std::string_view t : texts) vectors_.erase(std::string(t));
  return Status();
}

Status ProvidedEmbedder::Provide(const std::vector<std::string>& texts,
                                 const std::vector<std::vector<float>>& vectors) {
  if (texts.size() != vectors.size()) {
    return Status::InvalidArgument("got " + std::to_string(vectors.size()) + " vectors for " +
                                   std::to_string(texts.size()) + " texts");
  }
  for (const auto& v : vectors) {
    if (v.size() != dimension_) {
      return Status::InvalidArgument("the embedder returned a vector of " +
                                     std::to_string(v.size()) + " dimensions, not " +
                                     std::to_string(dimension_));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (vectors_.size() + texts.size() > kMaxStored) vectors_.clear();
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<float> v = vectors[i];
    double norm = 0;
    for (float x : v) norm += double(x) * x;
    if (norm > 0) {
      float scale = static_cast<float>(1.0 / std::sqrt(norm));
      for (float& x : v) x *= scale;
    }
    vectors_[texts[i]] = std::move(v);
  }
  return Status();
}

size_t ProvidedEmbedder::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return vectors_.size();
}

}  // namespace vmllm
