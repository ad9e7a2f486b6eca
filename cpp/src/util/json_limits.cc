#include "vmllm/json_limits.h"

#include <string>

namespace vmllm {

size_t JsonDepth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
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
