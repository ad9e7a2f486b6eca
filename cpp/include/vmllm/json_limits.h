// JSON limits: the one depth and size check that every JSON text entering the core passes
// before anything parses it.
//
// nlohmann/json parses, dumps and destroys values recursively, so a document nested 100,000
// deep overflows the C++ stack; Python's json module gives up at about 1,000 levels
// (RecursionError). CheckJsonLimits scans the text once, without recursion, and refuses what
// is too deep or too large with InvalidArgument. The limits are far above what real traffic
// sends and far below what either recursion survives; every entry point names its own here.
// Public because they are part of the contract: the bindings export them to Python (the proxy
// checks a body before json.loads) and README.md documents them. Implemented in
// cpp/src/util/json_limits.cc, which depends on nothing but vmllm/status.h.
//
// Thread safety: constants and a pure function.
#ifndef VMLLM_JSON_LIMITS_H_
#define VMLLM_JSON_LIMITS_H_

#include <cstddef>
#include <string_view>

#include "vmllm/status.h"

namespace vmllm {

inline constexpr size_t kMiB = size_t{1} << 20;

// Nesting of arrays and objects: `[]` is 1 deep, `{"a":[1]}` 2. Python's json recurses about
// 1,000 levels and nlohmann's recursion is bounded by the thread's stack (a worker thread's can
// be small), so 128 keeps both safe; JSON schemas and tool arguments nest a handful.
inline constexpr int kMaxJsonDepth = 128;

// Bytes of one text, per entry point.
inline constexpr size_t kMaxTaskStateBytes = 16 * kMiB;    // Hand-off task_state.
inline constexpr size_t kMaxHandOffBytes = 64 * kMiB;      // A whole hand-off snapshot.
inline constexpr size_t kMaxMessageBytes = 16 * kMiB;      // One chat message or tool call.
inline constexpr size_t kMaxRequestBodyBytes = 64 * kMiB;  // Proxy/stream request (agents send MBs).
inline constexpr size_t kMaxLlmReplyBytes = 64 * kMiB;     // One reply from an LLM server.

// A hand-off snapshot holds the task state one level down, so it may be one level deeper.
inline constexpr int kMaxHandOffDepth = kMaxJsonDepth + 1;

// OK when `text` has at most `max_bytes` bytes and nests arrays and objects at most `max_depth`
// deep (brackets inside strings, escaped quotes included, do not count). Otherwise
// InvalidArgument naming `what`, e.g. "message is nested 100000 deep; the limit is 128".
// Does not validate the JSON: the parser after it does. O(n), constant stack.
Status CheckJsonLimits(std::string_view text, std::string_view what, size_t max_bytes,
                       int max_depth = kMaxJsonDepth);

// The deepest nesting of arrays and objects in `text`, outside strings; 0 for a scalar.
// Unbalanced closers are ignored (the parser rejects such text anyway).
size_t JsonDepth(std::string_view text);

}  // namespace vmllm

#endif  // VMLLM_JSON_LIMITS_H_
