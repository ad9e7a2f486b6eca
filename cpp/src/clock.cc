#include "vmllm/clock.h"

#include <chrono>

namespace vmllm {
namespace {

class WallClock : public Clock {
 public:
  double Now() const override {
    using namespace std::chrono;
    return duration_cast<duration<double>>(system_clock::now().time_since_epoch()).count();
  }
};

}  // namespace

Clock* SystemClock() {
  static WallClock* clock = new WallClock();  // Never destroyed: safe during static teardown.
  return clock;
}

}  // namespace vmllm
