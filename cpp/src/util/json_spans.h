// JSON spans: where the values of a JSON text begin and end, found by one scan without building
// a document.
//
// The wire parser cuts a request into its top-level members and its messages with these, so
// that only the parts that changed since the previous request are parsed; the limits check
// (json_limits.cc) shares the string scan. The scan checks structure only: strings are closed,
// brackets balance and match, commas and colons sit where the scanned levels need them, and no
// value nests deeper than the limit. Scalars and the inside of each span are validated by the
// parser that reads the span.
//
// Thread safety: pure functions.
#ifndef VMLLM_UTIL_JSON_SPANS_H_
#define VMLLM_UTIL_JSON_SPANS_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "vmllm/status.h"

namespace vmllm::json_spans {

struct Span {
  size_t begin = 0, end = 0;  // [begin, end) in the scanned text.
  size_t size() const { return end - begin; }
};

struct Member {
  std::string_view key;  // As written between the quotes (escapes left as they are).
  Span value;
};

// Offset just past the closing quote of the string whose opening quote is at `open`, or
// std::string_view::npos when the text ends first.
size_t StringEnd(std::string_view text, size_t open);

// The first offset at or after `pos` that is not JSON whitespace.
size_t SkipSpace(std::string_view text, size_t pos);

// The end of the value that starts at `begin` (no whitespace before it). InvalidArgument when
// it is unterminated, unbalanced, or nests arrays and objects more than `max_depth` deep
// counting the `outer_depth` levels it sits in (the message then says "the limit is N").
Result<size_t> ValueEnd(std::string_view text, size_t begin, int max_depth, int outer_depth = 0);

// The members of the object that starts at `begin` (itself inside `outer_depth` levels), in
// order, each value checked as ValueEnd does one level further in; `*end` gets the offset just
// past the object.
Result<std::vector<Member>> ObjectMembers(std::string_view text, size_t begin, int max_depth,
                                          int outer_depth, size_t* end);

// The elements of the array that starts at `begin`, in order; depth and end as ObjectMembers.
Result<std::vector<Span>> ArrayElements(std::string_view text, size_t begin, int max_depth,
                                        int outer_depth, size_t* end);

}  // namespace vmllm::json_spans

#endif  // VMLLM_UTIL_JSON_SPANS_H_
