// Backend events: warnings from backends that degrade instead of failing (a Redis server gone,
// then back). Core threads never call into Python, so a backend posts its warning here and the
// Python glue takes the queue after each call and hands the messages to `logging`.
//
// The queue is process-wide and bounded (the oldest warnings are dropped beyond 256). Backends
// post on state changes only (up -> down, down -> up), not on every failed call.
//
// Thread safety: both functions may be called from any thread.
#ifndef VMLLM_BACKEND_EVENTS_H_
#define VMLLM_BACKEND_EVENTS_H_

#include <string>
#include <vector>

namespace vmllm {

void PostBackendWarning(std::string message);

// Returns and clears the queued warnings, oldest first.
std::vector<std::string> TakeBackendWarnings();

}  // namespace vmllm

#endif  // VMLLM_BACKEND_EVENTS_H_
