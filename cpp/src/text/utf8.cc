#include "vmllm/utf8.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace vmllm {
namespace {

bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

}  // namespace

bool IsValidUtf8(std::string_view text, size_t* bad_offset) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  uint32_t cp;
  while (i < n) {
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    const int len = DecodeUtf8(s, n, i, &cp);
    if (len == 0) {
      if (bad_offset != nullptr) *bad_offset = i;
      return false;
    }
    i += len;
  }
  return true;
}

size_t Utf8FloorBoundary(std::string_view text, size_t pos) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  if (pos >= text.size()) return text.size();
  if (!IsContinuation(s[pos])) return pos;
  // Step back to the lead byte, but only if its sequence really covers `pos`; a stray
  // continuation byte counts as a character of its own.
  for (size_t k = 1; k <= 3 && k <= pos; ++k) {
    const uint8_t b = s[pos - k];
    if (IsContinuation(b)) continue;
    return Utf8SequenceLength(b) > static_cast<int>(k) ? pos - k : pos;
  }
  return pos;
}

size_t Utf8CeilBoundary(std::string_view text, size_t pos) {
  while (pos < text.size() && Utf8FloorBoundary(text, pos) != pos) ++pos;
  return std::min(pos, text.size());
}

std::string EscapeForOneLine(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  char buf[8];
  for (size_t i = 0; i < n; ++i) {
    const uint8_t b = s[i];
    if (b == '\\') {
      out += "\\\\";
    } else if (b == '\n') {
      out += "\\n";
    } else if (b == '\r') {
      out += "\\r";
    } else if (b == '\t') {
      out += "\\t";
    } else if (b < 0x20 || b == 0x7F) {
      std::snprintf(buf, sizeof buf, "\\x%02x", b);
      out += buf;
    } else if (b == 0xC2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F) {  // C1.
      std::snprintf(buf, sizeof buf, "\\u%04x", s[i + 1]);
      out += buf;
      ++i;
    } else if (b == 0xE2 && i + 2 < n && s[i + 1] == 0x80 &&
               (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {  // U+2028, U+2029.
      out += s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += static_cast<char>(b);
    }
  }
  return out;
}

}  // namespace vmllm
