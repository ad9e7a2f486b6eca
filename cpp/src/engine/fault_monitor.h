// FaultMonitor: notices a session thrashing (faulting on what it just evicted) and says how much
// to grow its working set.
//
// Faults are counted in a sliding window of the last `window_turns` turns. When a fault brings
// the count to `threshold`, the session is thrashing: OnFault returns true (the caller stops
// evicting what faulted, by pinning its key) and the working set grows by `growth` (the caller
// multiplies its budget or its age threshold τ by scale()), up to `max_scale`. After a whole
// window without a fault it shrinks back one step, so one bad stretch does not cost the rest of
// the session its savings.
//
// States: calm (scale 1) -> grown (scale growth^level) -> calm again, one step per quiet window.
//
// Thread safety: none; the owning policy serialises calls.
#ifndef VMLLM_ENGINE_FAULT_MONITOR_H_
#define VMLLM_ENGINE_FAULT_MONITOR_H_

#include <deque>
#include <vector>

namespace vmllm {

struct FaultMonitorOptions {
  long window_turns = 10;
  int threshold = 1;  // Faults within the window that mean thrashing; 0 turns the monitor off.
  double growth = 2.0;
  double max_scale = 8.0;
};

class FaultMonitor {
 public:
  explicit FaultMonitor(FaultMonitorOptions options = {}) : opt_(options) {}

  // A fault at `turn`. True when the session is thrashing: pin what faulted.
  bool OnFault(long turn);
  // Called with every turn, in order: shrinks back one step after a quiet window.
  void OnTurn(long turn);

  // ≥ 1: how much larger the working set should be than configured.
  double scale() const;
  int level() const { return level_; }
  const FaultMonitorOptions& options() const { return opt_; }

  // State, for a session that is saved and resumed: the level, the turn of the last change and
  // the faults still in the window.
  std::vector<long> Save() const;
  void Restore(const std::vector<long>& state);

 private:
  void Forget(long turn);

  FaultMonitorOptions opt_;
  std::deque<long> recent_;  // Turns of the faults in the window, oldest first.
  int level_ = 0;
  long changed_at_ = 0;
};

}  // namespace vmllm

#endif  // VMLLM_ENGINE_FAULT_MONITOR_H_
