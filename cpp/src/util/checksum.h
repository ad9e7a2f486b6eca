// A fast 64-bit checksum for files that derived caches write and read back (vector snapshots):
// it detects torn writes and damaged bytes before a loader trusts them. Not a cryptographic
// hash: a deliberately crafted file is caught by the loader's structural checks instead.
//
// Thread safety: free functions without shared state.
#ifndef VMLLM_UTIL_CHECKSUM_H_
#define VMLLM_UTIL_CHECKSUM_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "vmllm/status.h"

namespace vmllm {

// Streaming form: feed bytes in any split, then Finish. Equal input gives equal sums whatever
// the split.
class Checksum64 {
 public:
  void Update(const void* data, size_t size);
  uint64_t Finish() const;

 private:
  uint64_t state_ = 0x9E3779B97F4A7C15ull;
  uint64_t length_ = 0;
  unsigned char tail_[8] = {};
  size_t tail_size_ = 0;
  void Mix(uint64_t word);
};

// The checksum of the whole file at `path`; StorageError when it cannot be read or is not a
// regular file (a symlink, FIFO or device is refused, never read).
Result<uint64_t> ChecksumFile(const std::string& path);

}  // namespace vmllm

#endif  // VMLLM_UTIL_CHECKSUM_H_
