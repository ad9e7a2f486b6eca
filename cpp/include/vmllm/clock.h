// Clock: where policies and TTLs read the time, so tests can drive time by hand.
//
// Thread safety: Now() may be called from any thread.
#ifndef VMLLM_CLOCK_H_
#define VMLLM_CLOCK_H_

#include <memory>

namespace vmllm {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch (wall clock; used for last-access times and TTLs).
  virtual double Now() const = 0;
};

// The real wall clock. The returned object is a process-wide singleton: never delete it.
Clock* SystemClock();

}  // namespace vmllm

#endif  // VMLLM_CLOCK_H_
