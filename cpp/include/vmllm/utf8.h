// UTF-8 helpers shared by every layer that cuts or checks text.
//
// Pages are cut by byte offsets; these helpers make sure an offset never lands inside a
// multi-byte character and that text entering the store is valid UTF-8.
#ifndef VMLLM_UTF8_H_
#define VMLLM_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vmllm {

// True if `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
// On false, `*bad_offset` (when non-null) receives the byte offset of the first bad sequence.
bool IsValidUtf8(std::string_view text, size_t* bad_offset = nullptr);

// The largest offset <= `pos` that starts a character (or equals text.size()).
// REQUIRES: pos <= text.size().
size_t Utf8FloorBoundary(std::string_view text, size_t pos);

// The smallest offset >= `pos` that starts a character, or text.size(): the boundary a cut
// moves forward to. A stray continuation byte counts as a character of its own, as above.
size_t Utf8CeilBoundary(std::string_view text, size_t pos);

// The length of the sequence a lead byte announces (1 to 4), or 0 if `lead` cannot start one
// (a continuation byte, C0, C1, F5..FF).
constexpr int Utf8SequenceLength(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return lead < 0xF5 ? 4 : 0;
}

// Decodes the character that starts at s[i] (REQUIRES: i < n): returns its length in bytes and
// sets `*cp`, or returns 0 (and leaves `*cp`) when no well-formed character starts there: a
// stray continuation byte, an overlong form, a surrogate, a value above U+10FFFF, or a
// sequence cut short at n. The one decoder of vmllm: IsValidUtf8 and both tokenizers use it;
// inline because the tokenizers call it for every non-ASCII character.
inline int DecodeUtf8(const uint8_t* s, size_t n, size_t i, uint32_t* cp) {
  const uint8_t lead = s[i];
  const int len = Utf8SequenceLength(lead);
  if (len <= 1) {
    if (len == 1) *cp = lead;
    return len;
  }
  if (n - i < static_cast<size_t>(len)) return 0;
  uint32_t c = lead & (0x7Fu >> len);
  for (int k = 1; k < len; ++k) {
    const uint8_t b = s[i + k];
    if ((b & 0xC0) != 0x80) return 0;
    c = (c << 6) | (b & 0x3Fu);
  }
  constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};  // Shortest form per length.
  if (c < kMin[len] || c > 0x10FFFF || (c >= 0xD800 && c < 0xE000)) return 0;
  *cp = c;
  return len;
}

// `text` safe to show on one line of a prompt: control characters (C0, DEL, C1) and the
// Unicode line and paragraph separators become escapes (`\n`, `\x1b`, `\u2028`), and so does
// a backslash, so an escaped id never reads as another id. Ids are stored verbatim; only where
// they are rendered as headers can a newline in one fake a header of its own.
// REQUIRES: `text` is valid UTF-8.
std::string EscapeForOneLine(std::string_view text);

}  // namespace vmllm

#endif  // VMLLM_UTF8_H_
