#include "vmllm/chunker.h"

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vmllm/tokenizer.h"
#include "vmllm/utf8.h"

namespace vmllm {
namespace {

// One token per UTF-8 character: makes page sizes easy to reason about.
class CharTokenizer : public Tokenizer {
 public:
  std::string Name() const override { return "chars"; }
  size_t Count(std::string_view text) const override {
    size_t n = 0;
    for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
  }
};

// Checks every invariant of chunker.h for one input.
void ExpectChunkerInvariants(const Tokenizer& tok, std::string_view text, size_t page_tokens) {
  const Chunker chunker(&tok, ChunkerOptions{page_tokens});
  const std::vector<Chunk> pages = chunker.Split(text);
  if (text.empty()) {
    EXPECT_TRUE(pages.empty());
    return;
  }
  std::string joined;
  size_t next = 0;
  for (const Chunk& c : pages) {
    ASSERT_EQ(c.offset, next) << "pages must be contiguous";
    ASSERT_GT(c.length, 0u);
    const std::string_view page = text.substr(c.offset, c.length);
    joined.append(page);
    EXPECT_EQ(Utf8FloorBoundary(text, c.offset), c.offset) << "cut inside a character";
    EXPECT_EQ(c.tokens, tok.Count(page));
    if (c.tokens > page_tokens) {
      // Only a single character that alone exceeds the limit may overflow.
      EXPECT_EQ(Utf8FloorBoundary(page, page.size() - 1), 0u) << "oversized page of "
                                                                 << c.tokens << " tokens";
    }
    next = c.offset + c.length;
  }
  EXPECT_EQ(joined, text);
}

std::string RandomDocument(std::mt19937* rng) {
  static const char* const kWords[] = {"the", "page", "memory", "token", "Chunker", "x",
                                       "snake_case_name", "camelCaseName", "42", "3.14",
                                       "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
                                       "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", "(f(x))", "--"};
  std::uniform_int_distribution<int> kind(0, 11);
  std::uniform_int_distribution<int> word(0, sizeof(kWords) / sizeof(kWords[0]) - 1);
  std::uniform_int_distribution<int> len(1, 40);
  std::string doc;
  const int parts = std::uniform_int_distribution<int>(1, 60)(*rng);
  for (int p = 0; p < parts; ++p) {
    switch (kind(*rng)) {
      case 0:
        doc += "\n\n";
        break;
      case 1:
        doc += "```python\ndef f(a, b):\n    return a + b\n```\n";
        break;
      case 2:
        doc += "\n";
        break;
      case 3: {  // A long unbroken run.
        const int n = len(*rng) * 20;
        for (int k = 0; k < n; ++k) doc += (k % 3 == 0) ? "\xE4\xB8\xAD" : "q";
        break;
      }
      case 4:
        doc += ". ";
        break;
      case 5:
        doc += std::string(static_cast<size_t>(len(*rng)), ' ');
        break;
      default: {
        const int n = len(*rng);
        for (int k = 0; k < n; ++k) {
          doc += kWords[word(*rng)];
          doc += (k % 9 == 8) ? "? " : " ";
        }
      }
    }
  }
  return doc;
}

TEST(Chunker, EmptyInputYieldsNoPages) {
  auto tok = NewApproxTokenizer();
  EXPECT_TRUE(Chunker(tok.get(), {}).Split("").empty());
}

TEST(Chunker, SmallInputIsOnePage) {
  auto tok = NewApproxTokenizer();
  const auto pages = Chunker(tok.get(), {100}).Split("Just one short page.\n");
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_EQ(pages[0].length, 21u);
  EXPECT_EQ(pages[0].tokens, tok->Count("Just one short page.\n"));
}

TEST(Chunker, PagesConcatenateBackToInputExactlyOnRandomDocuments) {
  auto approx = NewApproxTokenizer();
  CharTokenizer chars;
  std::mt19937 rng(20240601);
  for (int doc = 0; doc < 60; ++doc) {
    const std::string text = RandomDocument(&rng);
    for (size_t page_tokens : {1, 2, 7, 31, 200}) {
      SCOPED_TRACE("doc " + std::to_string(doc) + " page_tokens " + std::to_string(page_tokens));
      ExpectChunkerInvariants(*approx, text, page_tokens);
      ExpectChunkerInvariants(chars, text, page_tokens);
    }
  }
}

TEST(Chunker, InvalidUtf8StillConcatenatesExactly) {
  auto tok = NewApproxTokenizer();
  const std::string text = "abc \xFF\xFE def \xE2\x82 ghi\x80\x80 jkl \xF0\x9F\x98\x80 mno";
  for (size_t page_tokens : {1, 2, 7}) ExpectChunkerInvariants(*tok, text, page_tokens);
}

TEST(Chunker, OversizedCharacterBecomesItsOwnPage) {
  CharTokenizer chars;
  auto tok = NewApproxTokenizer();
  const std::string emoji = "\xF0\x9F\x98\x80";  // About two tokens for cl100k.
  const auto pages = Chunker(tok.get(), {1}).Split(emoji + emoji);
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[0].length, 4u);
  EXPECT_GT(pages[0].tokens, 1u);
  const auto char_pages = Chunker(&chars, {1}).Split("a\xC3\xA9z");
  ASSERT_EQ(char_pages.size(), 3u);
  EXPECT_EQ(char_pages[1].length, 2u);
}

TEST(Chunker, PrefersParagraphBoundary) {
  CharTokenizer chars;
  const std::string first = "First paragraph line one.\nLine two of it here.\n\n";
  const std::string second = "Second paragraph. It goes on. And on and on without a break.";
  const auto pages = Chunker(&chars, {70}).Split(first + second);
  ASSERT_GE(pages.size(), 2u);
  EXPECT_EQ(pages[0].length, first.size());
}

TEST(Chunker, PrefersFenceBoundaryOverLineEnd) {
  CharTokenizer chars;
  const std::string block = "Intro.\n```\nint a = 1;\nint b = 2;\n```\n";
  const std::string rest = "After the block.\nMore text.\nAnd more.\n";
  const size_t limit = block.size() + 20;  // Fits two more line ends, not the fence.
  const auto pages = Chunker(&chars, {limit}).Split(block + rest + rest);
  ASSERT_GE(pages.size(), 2u);
  EXPECT_EQ(pages[0].length, block.size());
}

TEST(Chunker, PrefersLineEndOverSentenceEnd) {
  CharTokenizer chars;
  const std::string text = "A line that ends here.\nThen. Several. Short. Sentences. Follow on.";
  const auto pages = Chunker(&chars, {40}).Split(text);
  ASSERT_GE(pages.size(), 2u);
  EXPECT_EQ(text.substr(0, pages[0].length), "A line that ends here.\n");
}

TEST(Chunker, PrefersSentenceEndOverSpace) {
  CharTokenizer chars;
  const std::string text = "One sentence is here. Another one follows with many words in it";
  const auto pages = Chunker(&chars, {40}).Split(text);
  ASSERT_GE(pages.size(), 2u);
  EXPECT_EQ(text.substr(0, pages[0].length), "One sentence is here. ");
}

TEST(Chunker, CutsLongWordsAtSpacesAndUnbrokenRunsAnywhere) {
  CharTokenizer chars;
  const std::string words = "alpha beta gamma delta epsilon zeta eta theta iota kappa";
  auto pages = Chunker(&chars, {20}).Split(words);
  for (size_t k = 0; k + 1 < pages.size(); ++k) {
    EXPECT_EQ(words[pages[k].offset + pages[k].length - 1], ' ');
  }
  const std::string run(100, 'z');
  pages = Chunker(&chars, {30}).Split(run);
  ASSERT_EQ(pages.size(), 4u);
  EXPECT_EQ(pages[0].length, 30u);  // Greedy: a full page when no boundary exists.
}

TEST(Chunker, PagesAreFilledGreedily) {
  auto tok = NewApproxTokenizer();
  std::string text;
  for (int k = 0; k < 400; ++k) {
    text += "Sentence number " + std::to_string(k) + " talks about virtual memory pages.\n";
  }
  const auto pages = Chunker(tok.get(), {200}).Split(text);
  ASSERT_GT(pages.size(), 3u);
  for (size_t k = 0; k + 1 < pages.size(); ++k) {
    EXPECT_GE(pages[k].tokens, 150u);  // Back-half rule: never less than half a page.
    EXPECT_LE(pages[k].tokens, 200u);
    EXPECT_EQ(text[pages[k].offset + pages[k].length - 1], '\n');
  }
}

TEST(Chunker, EmitReturningFalseStops) {
  auto tok = NewApproxTokenizer();
  const std::string text(5000, 'a');
  int calls = 0;
  Chunker(tok.get(), {10}).Split(text, [&calls](const Chunk&) {
    ++calls;
    return false;
  });
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace vmllm
