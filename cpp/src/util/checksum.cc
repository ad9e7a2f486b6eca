#include "util/checksum.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace vmllm {
namespace {

constexpr uint64_t kMul1 = 0xBF58476D1CE4E5B9ull;
constexpr uint64_t kMul2 = 0x94D049BB133111EBull;

uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

uint64_t LoadLittleEndian(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

void Checksum64::Mix(uint64_t word) {
  state_ = Rotl(state_ ^ (word * kMul1), 31) * kMul2;
}

void Checksum64::Update(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  length_ += size;
  while (size > 0 && tail_size_ > 0) {  // Complete a word left over from the last call.
    tail_[tail_size_++] = *p++;
    --size;
    if (tail_size_ == 8) {
      Mix(LoadLittleEndian(tail_));
      tail_size_ = 0;
    }
  }
  for (; size >= 8; p += 8, size -= 8) Mix(LoadLittleEndian(p));
  for (; size > 0; --size) tail_[tail_size_++] = *p++;
}

uint64_t Checksum64::Finish() const {
  uint64_t h = state_;
  uint64_t last = 0;
  for (size_t i = tail_size_; i-- > 0;) last = (last << 8) | tail_[i];
  h = Rotl(h ^ (last * kMul1), 31) * kMul2;
  h ^= length_;
  // Final avalanche (splitmix64's), so every input bit reaches every output bit.
  h = (h ^ (h >> 30)) * kMul1;
  h = (h ^ (h >> 27)) * kMul2;
  return h ^ (h >> 31);
}

Result<uint64_t> ChecksumFile(const std::string& path) {
  // Only a regular file, not followed through a link: a FIFO would block the read and a
  // device like /dev/zero would never end it.
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::StorageError("'" + path + "' is not a regular file");
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::StorageError("cannot read '" + path + "': " + std::strerror(errno));
  Checksum64 sum;
  std::vector<char> buffer(1 << 20);
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), f)) > 0) sum.Update(buffer.data(), n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return Status::StorageError("cannot read '" + path + "'");
  return sum.Finish();
}

}  // namespace vmllm
