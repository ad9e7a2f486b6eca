// Boundary-aware chunking: Python at def/class and statement boundaries, Markdown at headings,
// overlap prefixes, and content-kind detection. The invariants of chunker.h are checked for
// every kind on every test input.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vmllm/chunker.h"
#include "vmllm/tokenizer.h"

namespace vmllm {
namespace {

// One token per character: page sizes are easy to reason about.
class CharTokenizer : public Tokenizer {
 public:
  std::string Name() const override { return "chars"; }
  size_t Count(std::string_view text) const override {
    size_t n = 0;
    for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
  }
};

std::vector<Chunk> SplitChecked(std::string_view text, ChunkerOptions options, ContentKind kind) {
  CharTokenizer tok;
  const Chunker chunker(&tok, options);
  std::vector<Chunk> pages;
  chunker.Split(text, kind, [&](const Chunk& c) {
    pages.push_back(c);
    return true;
  });
  size_t next = 0;
  const size_t limit = kind == ContentKind::kPython
                           ? std::min(options.page_tokens, options.code_page_tokens)
                           : options.page_tokens;
  for (const Chunk& c : pages) {
    EXPECT_EQ(c.offset, next);
    EXPECT_LE(c.tokens, limit);
    EXPECT_EQ(c.tokens, tok.Count(text.substr(c.offset, c.length)));
    EXPECT_LE(c.overlap_offset, c.offset);
    next = c.offset + c.length;
  }
  EXPECT_EQ(next, text.size());
  return pages;
}

std::string Function(const std::string& name, int statements, const std::string& indent = "") {
  std::string s = indent + "def " + name + "(x):\n" + indent + "    \"\"\"Does " + name + ".\"\"\"\n";
  for (int i = 0; i < statements; ++i) {
    s += indent + "    x = x + " + std::to_string(i) + "  # step\n";
  }
  return s + indent + "    return x\n\n\n";
}

std::vector<std::string> PageTexts(std::string_view text, const std::vector<Chunk>& pages) {
  std::vector<std::string> out;
  for (const Chunk& c : pages) out.emplace_back(text.substr(c.offset, c.length));
  return out;
}

TEST(ChunkerKinds, PythonPagesStartAtFunctionAndClassBoundaries) {
  std::string src = "import os\n\n\n";
  for (int i = 0; i < 12; ++i) src += Function("f" + std::to_string(i), 3 + i % 5);
  src += "class Box:\n    size = 1\n\n" + Function("method", 4, "    ");
  ChunkerOptions o;
  o.page_tokens = 2000;
  o.code_page_tokens = 400;
  const auto pages = PageTexts(src, SplitChecked(src, o, ContentKind::kPython));
  ASSERT_GT(pages.size(), 3u);
  for (size_t i = 1; i < pages.size(); ++i) {
    const std::string& p = pages[i];
    EXPECT_TRUE(p.rfind("def ", 0) == 0 || p.rfind("class ", 0) == 0 ||
                p.rfind("    def ", 0) == 0) << "page " << i << ": " << p.substr(0, 40);
  }
}

TEST(ChunkerKinds, PythonKeepsDecoratorsWithTheirFunction) {
  std::string src;
  for (int i = 0; i < 10; ++i) src += "@cache\n@trace(level=2)\n" + Function("g" + std::to_string(i), 4);
  ChunkerOptions o;
  o.code_page_tokens = 300;
  const auto pages = PageTexts(src, SplitChecked(src, o, ContentKind::kPython));
  ASSERT_GT(pages.size(), 2u);
  for (size_t i = 1; i < pages.size(); ++i) EXPECT_EQ(pages[i].rfind("@cache\n", 0), 0u) << i;
}

TEST(ChunkerKinds, LargeFunctionIsSplitBetweenStatementsOnly) {
  // Brackets, a triple-quoted string with blank lines and a backslash continuation: no cut may
  // fall inside any of them.
  std::string body = "def big():\n";
  std::vector<std::pair<size_t, size_t>> forbidden;  // [begin, end) spans a cut may not enter.
  for (int i = 0; i < 30; ++i) {
    body += "    total = compute(\n";
    const size_t open = body.size();
    body += "        alpha=1,\n\n        beta=[1, 2,\n              3],\n    )\n";
    forbidden.push_back({open, body.size() - 2});
    body += "    doc = \"\"\"first line\n";
    const size_t s = body.size();
    body += "\n    still inside the string\n\"\"\"\n";
    forbidden.push_back({s, body.size() - 1});
    body += "    y = 1 + \\\n";
    forbidden.push_back({body.size(), body.size() + 9});
    body += "        2\n";
  }
  ChunkerOptions o;
  o.code_page_tokens = 350;
  const auto pages = SplitChecked(body, o, ContentKind::kPython);
  ASSERT_GT(pages.size(), 5u);
  for (size_t i = 1; i < pages.size(); ++i) {
    const size_t cut = pages[i].offset;
    EXPECT_EQ(body[cut - 1], '\n') << "cut " << cut << " is not at a line start";
    for (auto [b, e] : forbidden) EXPECT_FALSE(cut > b && cut < e) << "cut " << cut << " in " << b;
  }
}

TEST(ChunkerKinds, MarkdownPagesStartAtHeadingsButNotInsideFences) {
  std::string md;
  for (int i = 0; i < 10; ++i) {
    md += "## Section " + std::to_string(i) + "\n\nSome prose here. More prose follows.\n\n";
    md += "```python\n# not a heading\nx = 1\n```\n\nA closing paragraph of text.\n\n";
  }
  ChunkerOptions o;
  o.page_tokens = 300;
  const auto pages = PageTexts(md, SplitChecked(md, o, ContentKind::kMarkdown));
  ASSERT_GT(pages.size(), 2u);
  for (size_t i = 1; i < pages.size(); ++i) EXPECT_EQ(pages[i].rfind("## Section", 0), 0u) << i;
}

TEST(ChunkerKinds, TextKindIgnoresHeadings) {
  std::string md;
  for (int i = 0; i < 10; ++i) md += "## H" + std::to_string(i) + "\nline one\nline two\n";
  ChunkerOptions o;
  o.page_tokens = 60;
  const auto as_text = SplitChecked(md, o, ContentKind::kText);
  const auto as_md = SplitChecked(md, o, ContentKind::kMarkdown);
  const auto md_pages = PageTexts(md, as_md);
  for (size_t i = 1; i < md_pages.size(); ++i) EXPECT_EQ(md_pages[i].rfind("## H", 0), 0u);
  bool differs = as_text.size() != as_md.size();
  for (size_t i = 0; !differs && i < as_text.size(); ++i) differs = as_text[i].offset != as_md[i].offset;
  EXPECT_TRUE(differs);
}

TEST(ChunkerKinds, OverlapPrefixRepeatsThePreviousPageEndFromAWordStart) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "word" + std::to_string(i) + (i % 9 == 8 ? ".\n" : " ");
  ChunkerOptions o;
  o.page_tokens = 120;
  o.overlap_tokens = 30;
  const auto pages = SplitChecked(text, o, ContentKind::kText);
  ASSERT_GT(pages.size(), 3u);
  EXPECT_EQ(pages[0].overlap_offset, 0u);
  for (size_t i = 1; i < pages.size(); ++i) {
    const Chunk& c = pages[i];
    EXPECT_GE(c.overlap_offset, pages[i - 1].offset);
    EXPECT_LE(c.offset - c.overlap_offset, 30u);
    EXPECT_GT(c.offset - c.overlap_offset, 5u) << "prefix too short at page " << i;
    const char before = text[c.overlap_offset - 1];
    EXPECT_TRUE(before == ' ' || before == '\n') << "prefix starts mid-word at page " << i;
  }
}

TEST(ChunkerKinds, RandomDocumentsKeepInvariantsInEveryKind) {
  std::mt19937 rng(11);
  const char* atoms[] = {"def f():\n", "    x = (1,\n", "2)\n", "\"\"\"doc\n", "# H\n", "```\n",
                         "word ", "end. ", "\n\n", "class C:\n", "@d\n", "'s'", "\\\n", "é"};
  for (int trial = 0; trial < 200; ++trial) {
    std::string text;
    const int n = rng() % 200;
    for (int i = 0; i < n; ++i) text += atoms[rng() % (sizeof(atoms) / sizeof(atoms[0]))];
    ChunkerOptions o;
    o.page_tokens = 1 + rng() % 120;
    o.code_page_tokens = 1 + rng() % 120;
    o.overlap_tokens = rng() % 20;
    for (ContentKind k : {ContentKind::kText, ContentKind::kMarkdown, ContentKind::kPython}) {
      SplitChecked(text, o, k);
    }
  }
}

TEST(ChunkerKinds, DetectsKindFromExtensionThenContent) {
  EXPECT_EQ(DetectContentKind("pkg/mod.py", ""), ContentKind::kPython);
  EXPECT_EQ(DetectContentKind("README.MD", ""), ContentKind::kMarkdown);
  EXPECT_EQ(DetectContentKind("notes.txt", "def f():\n    return 1\n"), ContentKind::kText);
  EXPECT_EQ(DetectContentKind("x", "import os\n\ndef f():\n    return 1\n"), ContentKind::kPython);
  EXPECT_EQ(DetectContentKind("x", "# Title\n\n- one\n- two\n"), ContentKind::kMarkdown);
  EXPECT_EQ(DetectContentKind("x", "Just a letter. Nothing else.\n"), ContentKind::kText);
  ContentKind k;
  EXPECT_TRUE(ParseContentKind("python", &k));
  EXPECT_EQ(k, ContentKind::kPython);
  EXPECT_FALSE(ParseContentKind("rust", &k));
}

}  // namespace
}  // namespace vmllm
