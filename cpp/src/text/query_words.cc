#include "text/query_words.h"

#include <cctype>
#include <unordered_set>

namespace vmllm {
namespace {

// Question words, auxiliaries, pronouns, articles, prepositions and the words that frame a
// question ("what kind of", "tell me about", "what does function X do"); not negations or
// numbers, which change what is asked.
const std::unordered_set<std::string_view>& QuestionWords() {
  static const auto* words = new std::unordered_set<std::string_view>{
      "a",     "about",  "after",   "all",      "also",    "am",     "an",     "and",
      "any",   "are",    "as",      "at",       "be",      "been",   "being",  "but",
      "by",    "can",    "could",   "describe", "did",     "do",     "does",   "doing",
      "done",  "during", "each",    "explain",  "for",     "from",   "function", "had",
      "has",   "have",   "having",  "he",       "her",     "hers",   "him",    "his",
      "how",   "i",      "if",      "in",       "into",    "is",     "it",     "its",
      "kind",  "kinds",  "me",      "might",    "my",      "of",     "on",     "or",
      "our",   "s",      "she",     "should",   "so",      "some",   "t",      "tell",
      "than",  "that",   "the",     "their",    "them",    "these",  "they",   "this",
      "those", "to",     "type",    "types",    "us",      "was",    "we",     "were",
      "what",  "whats",  "when",    "where",    "which",   "while",  "who",    "whom",
      "whose", "why",    "will",    "with",     "would",   "you",    "your"};
  return *words;
}

}  // namespace

bool IsQuestionWord(std::string_view word) {
  if (word.empty() || word.size() > 8) return false;
  std::string lower(word);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return QuestionWords().count(lower) > 0;
}

std::vector<std::string> ContentWords(const std::vector<std::string>& words) {
  std::vector<std::string> kept;
  for (const std::string& w : words) {
    if (!IsQuestionWord(w)) kept.push_back(w);
  }
  return kept.empty() ? words : kept;
}

}  // namespace vmllm
