#include "util/checksum.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "testing/temp_dir.h"

namespace vmllm {
namespace {

uint64_t Sum(const std::string& s) {
  Checksum64 c;
  c.Update(s.data(), s.size());
  return c.Finish();
}

TEST(Checksum64, IsTheSameWhateverTheSplitOfTheInput) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += static_cast<char>(i * 37);
  const uint64_t whole = Sum(text);
  for (size_t cut : {0, 1, 3, 7, 8, 9, 500, 999, 1000}) {
    Checksum64 c;
    c.Update(text.data(), cut);
    c.Update(text.data() + cut, text.size() - cut);
    EXPECT_EQ(c.Finish(), whole) << cut;
  }
}

TEST(Checksum64, ChangesWithAnyFlippedBitAndWithLength) {
  std::string text(100, 'x');
  const uint64_t base = Sum(text);
  for (size_t byte = 0; byte < text.size(); byte += 13) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = text;
      flipped[byte] = static_cast<char>(flipped[byte] ^ (1 << bit));
      EXPECT_NE(Sum(flipped), base);
    }
  }
  EXPECT_NE(Sum(text + std::string(1, '\0')), base);  // Trailing zero bytes count.
  EXPECT_NE(Sum(""), Sum(std::string(1, '\0')));
}

TEST(Checksum64, OfAFileEqualsOfItsBytesAndAMissingFileIsAStorageError) {
  TempDir dir;
  const std::string path = dir.Sub("f");
  std::string text(3 << 20, 'a');  // Spans several read buffers.
  text[12345] = 'b';
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  EXPECT_EQ(*ChecksumFile(path), Sum(text));
  EXPECT_EQ(ChecksumFile(dir.Sub("missing")).status().code(), StatusCode::kStorageError);
}

}  // namespace
}  // namespace vmllm
