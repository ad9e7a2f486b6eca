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
#include "vmllm/chunker.h"

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

#include "vmllm/utf8.h"

namespace vmllm {
namespace {

// Cut point quality, worst to best.
enum Rank { kAnyChar, kSpace, kSentenceEnd, kLineEnd, kFenceBoundary, kBlankLine, kNumRanks };

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
  PageCutter(const Tokenizer& tokenizer, std::string_view text, size_t page_tokens)
      : tokenizer_(tokenizer),
        text_(text),
        limit_(page_tokens),
        coarse_bytes_(std::clamp<size_t>(page_tokens / 4, 16, 1024)) {}

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
    size_t q = p + 1;
    while (q < text_.size() && Utf8FloorBoundary(text_, q) != q) ++q;
    return q;
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
    size_t furthest = 0;
    for (int rank = kBlankLine; rank > kAnyChar; --rank) {
      furthest = std::max(furthest, best[rank]);
      if (furthest > mid) return furthest;
    }
    return fit_end;
  }

  // Keeps track of whether the next page starts inside a fenced code block.
  void AdvanceFence(size_t start, size_t cut) {
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
  bool in_fence_ = false;
  std::vector<Segment> segments_;
};

}  // namespace

Chunker::Chunker(const Tokenizer* tokenizer, ChunkerOptions options)
    : tokenizer_(tokenizer), options_(options) {
  if (options_.page_tokens == 0) options_.page_tokens = 1;
}

void Chunker::Split(std::string_view text, const std::function<bool(const Chunk&)>& emit) const {
  PageCutter cutter(*tokenizer_, text, options_.page_tokens);
  size_t start = 0;
  while (start < text.size()) {
    Chunk chunk;
    chunk.offset = start;
    const size_t end = cutter.Cut(start, &chunk.tokens);
    chunk.length = end - start;
    if (!emit(chunk)) return;
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
