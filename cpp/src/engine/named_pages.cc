#include "engine/named_pages.h"

#include <cctype>
#include <string>
#include <unordered_set>

#include "text/query_words.h"

namespace vmllm {
namespace {

// Whitespace-separated words with punctuation trimmed at both ends ("`argparse.py`?" ->
// "argparse.py"), lower case: path and extension characters inside a word are kept.
std::vector<std::string> NameWords(std::string_view query) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < query.size()) {
    while (i < query.size() && std::isspace(static_cast<unsigned char>(query[i]))) ++i;
    size_t end = i;
    while (end < query.size() && !std::isspace(static_cast<unsigned char>(query[end]))) ++end;
    std::string_view word = query.substr(i, end - i);
    auto edge = [](char c) {
      const unsigned char u = static_cast<unsigned char>(c);
      return !std::isalnum(u) && u < 0x80 && c != '_';
    };
    while (!word.empty() && edge(word.front())) word.remove_prefix(1);
    while (!word.empty() && edge(word.back())) word.remove_suffix(1);
    if (!word.empty() && !IsQuestionWord(word)) words.push_back(PageTable::DocName(word));
    i = end;
  }
  return words;
}

}  // namespace

std::vector<PageKey> NamedPages(const PageTable& table, std::string_view query,
                                const std::vector<PageKey>& keyword, size_t limit) {
  std::unordered_set<PageKey> named;
  std::vector<PageKey> in_key_order;
  for (const std::string& word : NameWords(query)) {
    if (word.empty()) continue;
    for (PageKey key : table.KeysNamed(word)) {
      if (named.insert(key).second) in_key_order.push_back(key);
    }
  }
  std::vector<PageKey> out;
  if (named.empty()) return out;
  std::unordered_set<PageKey> taken;
  for (PageKey key : keyword) {
    if (out.size() == limit) return out;
    if (named.count(key) && taken.insert(key).second) out.push_back(key);
  }
  for (PageKey key : in_key_order) {
    if (out.size() == limit) break;
    if (taken.insert(key).second) out.push_back(key);
  }
  return out;
}

}  // namespace vmllm
