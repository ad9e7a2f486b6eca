// AsyncCompressor: a compressor whose work happens away from the caller, on a remote model or on
// Python's side, so that eviction never waits for it.
//
// Start hands over a page's text and returns at once; `done` is later called exactly once with
// the summary or the reason there is none, on some other thread, never inside Start (the pager
// calls Start while holding its lock). A summary keeps every named entity, number, identifier
// and decision of the page, at about a tenth of its length.
//
// Thread safety: implementations must allow concurrent Start calls.
#ifndef VMLLM_ASYNC_COMPRESSOR_H_
#define VMLLM_ASYNC_COMPRESSOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vmllm/status.h"

namespace vmllm {

class AsyncCompressor {
 public:
  using Done = std::function<void(Result<std::string>)>;
  virtual ~AsyncCompressor() = default;
  // Identity of the summaries it makes (the model): part of the summary cache key.
  virtual std::string Name() const = 0;
  virtual void Start(std::string text, Done done) = 0;
};

// A compressor whose jobs wait in a queue until someone outside the core (the Python glue)
// takes them, computes the summaries and completes them.
class QueuedCompressor : public AsyncCompressor {
 public:
  struct Job {
    uint64_t id = 0;
    std::string text;
  };
  explicit QueuedCompressor(std::string name);
  ~QueuedCompressor() override;  // Fails every unfinished job.

  std::string Name() const override { return name_; }
  void Start(std::string text, Done done) override;

  // Up to `limit` queued jobs, waiting up to `timeout_seconds` for the first; empty on timeout
  // or once closed.
  std::vector<Job> Take(size_t limit, double timeout_seconds);
  // Completes a taken job; an unknown or finished id is ignored.
  void Complete(uint64_t id, Result<std::string> summary);
  // Fails every unfinished job and wakes every Take.
  void Close();
  size_t pending() const;  // Queued plus taken, not yet completed.

 private:
  struct State;
  std::string name_;
  std::shared_ptr<State> state_;
};

}  // namespace vmllm

#endif  // VMLLM_ASYNC_COMPRESSOR_H_
