#include "engine/fault_monitor.h"

#include <cmath>

namespace vmllm {

void FaultMonitor::Forget(long turn) {
  while (!recent_.empty() && recent_.front() <= turn - opt_.window_turns) recent_.pop_front();
}

bool FaultMonitor::OnFault(long turn) {
  if (opt_.threshold <= 0) return false;
  Forget(turn);
  recent_.push_back(turn);
  if (static_cast<int>(recent_.size()) < opt_.threshold) return false;
  if (std::pow(opt_.growth, level_ + 1) <= opt_.max_scale) ++level_;
  changed_at_ = turn;
  return true;
}

void FaultMonitor::OnTurn(long turn) {
  Forget(turn);
  if (level_ > 0 && recent_.empty() && turn - changed_at_ >= opt_.window_turns) {
    --level_;
    changed_at_ = turn;
  }
}

double FaultMonitor::scale() const { return std::pow(opt_.growth, level_); }

std::vector<long> FaultMonitor::Save() const {
  std::vector<long> state{level_, changed_at_};
  state.insert(state.end(), recent_.begin(), recent_.end());
  return state;
}

void FaultMonitor::Restore(const std::vector<long>& state) {
  level_ = state.size() > 0 ? static_cast<int>(state[0]) : 0;
  if (level_ < 0 || std::pow(opt_.growth, level_) > opt_.max_scale) level_ = 0;
  changed_at_ = state.size() > 1 ? state[1] : 0;
  recent_.assign(state.size() > 2 ? state.begin() + 2 : state.end(), state.end());
}

}  // namespace vmllm
