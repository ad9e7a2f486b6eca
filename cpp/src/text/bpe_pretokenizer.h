// Pre-tokenisation of tiktoken's cl100k_base and o200k_base, by hand.
//
// tiktoken splits text with a regular expression before byte-pair encoding each piece. The two
// patterns are reproduced here as small scanners: `NextPieceEnd` returns where the piece that
// starts at a given byte ends, exactly where tiktoken's (fancy-)regex match would end. Unicode
// classes come from a generated table (unicode_classes.inc, see tools/gen_unicode_classes.py).
// Invalid UTF-8 bytes are scanned as one-byte characters of no class (punctuation).
//
// Thread safety: pure functions.
#ifndef VMLLM_SRC_TEXT_BPE_PRETOKENIZER_H_
#define VMLLM_SRC_TEXT_BPE_PRETOKENIZER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vmllm {
namespace bpe {

enum class Pattern { kCl100k, kO200k };

// The character classes the patterns ask about (see tools/gen_unicode_classes.py).
enum CharClass : uint8_t {
  kOther = 0,        // Punctuation, symbols, emoji, unassigned, invalid bytes.
  kUpper = 1,        // \p{Lu} \p{Lt}
  kLower = 2,        // \p{Ll}
  kLetterOther = 3,  // \p{Lm} \p{Lo}
  kMark = 4,         // \p{M}
  kNumber = 5,       // \p{N}
  kSpace = 6,        // White_Space other than \r and \n.
  kNewline = 7,      // \r \n
};

// The class of code point `cp`.
CharClass ClassOf(uint32_t cp);

// The end (exclusive, in bytes) of the piece of `text` that starts at `pos`.
// REQUIRES: pos < text.size(). The result is > pos.
size_t NextPieceEnd(Pattern pattern, std::string_view text, size_t pos);

}  // namespace bpe
}  // namespace vmllm

#endif  // VMLLM_SRC_TEXT_BPE_PRETOKENIZER_H_
