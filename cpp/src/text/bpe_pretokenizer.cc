// The two pre-tokenisation patterns as hand-written scanners.
//
// cl100k_base:
//   '(?i:[sdmt]|ll|ve|re) | [^\r\n\p{L}\p{N}]?+\p{L}++ | \p{N}{1,3}+
//   | ?[^\s\p{L}\p{N}]++[\r\n]*+ | \s++$ | \s*[\r\n] | \s+(?!\S) | \s
// o200k_base (U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], W = [\p{Ll}\p{Lm}\p{Lo}\p{M}],
// C = (?i:'s|'t|'re|'ve|'m|'ll|'d)):
//   [^\r\n\p{L}\p{N}]?U*W+C? | [^\r\n\p{L}\p{N}]?U+W*C? | \p{N}{1,3}
//   | ?[^\s\p{L}\p{N}]+[\r\n/]* | \s*[\r\n]+ | \s+(?!\S) | \s+
// Alternatives are tried in order at each position (leftmost-first), with backtracking where
// the pattern allows it; each scanner below notes how backtracking resolves. Case-insensitive
// letters follow Unicode simple case folding, so "s" also matches U+017F (long s).
#include "text/bpe_pretokenizer.h"

#include <cstring>

#include "vmllm/utf8.h"

namespace vmllm {
namespace bpe {
namespace {

#include "text/unicode_classes.inc"

struct AsciiClasses {
  CharClass cls[128];
};

constexpr AsciiClasses MakeAsciiClasses() {
  AsciiClasses t{};
  for (int c = 0; c < 128; ++c) {
    CharClass k = kOther;
    if (c >= 'A' && c <= 'Z') k = kUpper;
    else if (c >= 'a' && c <= 'z') k = kLower;
    else if (c >= '0' && c <= '9') k = kNumber;
    else if (c == '\r' || c == '\n') k = kNewline;
    else if (c == ' ' || (c >= '\t' && c <= '\f')) k = kSpace;
    t.cls[c] = k;
  }
  return t;
}
constexpr AsciiClasses kAscii = MakeAsciiClasses();

struct Char {
  uint32_t cp;
  uint8_t len;
  CharClass cls;
};

// Decodes the character at `i`; an invalid sequence is one byte of class kOther.
inline Char At(std::string_view t, size_t i) {
  const auto* s = reinterpret_cast<const uint8_t*>(t.data());
  const size_t n = t.size();
  const uint8_t b0 = s[i];
  if (b0 < 0x80) return {b0, 1, kAscii.cls[b0]};
  uint32_t cp;
  const int len = DecodeUtf8(s, n, i, &cp);
  if (len == 0) return {0xFFFD, 1, kOther};
  return {cp, static_cast<uint8_t>(len), ClassOf(cp)};
}

inline bool IsLetter(CharClass c) { return c == kUpper || c == kLower || c == kLetterOther; }
inline bool IsWhite(CharClass c) { return c == kSpace || c == kNewline; }
// [^\s\p{L}\p{N}]
inline bool IsPunct(CharClass c) { return c == kOther || c == kMark; }
// [^\r\n\p{L}\p{N}]: may stand before a letter run.
inline bool IsPrefix(CharClass c) { return c == kOther || c == kMark || c == kSpace; }
// o200k's U and W sets.
inline bool InUpperSet(CharClass c) {
  return c == kUpper || c == kLetterOther || c == kMark;
}
inline bool InLowerSet(CharClass c) {
  return c == kLower || c == kLetterOther || c == kMark;
}

inline uint32_t FoldAscii(uint32_t cp) { return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp; }

// Length of a contraction suffix ("'s", "'ll", ...) at `i`, 0 if none. `single` lists the
// letters that form one on their own.
size_t ContractionAt(std::string_view t, size_t i, const char* single) {
  const size_t n = t.size();
  if (i + 1 >= n || t[i] != '\'') return 0;
  const Char c1 = At(t, i + 1);
  const uint32_t l1 = c1.cp == 0x17F ? 's' : FoldAscii(c1.cp);
  if (l1 < 128 && std::strchr(single, static_cast<char>(l1)) != nullptr && l1 != 0) {
    return 1 + c1.len;
  }
  const size_t j = i + 1 + c1.len;
  if (j >= n) return 0;
  const uint32_t l2 = FoldAscii(At(t, j).cp);
  if ((l1 == 'l' && l2 == 'l') || (l1 == 'v' && l2 == 'e') || (l1 == 'r' && l2 == 'e')) {
    return 3;
  }
  return 0;
}

// End of the run of characters from `i` whose class satisfies `pred`.
template <typename Pred>
inline size_t RunEnd(std::string_view t, size_t i, Pred pred) {
  while (i < t.size()) {
    const Char c = At(t, i);
    if (!pred(c.cls)) break;
    i += c.len;
  }
  return i;
}

// Up to three \p{N} characters.
size_t DigitsEnd(std::string_view t, size_t i) {
  for (int k = 0; k < 3 && i < t.size(); ++k) {
    const Char c = At(t, i);
    if (c.cls != kNumber) break;
    i += c.len;
  }
  return i;
}

// The whitespace alternatives, from a whitespace character at `i`. `newline_then_end` selects
// cl100k's "\s++$" (a run reaching the end of the text is one piece even after a newline);
// o200k tries "\s*[\r\n]+" first, which cuts after the last newline instead.
size_t WhitespaceEnd(std::string_view t, size_t i, bool cl100k) {
  size_t j = i;
  size_t after_newline = 0;  // End of the last \r or \n in the run.
  size_t last_start = i;     // Start of the run's last character.
  size_t chars = 0;
  while (j < t.size()) {
    const Char c = At(t, j);
    if (!IsWhite(c.cls)) break;
    last_start = j;
    j += c.len;
    ++chars;
    if (c.cls == kNewline) after_newline = j;
  }
  if (cl100k && j == t.size()) return j;  // \s++$
  if (after_newline != 0) return after_newline;  // \s*[\r\n] (greedy, backtracked)
  if (j == t.size()) return j;                   // \s+(?!\S) at the end
  if (chars >= 2) return last_start;             // \s+(?!\S): leave one space for the next word
  return j;                                      // \s / \s+
}

size_t Cl100kNext(std::string_view t, size_t i) {
  const Char c0 = At(t, i);
  if (c0.cp == '\'') {
    const size_t k = ContractionAt(t, i, "sdmt");
    if (k != 0) return i + k;
  }
  // [^\r\n\p{L}\p{N}]?+\p{L}++: the possessive prefix never gives its character back.
  if (IsLetter(c0.cls)) return RunEnd(t, i, IsLetter);
  if (IsPrefix(c0.cls) && i + c0.len < t.size() && IsLetter(At(t, i + c0.len).cls)) {
    return RunEnd(t, i + c0.len, IsLetter);
  }
  if (c0.cls == kNumber) return DigitsEnd(t, i);
  // ?[^\s\p{L}\p{N}]++[\r\n]*+
  const size_t p = c0.cp == ' ' ? i + 1 : i;
  if (p < t.size() && IsPunct(At(t, p).cls)) {
    size_t j = RunEnd(t, p, IsPunct);
    while (j < t.size() && (t[j] == '\r' || t[j] == '\n')) ++j;
    return j;
  }
  if (IsWhite(c0.cls)) return WhitespaceEnd(t, i, /*cl100k=*/true);
  return i + c0.len;  // Unreachable for any class; kept as a safe step.
}

// o200k's first alternative from `s`: U*W+ with backtracking. U* takes the longest run; if W+
// cannot start after it, U* gives characters back until one that is also in W (a \p{Lm},
// \p{Lo} or \p{M}) ends the match. Returns 0 when it fails.
size_t UpperStarLowerPlus(std::string_view t, size_t s) {
  size_t j = s;
  size_t last_both_end = 0;
  while (j < t.size()) {
    const Char c = At(t, j);
    if (!InUpperSet(c.cls)) break;
    j += c.len;
    if (InLowerSet(c.cls)) last_both_end = j;
  }
  if (j < t.size() && At(t, j).cls == kLower) return RunEnd(t, j, InLowerSet);
  return last_both_end;
}

// o200k's second alternative from `s`: U+W*. Returns 0 when it fails.
size_t UpperPlusLowerStar(std::string_view t, size_t s) {
  const size_t j = RunEnd(t, s, InUpperSet);
  if (j == s) return 0;
  return RunEnd(t, j, InLowerSet);
}

size_t O200kNext(std::string_view t, size_t i) {
  const Char c0 = At(t, i);
  const bool prefix = IsPrefix(c0.cls) && i + c0.len < t.size();
  for (auto* alt : {&UpperStarLowerPlus, &UpperPlusLowerStar}) {
    size_t e = prefix ? alt(t, i + c0.len) : 0;
    if (e == 0) e = alt(t, i);
    if (e != 0) return e + ContractionAt(t, e, "stmd");
  }
  if (c0.cls == kNumber) return DigitsEnd(t, i);
  // ?[^\s\p{L}\p{N}]+[\r\n/]*
  const size_t p = c0.cp == ' ' ? i + 1 : i;
  if (p < t.size() && IsPunct(At(t, p).cls)) {
    size_t j = RunEnd(t, p, IsPunct);
    while (j < t.size() && (t[j] == '\r' || t[j] == '\n' || t[j] == '/')) ++j;
    return j;
  }
  if (IsWhite(c0.cls)) return WhitespaceEnd(t, i, /*cl100k=*/false);
  return i + c0.len;
}

}  // namespace

CharClass ClassOf(uint32_t cp) {
  if (cp < 128) return kAscii.cls[cp];
  // The last range starting at or before cp.
  size_t lo = 0;
  size_t hi = sizeof(kUnicodeRanges) / sizeof(kUnicodeRanges[0]);
  const uint32_t key = (cp << 3) | 7;
  while (hi - lo > 1) {
    const size_t mid = (lo + hi) / 2;
    if (kUnicodeRanges[mid] <= key) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return static_cast<CharClass>(kUnicodeRanges[lo] & 7);
}

size_t NextPieceEnd(Pattern pattern, std::string_view text, size_t pos) {
  return pattern == Pattern::kCl100k ? Cl100kNext(text, pos) : O200kNext(text, pos);
}

}  // namespace bpe
}  // namespace vmllm
