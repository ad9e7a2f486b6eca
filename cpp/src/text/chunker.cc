// Greedy page cutting with bounded token counting.
//
// A page is found in three steps. (1) Estimate how far the page can reach: count the text
// in segments that end where the tokenizer's pre-tokenisation splits anyway (before " word",
// after a newline, where a word meets punctuation), so that summing segment counts tracks
// the count of the whole prefix; coarse segments first, then word-sized ones and single
// characters inside the segment that overflows. (2) Scan that window once for cut points and
// take the best-ranked one in its back half. (3) Count the chosen page exactly; if the
// estimate was optimistic, lower the budget by the overshoot and choose again. Every byte is
// counted a small constant number of times (about 2.2 for 2000-token pages), and memory
// holds only the segment list of the current page.
//
// Cut points by content kind: prose and Markdown share one scan (Markdown adds headings);
// Python source is scanned with a small lexer state (bracket depth, open string, backslash
// continuation) carried from page to page, so a cut between statements is known to be one.
#include "vmllm/chunker.h"

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

#include "vmllm/utf8.h"

namespace vmllm {
namespace {

// Cut point quality, worst to best.
enum Rank {
  kAnyChar, kSpace, kSentenceEnd, kLineEnd, kFenceBoundary, kBlankLine, kHeading, kNumRanks
};
// Python cut points, worst to best.
enum PyRank {
  kPyLineEnd, kPyStatement, kPyBlankStatement, kPyNestedDef, kPyTopDef, kPyNumRanks
};

// Lexer state of Python source at a page start.
struct PyState {
  int depth = 0;        // Open brackets.
  char quote = 0;       // Quote character of the open string, 0 outside strings.
  bool triple = false;  // The open string is triple-quoted.
  bool continued = false;  // A backslash continues the line.
};

// Scans Python source [from, to) from state `st`, calling on_newline(q, statement_boundary,
// line_was_blank) after each line end at q.
template <typename F>
void ScanPython(std::string_view t, size_t from, size_t to, PyState* st, F&& on_newline) {
  bool line_blank = from == 0 || t[from - 1] == '\n';
  size_t p = from;
  while (p < to) {
    const char c = t[p];
    if (st->quote != 0) {
      if (c == '\\') {
        if (p + 1 < to && t[p + 1] == '\n') on_newline(p + 2, false, false);
        p += 2;
        continue;
      }
      if (c == st->quote) {
        if (!st->triple) {
          st->quote = 0;
        } else if (t.substr(p, 3) == std::string(3, c)) {
          st->quote = 0;
          st->triple = false;
          p += 3;
          continue;
        }
      } else if (c == '\n') {
        if (!st->triple) st->quote = 0;  // An unterminated one-line string ends here.
        on_newline(p + 1, false, false);
      }
      ++p;
      continue;
    }
    switch (c) {
      case '#': {
        const size_t nl = t.find('\n', p);
        p = nl == std::string_view::npos || nl > to ? to : nl;
        line_blank = false;
        continue;
      }
      case '\'':
      case '"':
        st->quote = c;
        st->triple = t.substr(p, 3) == std::string(3, c);
        p += st->triple ? 3 : 1;
        line_blank = false;
        continue;
      case '(': case '[': case '{':
        ++st->depth;
        break;
      case ')': case ']': case '}':
        if (st->depth > 0) --st->depth;
        break;
      case '\\':
        st->continued = p + 1 < t.size() && t[p + 1] == '\n';
        break;
      case '\n':
        on_newline(p + 1, st->depth == 0 && !st->continued, line_blank);
        line_blank = true;
        st->continued = false;
        break;
      default:
        if (c != ' ' && c != '\t' && c != '\r' && c != '\f') line_blank = false;
    }
    ++p;
  }
}

// True if a Markdown ATX heading ("#" to "######" then a space or line end) starts at `p`.
bool HeadingAt(std::string_view t, size_t p) {
  size_t i = p;
  while (i < t.size() && i - p < 3 && t[i] == ' ') ++i;
  size_t hashes = 0;
  while (i + hashes < t.size() && t[i + hashes] == '#') ++hashes;
  if (hashes == 0 || hashes > 6) return false;
  const size_t after = i + hashes;
  return after == t.size() || t[after] == ' ' || t[after] == '\t' || t[after] == '\n';
}

constexpr size_t kMaxFineBytes = 64;  // Longest word-level segment.

bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsPunct(char c) { return c > ' ' && c < 0x7F && !IsAlpha(c) && !IsDigit(c); }

// True if a code fence ("```" or "~~~" after at most three spaces) starts the line at `p`.
bool FenceAt(std::string_view t, size_t p) {
  size_t i = p;
  while (i < t.size() && i - p < 3 && t[i] == ' ') ++i;
  const std::string_view rest = t.substr(i, 3);
  return rest == "```" || rest == "~~~";
}

struct Segment {
  size_t end;
  size_t cum_tokens;  // Estimated tokens from the page start to `end`.
};

class PageCutter {
 public:
  PageCutter(const Tokenizer& tokenizer, std::string_view text, size_t page_tokens,
             ContentKind kind)
      : tokenizer_(tokenizer),
        text_(text),
        limit_(page_tokens),
        coarse_bytes_(std::clamp<size_t>(page_tokens / 4, 16, 1024)),
        kind_(kind) {}

  // Start of the overlap prefix of the page at `offset`, which follows the page at
  // `prev_start`: the furthest-back point with at most `budget` tokens up to `offset`, moved
  // forward to a line start (or else a word start) so the prefix does not begin mid-word.
  size_t OverlapStart(size_t prev_start, size_t offset, size_t budget) const {
    size_t lo = prev_start;  // May not fit.
    size_t hi = offset;      // Fits (empty).
    if (Count(lo, offset) > budget) {
      while (hi - lo > 1) {
        size_t mid = Utf8FloorBoundary(text_, lo + (hi - lo) / 2);
        if (mid <= lo) mid = NextBoundary(lo);
        if (mid >= hi) break;
        if (Count(mid, offset) <= budget) {
          hi = mid;
        } else {
          lo = mid;
        }
      }
    } else {
      hi = lo;
    }
    if (hi == prev_start || hi == offset || text_[hi - 1] == '\n') return hi;
    const std::string_view span = text_.substr(hi, offset - hi);
    size_t nl = span.find('\n');
    if (nl != std::string_view::npos && hi + nl + 1 < offset) return hi + nl + 1;
    if (text_[hi - 1] == ' ') return hi;
    size_t sp = span.find(' ');
    if (sp != std::string_view::npos && hi + sp + 1 < offset) return hi + sp + 1;
    return offset;
  }

  // Returns the end of the page that starts at `start`, and its exact token count.
  size_t Cut(size_t start, size_t* tokens) {
    BuildCoarseSegments(start);
    const size_t one_char = NextBoundary(start);
    size_t budget = limit_;
    while (true) {
      size_t cut = budget == 0 ? start : Choose(start, FitEnd(start, budget));
      if (cut <= start) cut = one_char;  // Nothing fits: a lone oversized character.
      *tokens = Count(start, cut);
      if (*tokens <= limit_ || cut == one_char) {
        AdvanceFence(start, cut);
        return cut;
      }
      const size_t overshoot = *tokens - limit_;
      budget = budget > overshoot ? budget - overshoot : 0;
    }
  }

 private:
  size_t Count(size_t begin, size_t end) const {
    return tokenizer_.Count(text_.substr(begin, end - begin));
  }

  // The first character boundary after `p`.
  size_t NextBoundary(size_t p) const {
    return Utf8CeilBoundary(text_, p + 1);
  }

  // True if the pre-tokenisation splits at `b` whatever surrounds it, so counts of the text
  // before and after `b` add up: before a single space that starts a word, at the start of a
  // line that does not begin with whitespace, where a letter or digit run meets punctuation,
  // and where letters meet digits.
  bool IsSplitPoint(size_t b) const {
    if (b == 0 || b >= text_.size()) return true;
    const char prev = text_[b - 1];
    const char cur = text_[b];
    if (prev == '\n') return !IsBlank(cur);
    if (cur == ' ') return !IsBlank(prev) && b + 1 < text_.size() && !IsBlank(text_[b + 1]);
    if (IsAlpha(prev)) return IsDigit(cur) || IsPunct(cur);
    if (IsDigit(prev)) return IsAlpha(cur) || IsPunct(cur);
    return false;
  }

  // End of a segment that starts at `pos`: the first split point between `min_len` and
  // `max_len` bytes on, else a forced character boundary near `max_len`.
  size_t SegmentEnd(size_t pos, size_t min_len, size_t max_len) const {
    const size_t n = text_.size();
    if (n - pos <= min_len) return n;
    const size_t limit = std::min(n, pos + max_len);
    for (size_t b = pos + min_len; b < limit; ++b) {
      if (IsSplitPoint(b)) return b;
    }
    if (limit == n) return n;
    const size_t floor = Utf8FloorBoundary(text_, limit);
    return floor > pos ? floor : NextBoundary(pos);
  }

  // Counts coarse segments from `start` until the page limit is passed or the text ends.
  void BuildCoarseSegments(size_t start) {
    segments_.clear();
    size_t pos = start;
    size_t cum = 0;
    while (pos < text_.size() && cum <= limit_) {
      const size_t end = SegmentEnd(pos, coarse_bytes_, 2 * coarse_bytes_);
      cum += Count(pos, end);
      segments_.push_back({end, cum});
      pos = end;
    }
  }

  // The furthest character boundary the page can reach within `budget` estimated tokens.
  size_t FitEnd(size_t start, size_t budget) const {
    size_t pos = start;
    size_t cum = 0;
    size_t overflow_end = text_.size();
    for (const Segment& s : segments_) {
      if (s.cum_tokens > budget) {
        overflow_end = s.end;
        break;
      }
      pos = s.end;
      cum = s.cum_tokens;
    }
    if (pos == text_.size()) return pos;
    // Refine inside the overflowing segment, word by word, then character by character.
    while (pos < overflow_end) {
      const size_t end = std::min(SegmentEnd(pos, 1, kMaxFineBytes), overflow_end);
      const size_t count = Count(pos, end);
      if (cum + count > budget) return LastFitting(pos, end, budget - cum);
      cum += count;
      pos = end;
    }
    return pos;
  }

  // Binary search for the furthest boundary x in [begin, end) with Count(begin, x) <= room.
  size_t LastFitting(size_t begin, size_t end, size_t room) const {
    size_t lo = begin;  // Always fits.
    size_t hi = end;    // Known not to fit.
    while (hi - lo > 1) {
      size_t mid = Utf8FloorBoundary(text_, lo + (hi - lo) / 2);
      if (mid <= lo) mid = NextBoundary(lo);
      if (mid >= hi) break;
      if (Count(begin, mid) <= room) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  // Picks the cut in (start, fit_end]: the furthest point of the best rank found in the back
  // half of the window, else `fit_end` itself.
  size_t Choose(size_t start, size_t fit_end) const {
    if (fit_end >= text_.size()) return text_.size();
    if (kind_ == ContentKind::kPython) {
      const size_t cut = ChoosePython(start, fit_end);
      if (cut != 0) return cut;
    }
    size_t best[kNumRanks] = {};
    bool in_fence = in_fence_;
    const bool at_line_start = start == 0 || text_[start - 1] == '\n';
    bool line_blank = at_line_start;
    bool closing_fence_line = false;
    if (at_line_start && FenceAt(text_, start)) {
      closing_fence_line = in_fence;
      in_fence = !in_fence;
    }
    for (size_t p = start; p < fit_end; ++p) {
      const char c = text_[p];
      const size_t q = p + 1;
      if (c == '\n') {
        int rank = line_blank ? kBlankLine : kLineEnd;
        if (closing_fence_line) rank = std::max<int>(rank, kFenceBoundary);
        line_blank = true;
        closing_fence_line = false;
        if (FenceAt(text_, q)) {
          if (!in_fence) rank = std::max<int>(rank, kFenceBoundary);  // Before an opening fence.
          closing_fence_line = in_fence;
          in_fence = !in_fence;
        } else if (kind_ == ContentKind::kMarkdown && !in_fence && HeadingAt(text_, q)) {
          rank = kHeading;
        }
        best[rank] = q;
      } else if (c == ' ' || c == '\t') {
        const bool sentence = c == ' ' && p > start &&
                              (text_[p - 1] == '.' || text_[p - 1] == '?' || text_[p - 1] == '!');
        best[sentence ? kSentenceEnd : kSpace] = q;
      } else if (c != '\r' && c != '\f' && c != '\v') {
        line_blank = false;
      }
    }
    const size_t mid = start + (fit_end - start) / 2;
    const size_t quarter = start + (fit_end - start) / 4;
    size_t furthest = 0;
    for (int rank = kHeading; rank > kAnyChar; --rank) {
      furthest = std::max(furthest, best[rank]);
      if (furthest > (rank == kHeading ? quarter : mid)) return furthest;
    }
    return fit_end;
  }

  // The best Python cut in (start, fit_end], or 0 to fall back to the prose ranks (spaces,
  // any character) when no line end qualifies. A def/class boundary is taken once the page
  // holds a fifth of its budget; other ranks only in the back half, as for prose.
  size_t ChoosePython(size_t start, size_t fit_end) const {
    size_t best[kPyNumRanks] = {};
    PyState st = py_state_;
    bool prev_decorator = LineStartsWith(start, '@');
    ScanPython(text_, start, fit_end, &st, [&](size_t q, bool boundary, bool blank) {
      int rank = kPyLineEnd;
      const bool decorator = LineStartsWith(q, '@');
      if (boundary) {
        rank = blank ? kPyBlankStatement : kPyStatement;
        if (!prev_decorator && DefAt(q)) rank = IndentAt(q) == 0 ? kPyTopDef : kPyNestedDef;
      }
      prev_decorator = decorator;
      best[rank] = q;
    });
    const size_t mid = start + (fit_end - start) / 2;
    const size_t fifth = start + (fit_end - start) / 5;
    size_t furthest = 0;
    for (int rank = kPyTopDef; rank >= kPyLineEnd; --rank) {
      furthest = std::max(furthest, best[rank]);
      if (furthest > (rank >= kPyNestedDef ? fifth : mid)) return furthest;
    }
    return 0;
  }

  size_t IndentAt(size_t q) const {
    size_t i = q;
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t')) ++i;
    return i - q;
  }

  bool LineStartsWith(size_t q, char c) const {
    const size_t i = q + IndentAt(q);
    return i < text_.size() && text_[i] == c;
  }

  // A def, class or decorator line starts at `q`.
  bool DefAt(size_t q) const {
    const std::string_view rest = text_.substr(q + IndentAt(q), 10);
    return rest.substr(0, 4) == "def " || rest.substr(0, 6) == "class " ||
           rest.substr(0, 10) == "async def " || rest.substr(0, 1) == "@";
  }

  // Keeps track of whether the next page starts inside a fenced code block (or, for Python,
  // inside brackets or a string).
  void AdvanceFence(size_t start, size_t cut) {
    if (kind_ == ContentKind::kPython) {
      ScanPython(text_, start, cut, &py_state_, [](size_t, bool, bool) {});
    }
    const std::string_view page = text_.substr(0, cut);  // Never search past the page.
    size_t p = start;
    if (p != 0 && text_[p - 1] != '\n') {
      p = page.find('\n', p);
      p = p == std::string_view::npos ? cut : p + 1;
    }
    while (p < cut) {
      if (FenceAt(text_, p)) in_fence_ = !in_fence_;
      const size_t nl = page.find('\n', p);
      if (nl == std::string_view::npos) break;
      p = nl + 1;
    }
  }

  const Tokenizer& tokenizer_;
  std::string_view text_;
  size_t limit_;
  size_t coarse_bytes_;
  ContentKind kind_;
  bool in_fence_ = false;
  PyState py_state_;
  std::vector<Segment> segments_;
};

}  // namespace

Chunker::Chunker(const Tokenizer* tokenizer, ChunkerOptions options)
    : tokenizer_(tokenizer), options_(options) {
  if (options_.page_tokens == 0) options_.page_tokens = 1;
}

void Chunker::Split(std::string_view text, const std::function<bool(const Chunk&)>& emit) const {
  Split(text, options_.kind, emit);
}

void Chunker::Split(std::string_view text, ContentKind kind,
                    const std::function<bool(const Chunk&)>& emit) const {
  if (kind == ContentKind::kAuto) kind = DetectContentKind("", text);
  const size_t limit = kind == ContentKind::kPython
                           ? std::max<size_t>(1, std::min(options_.page_tokens,
                                                          options_.code_page_tokens))
                           : options_.page_tokens;
  PageCutter cutter(*tokenizer_, text, limit, kind);
  size_t start = 0;
  size_t prev_start = 0;
  while (start < text.size()) {
    Chunk chunk;
    chunk.offset = start;
    chunk.overlap_offset = start;
    if (options_.overlap_tokens > 0 && start > 0) {
      chunk.overlap_offset = cutter.OverlapStart(prev_start, start, options_.overlap_tokens);
    }
    const size_t end = cutter.Cut(start, &chunk.tokens);
    chunk.length = end - start;
    if (!emit(chunk)) return;
    prev_start = start;
    start = end;
  }
}

std::vector<Chunk> Chunker::Split(std::string_view text) const {
  std::vector<Chunk> pages;
  Split(text, [&pages](const Chunk& chunk) {
    pages.push_back(chunk);
    return true;
  });
  return pages;
}

}  // namespace vmllm
