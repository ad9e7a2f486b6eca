// FNV-1a, 64-bit: the one short-string hash of vmllm (content hashes of pages, stream page ids,
// the hashing embedder's features, embedder identities). Stable across platforms and releases:
// content hashes are stored, so changing it is a store format change.
//
// Thread safety: pure functions.
#ifndef VMLLM_UTIL_HASH_H_
#define VMLLM_UTIL_HASH_H_

#include <cstdint>
#include <string_view>

namespace vmllm {

constexpr uint64_t kFnv1aOffsetBasis = 14695981039346656037ull;
constexpr uint64_t kFnv1aPrime = 1099511628211ull;

// The hash of `bytes`, or, given the hash of earlier bytes as `h`, of their concatenation.
constexpr uint64_t Fnv1a64(std::string_view bytes, uint64_t h = kFnv1aOffsetBasis) {
  for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * kFnv1aPrime;
  return h;
}

// A page's content hash as stores keep it (pages.hash) and every tier's copy is checked against.
constexpr uint64_t ContentHash(std::string_view text) { return Fnv1a64(text); }

}  // namespace vmllm

#endif  // VMLLM_UTIL_HASH_H_
