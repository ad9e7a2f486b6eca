#include "util/json_spans.h"

#include <cstring>
#include <string>

#include "vmllm/json_limits.h"

namespace vmllm::json_spans {
namespace {

Status Malformed(size_t at, const std::string& what) {
  return Status::InvalidArgument("malformed JSON at byte " + std::to_string(at) + ": " + what);
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

size_t StringEnd(std::string_view text, size_t open) {
  size_t pos = open + 1;
  while (pos < text.size()) {
    // memchr runs at memory speed over long strings (tool results are most of a request).
    const void* hit = std::memchr(text.data() + pos, '"', text.size() - pos);
    if (hit == nullptr) return std::string_view::npos;
    const size_t quote = static_cast<const char*>(hit) - text.data();
    size_t backslashes = 0;
    while (quote - backslashes > open + 1 && text[quote - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return quote + 1;
    pos = quote + 1;  // An escaped quote.
  }
  return std::string_view::npos;
}

size_t SkipSpace(std::string_view text, size_t pos) {
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  return pos;
}

Result<size_t> ValueEnd(std::string_view text, size_t begin, int max_depth, int outer_depth) {
  if (begin >= text.size()) return Malformed(begin, "a value was expected");
  const char first = text[begin];
  if (first == '"') {
    const size_t end = StringEnd(text, begin);
    if (end == std::string_view::npos) return Malformed(begin, "unterminated string");
    return end;
  }
  if (first != '{' && first != '[') {
    size_t pos = begin;
    while (pos < text.size() && !IsSpace(text[pos]) && text[pos] != ',' && text[pos] != ']' &&
           text[pos] != '}' && text[pos] != ':') {
      ++pos;
    }
    if (pos == begin) return Malformed(begin, "a value was expected");
    return pos;
  }
  std::string closers;  // Expected closing brackets, innermost last.
  for (size_t pos = begin; pos < text.size();) {
    const char c = text[pos];
    if (c == '"') {
      pos = StringEnd(text, pos);
      if (pos == std::string_view::npos) return Malformed(begin, "unterminated string");
      continue;
    }
    if (c == '{' || c == '[') {
      closers.push_back(c == '{' ? '}' : ']');
      if (static_cast<int>(closers.size()) + outer_depth > max_depth) {
        // How deep it goes, as CheckJsonLimits says it: one more scan, on refusal only.
        const size_t deepest = outer_depth + JsonDepth(text.substr(begin));
        return Status::InvalidArgument("nested " + std::to_string(deepest) + " deep; the limit is " +
                                       std::to_string(max_depth) + " (vmllm JSON limits)");
      }
    } else if (c == '}' || c == ']') {
      if (closers.empty() || closers.back() != c) return Malformed(pos, "unbalanced brackets");
      closers.pop_back();
      if (closers.empty()) return pos + 1;
    }
    ++pos;
  }
  return Malformed(begin, "unterminated value");
}

namespace {

// The members of an object (keyed) or the elements of an array starting at `begin`: one loop
// for both. Returns the offset just past the closing bracket.
template <class Add>
Result<size_t> ScanContainer(std::string_view text, size_t begin, char open, char close,
                             bool keyed, int max_depth, int outer_depth, Add add) {
  if (begin >= text.size() || text[begin] != open) {
    return Malformed(begin, std::string("'") + open + "' was expected");
  }
  if (outer_depth + 1 > max_depth) return ValueEnd(text, begin, max_depth, outer_depth);
  size_t pos = SkipSpace(text, begin + 1);
  if (pos < text.size() && text[pos] == close) return pos + 1;
  while (true) {
    std::string_view key;
    if (keyed) {
      if (pos >= text.size() || text[pos] != '"') return Malformed(pos, "a member name was expected");
      const size_t key_end = StringEnd(text, pos);
      if (key_end == std::string_view::npos) return Malformed(pos, "unterminated member name");
      key = text.substr(pos + 1, key_end - pos - 2);
      pos = SkipSpace(text, key_end);
      if (pos >= text.size() || text[pos] != ':') return Malformed(pos, "':' was expected");
      pos = SkipSpace(text, pos + 1);
    }
    auto end = ValueEnd(text, pos, max_depth, outer_depth + 1);
    if (!end.ok()) return end.status();
    add(key, Span{pos, *end});
    pos = SkipSpace(text, *end);
    if (pos >= text.size()) return Malformed(pos, "unterminated container");
    if (text[pos] == ',') {
      pos = SkipSpace(text, pos + 1);
      continue;
    }
    if (text[pos] == close) return pos + 1;
    return Malformed(pos, std::string("',' or '") + close + "' was expected");
  }
}

}  // namespace

Result<std::vector<Member>> ObjectMembers(std::string_view text, size_t begin, int max_depth,
                                          int outer_depth, size_t* end) {
  std::vector<Member> members;
  auto scanned = ScanContainer(text, begin, '{', '}', true, max_depth, outer_depth,
                               [&](std::string_view key, Span value) {
                                 members.push_back({key, value});
                               });
  if (!scanned.ok()) return scanned.status();
  *end = *scanned;
  return members;
}

Result<std::vector<Span>> ArrayElements(std::string_view text, size_t begin, int max_depth,
                                        int outer_depth, size_t* end) {
  std::vector<Span> elements;
  auto scanned = ScanContainer(text, begin, '[', ']', false, max_depth, outer_depth,
                               [&](std::string_view, Span value) { elements.push_back(value); });
  if (!scanned.ok()) return scanned.status();
  *end = *scanned;
  return elements;
}

}  // namespace vmllm::json_spans
