// A Clock that moves only when a test says so.
#ifndef VMLLM_TESTING_FAKE_CLOCK_H_
#define VMLLM_TESTING_FAKE_CLOCK_H_

#include <atomic>

#include "vmllm/clock.h"

namespace vmllm {

class FakeClock : public Clock {
 public:
  explicit FakeClock(double start = 1000.0) : now_(start) {}
  double Now() const override { return now_.load(); }
  void Advance(double seconds) { now_ = now_.load() + seconds; }

 private:
  std::atomic<double> now_;
};

}  // namespace vmllm

#endif  // VMLLM_TESTING_FAKE_CLOCK_H_
