// CompressionJobs: the pager's side of compress-on-evict with an AsyncCompressor. Eviction calls
// Start (under the pager's lock) and moves on; when the compressor answers, a failed job gets the
// extractive fallback computed on the compressor's thread, and `apply` hands the result back to
// the pager (which takes its own lock).
//
// Lock order: the apply guard, then the pager's lock. Start never takes the apply guard, so a
// completion waiting for the pager's lock never blocks an eviction. Detach and WaitIdle must be
// called without the pager's lock.
//
// Thread safety: internally synchronised.
#ifndef VMLLM_ENGINE_COMPRESSION_JOBS_H_
#define VMLLM_ENGINE_COMPRESSION_JOBS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "vmllm/async_compressor.h"
#include "vmllm/compressor.h"
#include "vmllm/page.h"

namespace vmllm {

class CompressionJobs {
 public:
  // `summary` is the compressor's answer; when it failed, `fallback` holds the extractive summary.
  using Apply = std::function<void(PageKey key, uint64_t content_hash,
                                   Result<std::string> summary, std::string fallback)>;

  // `fallback` must outlive every job (the pager keeps it in a shared_ptr captured by jobs).
  CompressionJobs(std::shared_ptr<AsyncCompressor> compressor,
                  std::shared_ptr<const Compressor> fallback, Apply apply);
  ~CompressionJobs();  // Detaches.

  const std::string& model() const { return model_; }
  void Start(PageKey key, uint64_t content_hash, std::string text);
  // Waits until every started job has been applied (or dropped after Detach).
  void WaitIdle();
  // After this returns, `apply` is never called again; later completions are dropped.
  void Detach();
  size_t pending() const;

 private:
  struct Shared;
  std::shared_ptr<AsyncCompressor> compressor_;
  std::string model_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace vmllm

#endif  // VMLLM_ENGINE_COMPRESSION_JOBS_H_
