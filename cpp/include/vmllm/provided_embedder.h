// ProvidedEmbedder: an Embedder whose vectors are computed outside the core (by a Python
// callable or a LangChain `Embeddings`) and handed in before the core needs them, because core
// threads never call into Python.
//
// Provide() stores vectors by the text they embed; EmbedBatch() looks texts up and consumes
// the vectors it used. A text without a vector makes EmbedBatch fail with BackendUnavailable
// ("no vector provided"), so the vector index stops at that page and catches up once the vector
// arrives.
//
// Thread safety: internally synchronised.
#ifndef VMLLM_PROVIDED_EMBEDDER_H_
#define VMLLM_PROVIDED_EMBEDDER_H_

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "vmllm/embedder.h"
#include "vmllm/status.h"

namespace vmllm {

class ProvidedEmbedder : public Embedder {
 public:
  // REQUIRES: dimension >= 2.
  ProvidedEmbedder(std::string name, size_t dimension);

  std::string Name() const override { return name_; }
  size_t Dimension() const override { return dimension_; }
  void Embed(std::string_view text, float* out) const override;  // Zeros when missing.
  Status EmbedBatch(const std::vector<std::string_view>& texts, float* out) const override;

  // InvalidArgument when the counts differ or a vector has the wrong length (nothing stored).
  Status Provide(const std::vector<std::string>& texts,
                 const std::vector<std::vector<float>>& vectors);
  size_t size() const;

 private:
  std::string name_;
  size_t dimension_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::vector<float>> vectors_;
};

}  // namespace vmllm

#endif  // VMLLM_PROVIDED_EMBEDDER_H_
