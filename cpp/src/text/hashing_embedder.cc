// HashingEmbedder: a model-free vector space built from hashed lexical features.
//
// Features of a text: each identifier-like word (lowercased, 2+ characters, stopwords
// dropped), the parts of compound words (snake_case, camelCase, letter/digit changes), and
// pairs of adjacent words. Each feature is hashed with 64-bit FNV-1a plus a mixer; the hash
// picks a bucket and a sign, and the feature adds its sublinear term frequency there. Signed
// buckets keep collisions from adding up to a bias. Hashing is integer arithmetic and the
// float sums run in hash order, so vectors do not depend on platform, thread or word order
// (beyond libm's last-bit rounding of log).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/hash.h"
#include "vmllm/embedder.h"

namespace vmllm {
namespace {

// A sub-word hashes like the same word standing alone, so "parse_config" meets "config";
// pairs live in their own hash space. Parts and pairs weigh half a word.
enum Kind : uint8_t { kTerm = 1, kPair = 2 };
constexpr float kWordWeight = 1.0f;
constexpr float kPartWeight = 0.5f;
constexpr float kPairWeight = 0.5f;

struct Feature {
  uint64_t hash;
  float weight;
};

// Words that carry no topic in English prose or Python code.
constexpr std::string_view kStopwords[] = {
    "a",     "about", "after", "all",    "also",  "an",     "and",    "any",   "are",
    "as",    "at",    "be",    "been",   "but",   "by",     "can",    "class", "def",
    "do",    "does",  "elif",  "else",   "for",   "from",   "has",    "have",  "he",
    "her",   "his",   "if",    "import", "in",    "into",   "is",     "it",    "its",
    "may",   "more",  "no",    "none",   "not",   "of",     "on",     "one",   "or",
    "other", "pass",  "self",  "she",    "so",    "such",   "than",   "that",  "the",
    "their", "them",  "then",  "there",  "these", "they",   "this",   "those", "to",
    "true",  "false", "try",   "was",    "we",    "were",   "what",   "when",  "which",
    "while", "who",   "will",  "with",   "would", "you",    "your",   "return"};

bool IsStopword(std::string_view w) {
  for (std::string_view s : kStopwords) {
    if (s == w) return true;
  }
  return false;
}

uint64_t Hash(Kind kind, std::string_view a, std::string_view b = {}) {
  const char kind_byte = static_cast<char>(kind);
  uint64_t h = Fnv1a64(a, Fnv1a64(std::string_view(&kind_byte, 1)));
  if (!b.empty()) {
    h = Fnv1a64(b, Fnv1a64(std::string_view("\0", 1), h));  // ("ab","c") and ("a","bc") differ.
  }
  // FNV's low bits are weak for modulo bucketing; finish with splitmix64's mixer.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

bool IsAsciiAlnum(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Non-ASCII bytes belong to words unless they start common punctuation: Latin-1 symbols
// (C2 A0..BF), General Punctuation (E2 80..81) and CJK punctuation (E3 80).
size_t NonAsciiPunctLength(std::string_view t, size_t i) {
  const auto b0 = static_cast<uint8_t>(t[i]);
  const auto b1 = i + 1 < t.size() ? static_cast<uint8_t>(t[i + 1]) : 0;
  if (b0 == 0xC2 && b1 >= 0xA0 && b1 <= 0xBF) return 2;
  if ((b0 == 0xE2 && (b1 == 0x80 || b1 == 0x81)) || (b0 == 0xE3 && b1 == 0x80)) return 3;
  return 0;
}

class HashingEmbedder final : public Embedder {
 public:
  explicit HashingEmbedder(size_t dimension) : dimension_(std::max<size_t>(dimension, 16)) {}

  std::string Name() const override { return "hashing-" + std::to_string(dimension_) + "-v1"; }
  size_t Dimension() const override { return dimension_; }

  void Embed(std::string_view text, float* out) const override {
    std::vector<Feature> features;
    std::string prev;  // Last kept word, for pairs.
    std::string word;
    size_t i = 0;
    while (i < text.size()) {
      const auto c = static_cast<uint8_t>(text[i]);
      const bool word_char =
          IsAsciiAlnum(c) || c == '_' || (c >= 0x80 && NonAsciiPunctLength(text, i) == 0);
      if (!word_char) {
        i += c >= 0x80 ? NonAsciiPunctLength(text, i) : 1;
        continue;
      }
      size_t j = i;
      while (j < text.size()) {
        const auto d = static_cast<uint8_t>(text[j]);
        if (!(IsAsciiAlnum(d) || d == '_' || (d >= 0x80 && NonAsciiPunctLength(text, j) == 0))) {
          break;
        }
        ++j;
      }
      AddWord(text.substr(i, j - i), &word, &prev, &features);
      i = j;
    }
    Accumulate(&features, out);
  }

 private:
  // Adds the features of one raw word such as "parseHTTPHeader_v2".
  void AddWord(std::string_view raw, std::string* word, std::string* prev,
               std::vector<Feature>* features) const {
    while (!raw.empty() && raw.front() == '_') raw.remove_prefix(1);
    while (!raw.empty() && raw.back() == '_') raw.remove_suffix(1);
    word->clear();
    for (char c : raw) {
      if (c != '_') word->push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
    }
    if (word->size() < 2 || IsStopword(*word)) return;
    features->push_back({Hash(kTerm, *word), kWordWeight});
    if (!prev->empty()) features->push_back({Hash(kPair, *prev, *word), kPairWeight});
    *prev = *word;

    // Parts: cut at '_', lower->Upper, Upper->Upper+lower (HTTPHeader) and letter/digit edges.
    size_t begin = 0;
    std::string part;
    auto flush = [&](size_t end) {
      if (end > begin) {
        part.clear();
        for (size_t k = begin; k < end; ++k) {
          const char c = raw[k];
          part.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
        }
        if (part.size() >= 2 && part != *word && !IsStopword(part)) {
          features->push_back({Hash(kTerm, part), kPartWeight});
        }
      }
      begin = end;
    };
    auto kind = [](char c) {
      if (c >= 'a' && c <= 'z') return 1;
      if (c >= 'A' && c <= 'Z') return 2;
      if (c >= '0' && c <= '9') return 3;
      return 0;  // Non-ASCII bytes: never split inside a character.
    };
    for (size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] == '_') {
        flush(k);
        begin = k + 1;
        continue;
      }
      if (k == begin) continue;
      const int a = kind(raw[k - 1]);
      const int b = kind(raw[k]);
      const bool upper_then_lower = a == 2 && b == 2 && k + 1 < raw.size() && kind(raw[k + 1]) == 1;
      if ((a == 1 && b == 2) || upper_then_lower || ((a == 3) != (b == 3) && a != 0 && b != 0)) {
        flush(k);
      }
    }
    flush(raw.size());
  }

  // Turns features into the signed, tf-weighted, L2-normalised vector. The term frequency
  // of a feature is the sum of its occurrence weights; above one it grows as 1 + ln tf.
  void Accumulate(std::vector<Feature>* features, float* out) const {
    std::fill(out, out + dimension_, 0.0f);
    std::sort(features->begin(), features->end(), [](const Feature& a, const Feature& b) {
      return a.hash != b.hash ? a.hash < b.hash : a.weight < b.weight;
    });
    std::vector<double> acc(dimension_, 0.0);
    for (size_t k = 0; k < features->size();) {
      const uint64_t h = (*features)[k].hash;
      double tf = 0.0;
      for (; k < features->size() && (*features)[k].hash == h; ++k) tf += (*features)[k].weight;
      const double w = tf <= 1.0 ? tf : 1.0 + std::log(tf);
      acc[(h >> 1) % dimension_] += (h & 1) ? -w : w;
    }
    double norm = 0.0;
    for (double v : acc) norm += v * v;
    if (norm == 0.0) return;
    const double inv = 1.0 / std::sqrt(norm);
    for (size_t d = 0; d < dimension_; ++d) out[d] = static_cast<float>(acc[d] * inv);
  }

  size_t dimension_;
};

}  // namespace

bool IsHashingEmbedder(const Embedder& embedder) {
  return embedder.Name().rfind("hashing-", 0) == 0;
}

std::unique_ptr<Embedder> NewHashingEmbedder(size_t dimension) {
  return std::make_unique<HashingEmbedder>(dimension);
}

}  // namespace vmllm
