// ExtractiveCompressor: keeps the most informative sentences and code lines of a page.
//
// Units are sentences of prose (wrapped lines are joined) and single lines of code. A unit's
// score counts what a reader cannot guess: names (capitalised words past the first),
// numbers, identifiers (snake_case, camelCase, dotted.names, calls, CONSTANTS) and words that
// state decisions or contracts ("must", "raises"), divided by the square root of its length
// so short dense units win without one-word units taking over. The best units are kept, in
// their original order, while they fit in ratio * input bytes; repeats and units without a
// single word ("}", "---") are skipped. Ties keep the earlier unit, so output is stable.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "vmllm/compressor.h"
#include "vmllm/utf8.h"

namespace vmllm {
namespace {

constexpr std::string_view kDecisionWords[] = {
    "must",   "should",   "shall",     "decided", "decision", "returns",   "raises",
    "never",  "always",   "requires",  "required", "warning",  "important", "note",
    "todo",   "fixme",    "deprecated", "because", "instead",  "error"};

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsWordChar(char c) { return IsAlpha(c) || IsDigit(c) || c == '_'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'; }

// Units like "}" or '"""' carry nothing worth a summary's bytes.
bool HasWord(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return IsAlpha(c) || IsDigit(c); });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

struct Unit {
  size_t begin;
  size_t end;
  bool line;  // Ends at a line break (code, list item, heading): joined with '\n'.
  double score = 0.0;
};

size_t Indent(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i;
}

// A wrapped prose line continues on the next one: same indentation, no code punctuation,
// ends inside a sentence and the next line starts with a word. Code lines, list items and
// headings stand alone.
bool ContinuesOnNextLine(std::string_view line, std::string_view next) {
  const std::string_view a = Trim(line);
  const std::string_view b = Trim(next);
  if (a.empty() || b.empty() || Indent(line) != Indent(next)) return false;
  if (a.find_first_of("=;{}") != std::string_view::npos) return false;
  const char last = a.back();
  return (IsAlpha(last) || IsDigit(last) || last == ',') && (IsAlpha(b[0]) || IsDigit(b[0]));
}

// Splits `text` into trimmed, non-empty units.
std::vector<Unit> SplitUnits(std::string_view text) {
  std::vector<Unit> units;
  size_t begin = 0;
  auto emit = [&](size_t end, bool line) {
    const std::string_view s = text.substr(begin, end - begin);
    const std::string_view t = Trim(s);
    if (!t.empty()) {
      const size_t b = begin + static_cast<size_t>(t.data() - s.data());
      units.push_back({b, b + t.size(), line});
    }
    begin = end;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      const size_t line_start = text.rfind('\n', i == 0 ? 0 : i - 1);
      const size_t from = line_start == std::string_view::npos || i == 0 ? 0 : line_start + 1;
      const size_t next_end = std::min(text.find('\n', i + 1), text.size());
      if (!ContinuesOnNextLine(text.substr(from, i - from),
                               text.substr(i + 1, next_end - (i + 1)))) {
        emit(i + 1, true);
      }
    } else if ((c == '.' || c == '?' || c == '!') && i + 1 < text.size() && IsSpace(text[i + 1])) {
      emit(i + 1, text[i + 1] == '\n' || text[i + 1] == '\r');
    }
  }
  emit(text.size(), true);
  return units;
}

double Score(std::string_view u) {
  double raw = 0.0;
  size_t words = 0;
  size_t i = 0;
  while (i < u.size()) {
    if (!IsWordChar(u[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    bool has_lower = false, has_upper = false, has_digit = false, camel = false;
    while (j < u.size() && IsWordChar(u[j])) {
      has_lower |= IsLower(u[j]);
      has_upper |= IsUpper(u[j]);
      has_digit |= IsDigit(u[j]);
      camel |= j > i && IsLower(u[j - 1]) && IsUpper(u[j]);
      ++j;
    }
    const std::string_view w = u.substr(i, j - i);
    ++words;
    const bool snake = w.find('_') != std::string_view::npos && w.size() > 2 && w.front() != '_';
    const bool dotted = j + 1 < u.size() && u[j] == '.' && IsWordChar(u[j + 1]);
    const bool call = j < u.size() && u[j] == '(';
    const bool constant =
        has_upper && !has_lower && w.size() >= 2 && (IsAlpha(w[0]) || w[0] == '_');
    if (has_digit && !has_lower && !has_upper) {
      raw += 1.0;  // A number.
    } else if (snake || camel || dotted || call || constant) {
      raw += 1.5;  // An identifier.
    } else if (IsUpper(w[0]) && i > 0) {
      raw += 1.0;  // A name: capitalised, not the first word.
    } else if (w.size() >= 4 && w.size() <= 10) {
      std::string lower(w);
      for (char& c : lower) c = IsUpper(c) ? static_cast<char>(c + 32) : c;
      for (std::string_view d : kDecisionWords) {
        if (lower == d) {
          raw += 2.0;
          break;
        }
      }
    }
    i = j;
  }
  return raw / std::sqrt(static_cast<double>(words) + 1.0);
}

class ExtractiveCompressor final : public Compressor {
 public:
  explicit ExtractiveCompressor(double ratio) : ratio_(std::clamp(ratio, 1e-6, 1.0)) {}

  std::string Name() const override { return "extractive-v1"; }

  std::string Compress(std::string_view text) const override {
    std::vector<Unit> units = SplitUnits(text);
    if (units.empty()) return std::string();
    for (Unit& u : units) u.score = Score(text.substr(u.begin, u.end - u.begin));
    std::vector<size_t> order(units.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(),
                     [&units](size_t a, size_t b) { return units[a].score > units[b].score; });

    const double bytes = static_cast<double>(text.size());
    const size_t budget = std::max<size_t>(1, static_cast<size_t>(ratio_ * bytes));
    std::vector<bool> keep(units.size(), false);
    std::unordered_set<std::string_view> kept;  // Repeated sentences are kept once.
    size_t used = 0;
    for (size_t k : order) {
      const std::string_view u = text.substr(units[k].begin, units[k].end - units[k].begin);
      const size_t len = u.size() + (used > 0 ? 1 : 0);
      if (used + len > budget || (used > 0 && !HasWord(u)) || !kept.insert(u).second) continue;
      keep[k] = true;
      used += len;
    }
    if (used == 0) {
      // Even the best unit is over budget: keep its head, cut at a character boundary.
      Unit& top = units[order[0]];
      const size_t cut = Utf8FloorBoundary(text, std::min(top.end, top.begin + budget));
      top.end = std::min(top.end, Utf8CeilBoundary(text, std::max(cut, top.begin + 1)));
      keep[order[0]] = true;
    }
    return Join(text, units, keep);
  }

 private:
  // Joins kept units with one separator each; prose runs of whitespace collapse to one space,
  // so the result is never longer than the input.
  static std::string Join(std::string_view text, const std::vector<Unit>& units,
                          const std::vector<bool>& keep) {
    std::string out;
    bool prev_line = false;
    for (size_t k = 0; k < units.size(); ++k) {
      if (!keep[k]) continue;
      if (!out.empty()) out.push_back(prev_line ? '\n' : ' ');
      const std::string_view u = text.substr(units[k].begin, units[k].end - units[k].begin);
      for (size_t i = 0; i < u.size(); ++i) {
        if (u[i] == '\n' || (u[i] == '\r' && i + 1 < u.size() && u[i + 1] == '\n')) {
          // A joined wrapped line: drop the break and the next line's indent.
          while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
          out.push_back(' ');
          while (i + 1 < u.size() && IsSpace(u[i + 1])) ++i;
        } else {
          out.push_back(u[i]);
        }
      }
      prev_line = units[k].line;
    }
    return out;
  }

  double ratio_;
};

}  // namespace

std::unique_ptr<Compressor> NewExtractiveCompressor(double ratio) {
  return std::make_unique<ExtractiveCompressor>(ratio);
}

}  // namespace vmllm
