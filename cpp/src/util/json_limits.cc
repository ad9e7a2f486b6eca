#include "vmllm/json_limits.h"

#include <string>

#include "util/json_spans.h"

namespace vmllm {

size_t JsonDepth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    switch (text[pos]) {
      case '"':
        pos = json_spans::StringEnd(text, pos);
        if (pos == std::string_view::npos) return deepest;  // Unterminated: the parser says so.
        --pos;
        break;
      case '[':
      case '{':
        if (++depth > deepest) deepest = depth;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

Status CheckJsonLimits(std::string_view text, std::string_view what, size_t max_bytes,
                       int max_depth) {
  // Size first: it costs nothing and bounds the scan below.
  if (text.size() > max_bytes) {
    return Status::InvalidArgument(std::string(what) + " is " + std::to_string(text.size()) +
                                   " bytes; the limit is " + std::to_string(max_bytes) +
                                   " bytes (vmllm JSON limits)");
  }
  const size_t depth = JsonDepth(text);
  if (max_depth >= 0 && depth > static_cast<size_t>(max_depth)) {
    return Status::InvalidArgument(std::string(what) + " is nested " + std::to_string(depth) +
                                   " deep; the limit is " + std::to_string(max_depth) +
                                   " (vmllm JSON limits)");
  }
  return Status();
}

}  // namespace vmllm
