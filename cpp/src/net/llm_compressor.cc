// Compress-on-evict through a chat model, on a small pool of background threads so that the
// pager's eviction only enqueues.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "vmllm/llm_client.h"

namespace vmllm {
namespace {

constexpr const char* kPrompt =
    "You compress pages of a document for an AI agent's memory. The agent will see your summary "
    "instead of the page until it asks for the full text, so the summary must let it judge "
    "whether the page matters.\n"
    "Rules:\n"
    "- Aim for about one tenth of the page's length.\n"
    "- Keep, exactly as written, every named entity (people, products, libraries, services, "
    "files), every number with its unit, every identifier (function, class, variable, "
    "endpoint, key, version, error code) and every decision or conclusion.\n"
    "- Drop filler, repetition, examples that add no new fact, and formatting.\n"
    "- Do not add anything that is not in the page; no preamble, no commentary.\n"
    "Reply with the summary only.";

class LlmCompressor : public AsyncCompressor {
 public:
  LlmCompressor(std::shared_ptr<LlmClient> client, std::string model, size_t threads)
      : client_(std::move(client)), model_(std::move(model)) {
    for (size_t i = 0; i < std::max<size_t>(1, threads); ++i) {
      workers_.emplace_back([this] { Work(); });
    }
  }

  ~LlmCompressor() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cancel_ = true;  // Aborts requests in flight within a poll interval.
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    for (Job& job : queue_) job.done(Status::BackendUnavailable("compressor shut down"));
  }

  std::string Name() const override { return "openai:" + model_; }

  void Start(std::string text, Done done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(Job{std::move(text), std::move(done)});
    }
    cv_.notify_one();
  }

 private:
  struct Job {
    std::string text;
    Done done;
  };

  void Work() {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job.done(Summarise(job.text));
    }
  }

  Result<std::string> Summarise(const std::string& text) {
    auto summary = client_->Chat(model_, {{"system", kPrompt}, {"user", text}}, &cancel_);
    if (!summary.ok()) return summary.status();
    size_t first = summary->find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
      return Status::InvalidArgument("the model '" + model_ + "' returned an empty summary");
    }
    size_t last = summary->find_last_not_of(" \t\r\n");
    std::string trimmed = summary->substr(first, last - first + 1);
    if (trimmed.size() > text.size()) {
      return Status::InvalidArgument("the model '" + model_ +
                                     "' returned a summary longer than the page");
    }
    return trimmed;
  }

  std::shared_ptr<LlmClient> client_;
  std::string model_;
  std::atomic<bool> cancel_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace

const char* CompressionPrompt() { return kPrompt; }

std::shared_ptr<AsyncCompressor> NewLlmCompressor(std::shared_ptr<LlmClient> client,
                                                  std::string model, size_t threads) {
  return std::make_shared<LlmCompressor>(std::move(client), std::move(model), threads);
}

}  // namespace vmllm
