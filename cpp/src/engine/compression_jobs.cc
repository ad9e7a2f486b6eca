#include "engine/compression_jobs.h"

#include <condition_variable>
#include <mutex>

namespace vmllm {

struct CompressionJobs::Shared {
  std::shared_ptr<const Compressor> fallback;
  std::mutex apply_mu;  // Guards `apply`; held while it runs.
  Apply apply;
  mutable std::mutex count_mu;
  std::condition_variable idle;
  size_t pending = 0;
};

CompressionJobs::CompressionJobs(std::shared_ptr<AsyncCompressor> compressor,
                                 std::shared_ptr<const Compressor> fallback, Apply apply)
    : compressor_(std::move(compressor)),
      model_(compressor_->Name()),
      shared_(std::make_shared<Shared>()) {
  shared_->fallback = std::move(fallback);
  shared_->apply = std::move(apply);
}

CompressionJobs::~CompressionJobs() { Detach(); }

void CompressionJobs::Start(PageKey key, uint64_t content_hash, std::string text) {
  {
    std::lock_guard<std::mutex> lock(shared_->count_mu);
    ++shared_->pending;
  }
  // The job keeps the text only as long as it runs: the fallback needs it after a failure.
  auto text_ptr = std::make_shared<std::string>(std::move(text));
  compressor_->Start(*text_ptr, [shared = shared_, key, content_hash,
                                 text_ptr](Result<std::string> summary) {
    std::string fallback;
    if (!summary.ok()) fallback = shared->fallback->Compress(*text_ptr);
    {
      std::lock_guard<std::mutex> lock(shared->apply_mu);
      if (shared->apply) shared->apply(key, content_hash, std::move(summary), std::move(fallback));
    }
    std::lock_guard<std::mutex> lock(shared->count_mu);
    --shared->pending;
    shared->idle.notify_all();
  });
}

void CompressionJobs::WaitIdle() {
  std::unique_lock<std::mutex> lock(shared_->count_mu);
  shared_->idle.wait(lock, [&] { return shared_->pending == 0; });
}

void CompressionJobs::Detach() {
  std::lock_guard<std::mutex> lock(shared_->apply_mu);
  shared_->apply = nullptr;
}

size_t CompressionJobs::pending() const {
  std::lock_guard<std::mutex> lock(shared_->count_mu);
  return shared_->pending;
}

}  // namespace vmllm
