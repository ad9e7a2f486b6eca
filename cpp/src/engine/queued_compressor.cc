// QueuedCompressor: jobs wait here until the Python glue takes and completes them.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "vmllm/async_compressor.h"

namespace vmllm {

struct QueuedCompressor::State {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t next_id = 1;
  std::deque<uint64_t> queued;
  std::map<uint64_t, std::pair<std::string, Done>> jobs;  // Queued and taken.
  bool closed = false;
};

QueuedCompressor::QueuedCompressor(std::string name)
    : name_(std::move(name)), state_(std::make_shared<State>()) {}

QueuedCompressor::~QueuedCompressor() { Close(); }

void QueuedCompressor::Start(std::string text, Done done) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!state_->closed) {
      uint64_t id = state_->next_id++;
      state_->jobs.emplace(id, std::make_pair(std::move(text), std::move(done)));
      state_->queued.push_back(id);
      state_->cv.notify_one();
      return;
    }
  }
  // Closed: `done` must not run inside Start, so fail it from another thread.
  std::thread([done = std::move(done)] {
    done(Status::BackendUnavailable("the compressor is closed"));
  }).detach();
}

std::vector<QueuedCompressor::Job> QueuedCompressor::Take(size_t limit, double timeout_seconds) {
  std::vector<Job> out;
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait_for(lock, std::chrono::duration<double>(std::max(0.0, timeout_seconds)),
                      [&] { return state_->closed || !state_->queued.empty(); });
  if (state_->closed) return out;
  while (!state_->queued.empty() && out.size() < limit) {
    uint64_t id = state_->queued.front();
    state_->queued.pop_front();
    out.push_back(Job{id, state_->jobs.at(id).first});
  }
  return out;
}

void QueuedCompressor::Complete(uint64_t id, Result<std::string> summary) {
  Done done;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    auto it = state_->jobs.find(id);
    if (it == state_->jobs.end()) return;
    done = std::move(it->second.second);
    state_->jobs.erase(it);
  }
  done(std::move(summary));
}

void QueuedCompressor::Close() {
  std::map<uint64_t, std::pair<std::string, Done>> jobs;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->closed = true;
    state_->queued.clear();
    jobs.swap(state_->jobs);
  }
  state_->cv.notify_all();
  for (auto& [id, job] : jobs) job.second(Status::BackendUnavailable("the compressor is closed"));
}

size_t QueuedCompressor::pending() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->jobs.size();
}

}  // namespace vmllm
