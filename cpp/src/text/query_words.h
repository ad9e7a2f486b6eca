// Questions are not documents: "When did Caroline go to the support group?" shares "when",
// "did", "the" and "to" with nearly every page, and an any-word BM25 query lets those words
// pull in pages that match nothing else. Keyword search drops them (and the words that only
// frame a question, such as "function" in "what does function X do") before it matches.
//
// Thread safety: pure functions over a constant table.
#ifndef VMLLM_TEXT_QUERY_WORDS_H_
#define VMLLM_TEXT_QUERY_WORDS_H_

#include <string>
#include <string_view>
#include <vector>

namespace vmllm {

// True for an English function or question word (compared case-insensitively, ASCII).
bool IsQuestionWord(std::string_view word);

// The words of `words` that carry the question, in order; all of them when every one is a
// question word (a query of only "what is it" still searches for something).
std::vector<std::string> ContentWords(const std::vector<std::string>& words);

}  // namespace vmllm

#endif  // VMLLM_TEXT_QUERY_WORDS_H_
