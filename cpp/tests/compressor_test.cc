#include "vmllm/compressor.h"

#include <string>

#include <gtest/gtest.h>

#include "vmllm/utf8.h"

namespace vmllm {
namespace {

std::string Filler(int n) {
  std::string s;
  for (int k = 0; k < n; ++k) {
    s += "This is a sentence that says very little about anything at all. ";
    s += "it goes on and on in the same way as before. ";
  }
  return s;
}

TEST(ExtractiveCompressor, NameIsExtractiveV1) {
  EXPECT_EQ(NewExtractiveCompressor()->Name(), "extractive-v1");
}

TEST(ExtractiveCompressor, KeepsTheSentenceWithNumbersAndIdentifiersOverFiller) {
  const std::string key = "The cache_size must be 4096 and parse_config() raises ValueError.";
  const std::string text = Filler(5) + key + " " + Filler(5);
  const std::string summary = NewExtractiveCompressor(0.1)->Compress(text);
  EXPECT_NE(summary.find("cache_size must be 4096"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("says very little"), std::string::npos) << summary;
}

TEST(ExtractiveCompressor, OutputIsNeverLongerThanInputAndNearTheRatio) {
  std::string text;
  for (int k = 0; k < 200; ++k) {
    text += "Step " + std::to_string(k) + " calls run_step(k) on the Scheduler. ";
    text += "Nothing else happens in round " + std::to_string(k) + ". ";
  }
  for (double ratio : {0.05, 0.1, 0.3, 1.0}) {
    const std::string summary = NewExtractiveCompressor(ratio)->Compress(text);
    EXPECT_LE(summary.size(), text.size());
    EXPECT_LE(summary.size(), static_cast<size_t>(ratio * text.size()) + 1) << ratio;
    EXPECT_GE(summary.size(), static_cast<size_t>(0.8 * ratio * text.size())) << ratio;
  }
}

TEST(ExtractiveCompressor, KeepsARepeatedSentenceOnce) {
  std::string text;
  for (int k = 0; k < 20; ++k) text += "Call flush_pages() before exit. Then wait. ";
  const std::string summary = NewExtractiveCompressor(0.5)->Compress(text);
  const size_t first = summary.find("flush_pages()");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(summary.find("flush_pages()", first + 1), std::string::npos) << summary;
}

TEST(ExtractiveCompressor, KeepsUnitsInOriginalOrder) {
  const std::string text = Filler(3) + "First, set MAX_PAGES to 128. " + Filler(3) +
                           "Then call evict_lru() twice. " + Filler(3);
  const std::string summary = NewExtractiveCompressor(0.1)->Compress(text);
  const size_t first = summary.find("MAX_PAGES");
  const size_t second = summary.find("evict_lru()");
  ASSERT_NE(first, std::string::npos) << summary;
  ASSERT_NE(second, std::string::npos) << summary;
  EXPECT_LT(first, second);
}

TEST(ExtractiveCompressor, TreatsCodeLinesAsUnits) {
  std::string code;
  for (int k = 0; k < 30; ++k) code += "    x = x + 1\n";
  code += "    total_bytes = os.path.getsize(PATH_TO_FILE)\n";
  for (int k = 0; k < 30; ++k) code += "    x = x + 1\n";
  const std::string summary = NewExtractiveCompressor(0.1)->Compress(code);
  EXPECT_NE(summary.find("total_bytes = os.path.getsize(PATH_TO_FILE)"), std::string::npos);
  EXPECT_LE(summary.size(), code.size() / 10 + 1);
}

TEST(ExtractiveCompressor, NeverEmptyForNonBlankInputAndEmptyForBlank) {
  auto c = NewExtractiveCompressor(0.01);
  EXPECT_FALSE(c->Compress("hello").empty());
  EXPECT_FALSE(c->Compress("just some words without any signal").empty());
  EXPECT_EQ(c->Compress(""), "");
  EXPECT_EQ(c->Compress(" \n\t \n"), "");
}

TEST(ExtractiveCompressor, TruncatesAnOversizedUnitAtACharacterBoundary) {
  std::string text;
  for (int k = 0; k < 500; ++k) text += "\xE6\x97\xA5\xE6\x9C\xAC";  // One unbroken CJK run.
  const std::string summary = NewExtractiveCompressor(0.1)->Compress(text);
  EXPECT_FALSE(summary.empty());
  EXPECT_LE(summary.size(), text.size() / 10);
  EXPECT_TRUE(IsValidUtf8(summary));
}

TEST(ExtractiveCompressor, IsDeterministic) {
  const std::string text = Filler(4) + "Decided: use SQLite for L4 with 4 KiB pages. " + Filler(4);
  auto c = NewExtractiveCompressor(0.2);
  EXPECT_EQ(c->Compress(text), NewExtractiveCompressor(0.2)->Compress(text));
}

}  // namespace
}  // namespace vmllm
