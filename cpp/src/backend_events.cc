#include "vmllm/backend_events.h"

#include <deque>
#include <mutex>

namespace vmllm {
namespace {

constexpr size_t kMaxQueued = 256;

std::mutex& QueueMutex() {
  static auto* mu = new std::mutex();  // Never destroyed: safe to post during exit.
  return *mu;
}

std::deque<std::string>& Queue() {
  static auto* queue = new std::deque<std::string>();  // Never destroyed, like the mutex.
  return *queue;
}

}  // namespace

void PostBackendWarning(std::string message) {
  std::lock_guard<std::mutex> lock(QueueMutex());
  auto& queue = Queue();
  if (queue.size() >= kMaxQueued) queue.pop_front();
  queue.push_back(std::move(message));
}

std::vector<std::string> TakeBackendWarnings() {
  std::lock_guard<std::mutex> lock(QueueMutex());
  auto& queue = Queue();
  std::vector<std::string> out(std::make_move_iterator(queue.begin()),
                               std::make_move_iterator(queue.end()));
  queue.clear();
  return out;
}

}  // namespace vmllm
