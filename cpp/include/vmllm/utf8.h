// UTF-8 helpers shared by every layer that cuts or checks text.
//
// Pages are cut by byte offsets; these helpers make sure an offset never lands inside a
// multi-byte character and that text entering the store is valid UTF-8.
#ifndef VMLLM_UTF8_H_
#define VMLLM_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace vmllm {

// True if `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
// On false, `*bad_offset` (when non-null) receives the byte offset of the first bad sequence.
bool IsValidUtf8(std::string_view text, size_t* bad_offset = nullptr);

// The largest offset <= `pos` that starts a character (or equals text.size()).
// REQUIRES: pos <= text.size().
size_t Utf8FloorBoundary(std::string_view text, size_t pos);

// `text` safe to show on one line of a prompt: control characters (C0, DEL, C1) and the
// Unicode line and paragraph separators become escapes (`\n`, `\x1b`, `\u2028`), and so does
// a backslash, so an escaped id never reads as another id. Ids are stored verbatim; only where
// they are rendered as headers can a newline in one fake a header of its own.
// REQUIRES: `text` is valid UTF-8.
std::string EscapeForOneLine(std::string_view text);

}  // namespace vmllm

#endif  // VMLLM_UTF8_H_
