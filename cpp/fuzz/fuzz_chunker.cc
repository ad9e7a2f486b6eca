// Fuzzes the Chunker's invariants (chunker.h): pages concatenate to the input byte for byte,
// hold at most page_tokens tokens unless a page is one lone character, never cut inside a UTF-8
// character, and empty input makes no pages. The first input byte picks page_tokens (1..64).
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>

#include "vmllm/chunker.h"
#include "vmllm/tokenizer.h"
#include "vmllm/utf8.h"

namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "chunker invariant broken: %s\n", what);
  std::abort();
}

// True if `s` is exactly one UTF-8 character (or one invalid byte).
bool IsOneCharacter(std::string_view s) {
  return !s.empty() && vmllm::Utf8FloorBoundary(s, s.size() - 1) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const auto* tokenizer = vmllm::NewApproxTokenizer().release();
  const size_t page_tokens = 1 + data[0] % 64;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool valid = vmllm::IsValidUtf8(text);

  vmllm::Chunker chunker(tokenizer, vmllm::ChunkerOptions{page_tokens});
  size_t expected_offset = 0;
  std::string joined;
  chunker.Split(text, [&](const vmllm::Chunk& c) {
    if (c.offset != expected_offset) Die("pages are not contiguous");
    if (c.length == 0) Die("empty page");
    if (c.offset + c.length > text.size()) Die("page runs past the input");
    std::string_view page = text.substr(c.offset, c.length);
    joined.append(page);
    expected_offset += c.length;
    if (valid) {
      if (vmllm::Utf8FloorBoundary(text, c.offset) != c.offset) Die("cut inside a character");
      if (tokenizer->Count(page) > page_tokens && !IsOneCharacter(page)) Die("page too large");
    }
    return true;
  });
  if (joined != text) Die("pages do not concatenate to the input");
  if (text.empty() && expected_offset != 0) Die("empty input made pages");
  return 0;
}
