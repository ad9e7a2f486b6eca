// The BPE tokenizer's parts on their own: pre-tokenisation against the reference patterns'
// splits (computed once with the `regex` module and tiktoken's pattern strings), merges against
// a naive copy of tiktoken's algorithm on a synthetic rank file, and rank-file errors. The
// comparison with tiktoken on real text is in tests/test_bpe_tokenizer.py.
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/temp_dir.h"
#include "text/bpe_pretokenizer.h"
#include "vmllm/tokenizer.h"

namespace vmllm {
namespace {

std::vector<std::string> Pieces(bpe::Pattern pattern, std::string_view text) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = bpe::NextPieceEnd(pattern, text, pos);
    out.emplace_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

using V = std::vector<std::string>;

TEST(BpePretokenizer, Cl100kSplitsLikeItsPattern) {
  const auto cl = bpe::Pattern::kCl100k;
  EXPECT_EQ(Pieces(cl, "Hello world's  123456 !!\n\n  x"),
            (V{"Hello", " world", "'s", " ", " ", "123", "456", " !!\n\n", " ", " x"}));
  EXPECT_EQ(Pieces(cl, "HTTPServer getURL they'RE"),
            (V{"HTTPServer", " getURL", " they", "'RE"}));
  EXPECT_EQ(Pieces(cl, "a  \n  "), (V{"a", "  \n  "}));  // \s++$ keeps the tail whole.
  EXPECT_EQ(Pieces(cl, "x//y\n/z 12a"), (V{"x", "//", "y", "\n", "/z", " ", "12", "a"}));
}

TEST(BpePretokenizer, O200kSplitsLikeItsPattern) {
  const auto o2 = bpe::Pattern::kO200k;
  EXPECT_EQ(Pieces(o2, "Hello world's  123456 !!\n\n  x"),
            (V{"Hello", " world's", " ", " ", "123", "456", " !!\n\n", " ", " x"}));
  EXPECT_EQ(Pieces(o2, "HTTPServer getURL they'RE"),
            (V{"HTTPServer", " get", "URL", " they'RE"}));
  EXPECT_EQ(Pieces(o2, "a  \n  "), (V{"a", "  \n", "  "}));
}

TEST(BpePretokenizer, ClassifiesUnicodeLettersNumbersMarksAndSpaces) {
  EXPECT_EQ(bpe::ClassOf(U'É'), bpe::kUpper);
  EXPECT_EQ(bpe::ClassOf(U'ß'), bpe::kLower);
  EXPECT_EQ(bpe::ClassOf(U'ǅ'), bpe::kUpper);  // Titlecase counts with upper case.
  EXPECT_EQ(bpe::ClassOf(U'日'), bpe::kLetterOther);
  EXPECT_EQ(bpe::ClassOf(0x301), bpe::kMark);
  EXPECT_EQ(bpe::ClassOf(U'٣'), bpe::kNumber);
  EXPECT_EQ(bpe::ClassOf(U'½'), bpe::kNumber);
  EXPECT_EQ(bpe::ClassOf(0x3000), bpe::kSpace);
  EXPECT_EQ(bpe::ClassOf(0x85), bpe::kSpace);
  EXPECT_EQ(bpe::ClassOf(U'😀'), bpe::kOther);
  EXPECT_EQ(bpe::ClassOf(0x10FFFF), bpe::kOther);
}

const std::vector<std::string> kMerges = {"bc", "ab", "cd", "abc", "aa", "dd", "aaaa", "bcbc",
                                          "dab"};

// A rank file shaped like cl100k_base's (100,256 ranks): the 256 bytes, a few merges over
// "abcd", and filler tokens that never occur in the tests.
std::string WriteRanks(const std::string& dir) {
  const std::string path = dir + "/ranks.tiktoken";
  std::ofstream f(path, std::ios::binary);
  static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto b64 = [](const std::string& s) {
    std::string out;
    size_t i = 0;
    for (; i + 2 < s.size(); i += 3) {
      const uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
      for (int k = 3; k >= 0; --k) out += kB64[(v >> (6 * k)) & 63];
    }
    if (i + 1 == s.size()) {
      const uint32_t v = uint8_t(s[i]) << 16;
      out += kB64[(v >> 18) & 63];
      out += kB64[(v >> 12) & 63];
      out += "==";
    } else if (i + 2 == s.size()) {
      const uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
      for (int k = 3; k >= 1; --k) out += kB64[(v >> (6 * k)) & 63];
      out += "=";
    }
    return out;
  };
  uint32_t rank = 0;
  for (int b = 0; b < 256; ++b) f << b64(std::string(1, char(b))) << ' ' << rank++ << '\n';
  for (const std::string& merge : kMerges) f << b64(merge) << ' ' << rank++ << '\n';
  for (uint32_t i = 0; rank < 100256; ++i) {
    f << b64("\xff\xfe" + std::to_string(i)) << ' ' << rank++ << '\n';
  }
  return path;
}

// tiktoken's byte_pair_merge, written as plainly as possible.
std::vector<uint32_t> NaiveEncodePiece(const std::string& piece) {
  auto rank = [](const std::string& s) -> int64_t {
    if (s.size() == 1) return static_cast<uint8_t>(s[0]);
    for (size_t i = 0; i < kMerges.size(); ++i) {
      if (kMerges[i] == s) return 256 + static_cast<int64_t>(i);
    }
    return -1;
  };
  if (rank(piece) >= 0) return {static_cast<uint32_t>(rank(piece))};
  std::vector<std::string> parts;
  for (char c : piece) parts.emplace_back(1, c);
  if (rank(piece) >= 0) return {static_cast<uint32_t>(rank(piece))};
  while (true) {
    int64_t best = -1;
    size_t at = 0;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      const int64_t r = rank(parts[i] + parts[i + 1]);
      if (r >= 0 && (best < 0 || r < best)) {
        best = r;
        at = i;
      }
    }
    if (best < 0) break;
    parts[at] += parts[at + 1];
    parts.erase(parts.begin() + static_cast<long>(at) + 1);
  }
  std::vector<uint32_t> ids;
  for (const std::string& p : parts) ids.push_back(static_cast<uint32_t>(rank(p)));
  return ids;
}

TEST(BpeTokenizer, MergesLowestRankFirstLikeTiktokenOnShortAndLongPieces) {
  TempDir dir;
  auto tok = NewBpeTokenizer("cl100k_base", WriteRanks(dir.path()));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->Encode("abcd"), (std::vector<uint32_t>{256 + 3, 'd'}));  // bc, then abc.
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    // Lengths past 128 bytes take the heap-based path.
    const size_t n = 1 + rng() % (trial % 3 == 0 ? 600 : 40);
    std::string piece;
    for (size_t i = 0; i < n; ++i) piece += "abcd"[rng() % (trial % 2 ? 4 : 2)];
    const std::vector<uint32_t> ids = (*tok)->Encode(piece);
    EXPECT_EQ(ids, NaiveEncodePiece(piece)) << piece;
    EXPECT_EQ((*tok)->Count(piece), ids.size());
  }
}

TEST(BpeTokenizer, RejectsUnknownNamesMissingAndMalformedFiles) {
  TempDir dir;
  EXPECT_EQ(NewBpeTokenizer("gpt2", WriteRanks(dir.path())).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(NewBpeTokenizer("cl100k_base", dir.path() + "/none").status().code(),
            StatusCode::kNotFound);
  // A correct file for one encoding is the wrong size for the other.
  EXPECT_EQ(NewBpeTokenizer("o200k_base", WriteRanks(dir.path())).status().code(),
            StatusCode::kInvalidArgument);
  const std::string bad = dir.path() + "/bad";
  std::ofstream(bad) << "YQ== 0\nnot-base64! 1\n";
  auto r = NewBpeTokenizer("cl100k_base", bad);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().ToString().find(":2:"), std::string::npos);
}

TEST(BpeTokenizer, FindsRankFileByEncodingNameInExtraDirs) {
  TempDir dir;
  std::ofstream(dir.path() + "/o200k_base.tiktoken") << "x";
  auto found = FindBpeRankFile("o200k_base", {dir.path()});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, dir.path() + "/o200k_base.tiktoken");
  EXPECT_EQ(FindBpeRankFile("cl100k_base", {dir.path()}).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace vmllm
