#include "vmllm/tokenizer.h"

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace vmllm {
namespace {

struct Sample {
  const char* name;
  const char* text;
  size_t cl100k;  // len(tiktoken.get_encoding("cl100k_base").encode(text)), tiktoken 0.x.
};

const Sample kSamples[] = {
    {"prose",
     "The quick brown fox jumps over the lazy dog. Virtual memory lets a program use more "
     "memory than the machine physically has: pages that are not needed right now are written "
     "to disk and brought back when they are touched again. A language model's context window "
     "can be managed the same way, keeping the working set in the prompt and the rest in a "
     "store that is searched on demand.",
     76},
    {"python",
     "def read_config(path: str, *, strict: bool = True) -> dict:\n"
     "    \"\"\"Loads a TOML file and returns its contents as a dict.\"\"\"\n"
     "    with open(path, \"rb\") as f:\n"
     "        data = tomllib.load(f)\n"
     "    if strict and \"version\" not in data:\n"
     "        raise ValueError(f\"{path}: missing 'version' key\")\n"
     "    return {k.lower(): v for k, v in data.items()}\n",
     90},
    {"cpp",
     "size_t Utf8FloorBoundary(std::string_view text, size_t pos) {\n"
     "  const auto* s = reinterpret_cast<const uint8_t*>(text.data());\n"
     "  if (pos >= text.size()) return text.size();\n"
     "  while (pos > 0 && (s[pos] & 0xC0) == 0x80) --pos;\n"
     "  return pos;\n"
     "}\n",
     77},
    {"json",
     "{\"id\": 1234567, \"name\": \"example-page\", \"tokens\": [101, 2023, 3000], \"tags\": "
     "[\"alpha\", \"beta\"], \"ok\": true, \"ratio\": 0.125}",
     51},
};

TEST(ApproxTokenizer, NameIsApprox) { EXPECT_EQ(NewApproxTokenizer()->Name(), "approx"); }

TEST(ApproxTokenizer, EmptyTextHasNoTokens) { EXPECT_EQ(NewApproxTokenizer()->Count(""), 0u); }

TEST(ApproxTokenizer, StaysWithin15PercentOfCl100kOnFixedSamples) {
  auto tok = NewApproxTokenizer();
  for (const Sample& s : kSamples) {
    const double got = static_cast<double>(tok->Count(s.text));
    EXPECT_NEAR(got, static_cast<double>(s.cl100k), 0.15 * s.cl100k) << s.name;
  }
}

TEST(ApproxTokenizer, CjkCostsAboutOneTokenPerCharacter) {
  // 26 cl100k tokens for 28 characters (tiktoken).
  const size_t got = NewApproxTokenizer()->Count(
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9"
      "\xE3\x83\x88\xE3\x82\x92\xE5\x88\x86\xE5\x89\xB2\xE3\x81\x97\xE3\x81\xBE\xE3\x81\x99"
      "\xE3\x80\x82\xE4\xB8\xAD\xE6\x96\x87\xE6\x96\x87\xE6\x9C\xAC\xE6\xB5\x8B\xE8\xAF\x95"
      "\xEF\xBC\x8C\xE8\xBF\x99\xE6\x98\xAF\xE4\xB8\x80\xE4\xB8\xAA\xE4\xBE\x8B\xE5\xAD\x90"
      "\xE3\x80\x82");
  EXPECT_GE(got, 20u);
  EXPECT_LE(got, 40u);
}

TEST(ApproxTokenizer, ShortCommonWordsAreOneTokenEach) {
  auto tok = NewApproxTokenizer();
  EXPECT_EQ(tok->Count("hello"), 1u);
  EXPECT_EQ(tok->Count(" the"), 1u);
  EXPECT_EQ(tok->Count("the cat sat on the mat"), 6u);
}

TEST(ApproxTokenizer, DigitsGroupInThrees) {
  auto tok = NewApproxTokenizer();
  EXPECT_EQ(tok->Count("7"), 1u);
  EXPECT_EQ(tok->Count("123"), 1u);
  EXPECT_EQ(tok->Count("1234567"), 3u);  // "123" "456" "7", as in cl100k.
}

TEST(ApproxTokenizer, IndentationAndNewlinesAreSingleTokens) {
  auto tok = NewApproxTokenizer();
  EXPECT_EQ(tok->Count("        "), 1u);
  EXPECT_EQ(tok->Count("\n\n"), 1u);
  EXPECT_EQ(tok->Count("x\n    y"), 4u);  // "x" "\n" "   " " y"
}

TEST(ApproxTokenizer, ContractionsSplitOffTheApostrophe) {
  EXPECT_EQ(NewApproxTokenizer()->Count("don't"), 2u);  // "don" "'t"
}

TEST(ApproxTokenizer, InvalidBytesCountOneTokenEach) {
  auto tok = NewApproxTokenizer();
  EXPECT_EQ(tok->Count("\xFF"), 1u);
  EXPECT_EQ(tok->Count("\xFF\xFE\x80"), 3u);
  EXPECT_EQ(tok->Count("\xE2\x82"), 2u);  // A truncated sequence: two stray bytes.
}

// Regression (fuzz_tokenizer): a run of letters whose pairs are rare in cl100k cost more
// tokens than it has bytes; no BPE token is shorter than a byte.
TEST(ApproxTokenizer, NeverCountsMoreTokensThanBytes) {
  auto tokenizer = NewApproxTokenizer();
  const std::string found_by_fuzzer = std::string(59, 'J') + "T\xed\x8e\x8e";
  EXPECT_LE(tokenizer->Count(found_by_fuzzer), found_by_fuzzer.size());
  for (const std::string& run : {std::string(200, 'j'), std::string(50, 'q') + "x",
                                 std::string("qjqjqjqjqjqjqjqjqjqjqjqjqjqjqj")}) {
    EXPECT_LE(tokenizer->Count(run), run.size()) << run;
    EXPECT_LE(tokenizer->Count(" " + run), run.size() + 1) << run;
  }
}

TEST(ApproxTokenizer, LongerTextNeverCountsFewerTokensThanItsPrefixByMuch) {
  auto tok = NewApproxTokenizer();
  const std::string text = kSamples[0].text;
  size_t prev = 0;
  for (size_t len = 0; len <= text.size(); len += 7) {
    const size_t n = tok->Count(std::string_view(text).substr(0, len));
    EXPECT_GE(n + 1, prev) << len;
    prev = n;
  }
}

TEST(ApproxTokenizer, ConcurrentCountsAgree) {
  auto tok = NewApproxTokenizer();
  std::string text;
  for (const Sample& s : kSamples) text += s.text;
  const size_t expected = tok->Count(text);
  std::vector<size_t> results(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 200; ++k) results[t] = tok->Count(text);
    });
  }
  for (auto& th : threads) th.join();
  for (size_t r : results) EXPECT_EQ(r, expected);
}

}  // namespace
}  // namespace vmllm
