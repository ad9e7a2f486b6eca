// Guessing what a document is (prose, Markdown, Python) so the chunker can cut where its
// meaning breaks. The extension decides when there is one; otherwise the first 8 KiB vote.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "vmllm/chunker.h"

namespace vmllm {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    const char c = s[s.size() - suffix.size() + i];
    if (std::tolower(static_cast<unsigned char>(c)) != suffix[i]) return false;
  }
  return true;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

ContentKind DetectContentKind(std::string_view doc_id, std::string_view text) {
  for (const char* ext : {".py", ".pyi", ".pyw"}) {
    if (EndsWith(doc_id, ext)) return ContentKind::kPython;
  }
  for (const char* ext : {".md", ".markdown", ".mdx"}) {
    if (EndsWith(doc_id, ext)) return ContentKind::kMarkdown;
  }
  for (const char* ext : {".txt", ".rst", ".json", ".log", ".csv"}) {
    if (EndsWith(doc_id, ext)) return ContentKind::kText;
  }
  const std::string_view head = text.substr(0, 8192);
  int python = 0;
  int markdown = 0;
  int lines = 0;
  size_t p = 0;
  while (p < head.size()) {
    size_t nl = head.find('\n', p);
    if (nl == std::string_view::npos) nl = head.size();
    const std::string_view line = head.substr(p, nl - p);
    p = nl + 1;
    if (line.empty()) continue;
    ++lines;
    for (const char* kw : {"def ", "class ", "import ", "from ", "async def ", "@", "if __name__"}) {
      if (StartsWith(line, kw)) ++python;
    }
    const size_t indent = line.find_first_not_of(' ');
    if (indent != std::string_view::npos && indent >= 4 &&
        (StartsWith(line.substr(indent), "def ") || StartsWith(line.substr(indent), "return") ||
         StartsWith(line.substr(indent), "self."))) {
      ++python;
    }
    if (StartsWith(line, "```") || StartsWith(line, "- ") || StartsWith(line, "* ") ||
        StartsWith(line, "|")) {
      ++markdown;
    }
    const size_t hashes = line.find_first_not_of('#');
    if (hashes >= 1 && hashes <= 6 && hashes < line.size() && line[hashes] == ' ') {
      markdown += 2;  // "# Title" is a heading, or a Python comment: Python wins on keywords.
    }
  }
  if (python >= 2 && python * 10 >= lines) return ContentKind::kPython;
  if (markdown >= 2) return ContentKind::kMarkdown;
  return ContentKind::kText;
}

bool ParseContentKind(std::string_view name, ContentKind* kind) {
  for (ContentKind k : {ContentKind::kAuto, ContentKind::kText, ContentKind::kMarkdown,
                        ContentKind::kPython}) {
    if (name == ContentKindName(k)) {
      *kind = k;
      return true;
    }
  }
  return false;
}

const char* ContentKindName(ContentKind kind) {
  switch (kind) {
    case ContentKind::kAuto: return "auto";
    case ContentKind::kText: return "text";
    case ContentKind::kMarkdown: return "markdown";
    case ContentKind::kPython: return "python";
  }
  return "text";
}

}  // namespace vmllm
