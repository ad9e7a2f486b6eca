// The fault monitor: thrashing detection, working-set growth and recovery.
#include "engine/fault_monitor.h"

#include <gtest/gtest.h>

namespace vmllm {
namespace {

TEST(FaultMonitor, ReportsThrashingOnlyAtTheThresholdWithinTheWindow) {
  FaultMonitor m(FaultMonitorOptions{5, 2, 2.0, 8.0});
  EXPECT_FALSE(m.OnFault(1));
  EXPECT_DOUBLE_EQ(m.scale(), 1.0);
  EXPECT_FALSE(m.OnFault(7));  // The fault at 1 left the window.
  EXPECT_TRUE(m.OnFault(9));
  EXPECT_DOUBLE_EQ(m.scale(), 2.0);
}

TEST(FaultMonitor, GrowsUpToTheCapAndShrinksOneStepPerQuietWindow) {
  FaultMonitor m(FaultMonitorOptions{4, 1, 2.0, 4.0});
  for (long t = 1; t <= 5; ++t) EXPECT_TRUE(m.OnFault(t));
  EXPECT_DOUBLE_EQ(m.scale(), 4.0);  // Capped.
  m.OnTurn(8);
  EXPECT_DOUBLE_EQ(m.scale(), 4.0);  // Fault at 5 still in the window.
  m.OnTurn(9);
  EXPECT_DOUBLE_EQ(m.scale(), 2.0);
  m.OnTurn(10);
  EXPECT_DOUBLE_EQ(m.scale(), 2.0);  // One step per window.
  m.OnTurn(13);
  EXPECT_DOUBLE_EQ(m.scale(), 1.0);
}

TEST(FaultMonitor, ZeroThresholdTurnsItOff) {
  FaultMonitor m(FaultMonitorOptions{4, 0, 2.0, 8.0});
  EXPECT_FALSE(m.OnFault(1));
  EXPECT_DOUBLE_EQ(m.scale(), 1.0);
}

TEST(FaultMonitor, SavedStateRestoresTheSameDecisions) {
  FaultMonitor a(FaultMonitorOptions{4, 2, 2.0, 8.0});
  a.OnFault(3);
  a.OnFault(4);
  FaultMonitor b(a.options());
  b.Restore(a.Save());
  EXPECT_EQ(b.level(), 1);
  EXPECT_EQ(a.OnFault(5), b.OnFault(5));
  EXPECT_DOUBLE_EQ(a.scale(), b.scale());
  FaultMonitor c(a.options());
  c.Restore({99, 0});  // Out of range: calm, not a crash.
  EXPECT_DOUBLE_EQ(c.scale(), 1.0);
}

}  // namespace
}  // namespace vmllm
