// Exact byte-pair encoding over tiktoken rank files.
//
// Ranks live in one byte arena indexed by an open-addressing hash table (no per-token heap
// objects). Each pre-tokenised piece is encoded as tiktoken does: a piece that is itself a
// token is one token; otherwise adjacent parts are merged, lowest rank first (leftmost on
// ties), until no adjacent pair is a token. Pieces up to kSmallPiece bytes merge in stack
// arrays with tiktoken's own quadratic scan; longer pieces (long runs of one character) use a
// heap over a linked list, which makes the same choices in O(n log n).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <queue>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/bpe_pretokenizer.h"
#include "vmllm/tokenizer.h"

namespace vmllm {
namespace {

constexpr uint32_t kNoRank = std::numeric_limits<uint32_t>::max();
constexpr size_t kSmallPiece = 128;

struct EncodingInfo {
  const char* name;
  bpe::Pattern pattern;
  const char* cache_file;  // SHA-1 of the download URL: tiktoken's cache file name.
  size_t ranks;            // Number of mergeable ranks in the official file.
};

constexpr EncodingInfo kEncodings[] = {
    {"cl100k_base", bpe::Pattern::kCl100k, "9b5ad71b2ce5302211f9c61530b329a4922fc6a4", 100256},
    {"o200k_base", bpe::Pattern::kO200k, "fb374d419588a4632f3f557e76b4b70aebbca790", 199998},
};

const EncodingInfo* FindEncoding(std::string_view name) {
  for (const EncodingInfo& e : kEncodings) {
    if (name == e.name) return &e;
  }
  return nullptr;
}

inline uint64_t HashBytes(const uint8_t* p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
  return h ^ (h >> 32);
}

// Token bytes -> rank.
class RankTable {
 public:
  void Add(std::string_view bytes, uint32_t rank) {
    entries_.push_back({static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(bytes.size()),
                        rank});
    arena_.append(bytes);
  }

  // Builds the index; returns false if a token appears twice.
  bool Finish() {
    size_t cap = 16;
    while (cap < entries_.size() * 2) cap <<= 1;
    mask_ = cap - 1;
    slots_.assign(cap, 0);
    for (uint32_t e = 0; e < entries_.size(); ++e) {
      const std::string_view key(arena_.data() + entries_[e].offset, entries_[e].length);
      if (Find(reinterpret_cast<const uint8_t*>(key.data()), key.size()) != kNoRank) return false;
      size_t s = HashBytes(reinterpret_cast<const uint8_t*>(key.data()), key.size()) & mask_;
      while (slots_[s] != 0) s = (s + 1) & mask_;
      slots_[s] = e + 1;
      if (key.size() == 1) byte_rank_[static_cast<uint8_t>(key[0])] = entries_[e].rank;
    }
    return true;
  }

  uint32_t Find(const uint8_t* p, size_t n) const {
    size_t s = HashBytes(p, n) & mask_;
    while (uint32_t e = slots_[s]) {
      const Entry& entry = entries_[e - 1];
      if (entry.length == n && std::memcmp(arena_.data() + entry.offset, p, n) == 0) {
        return entry.rank;
      }
      s = (s + 1) & mask_;
    }
    return kNoRank;
  }

  uint32_t ByteRank(uint8_t b) const { return byte_rank_[b]; }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint32_t offset;
    uint32_t length;
    uint32_t rank;
  };
  std::string arena_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> slots_;
  size_t mask_ = 0;
  uint32_t byte_rank_[256] = {};
};

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool DecodeBase64(std::string_view in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = Base64Value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return !out->empty();
}

class BpeTokenizerImpl : public BpeTokenizer {
 public:
  BpeTokenizerImpl(const EncodingInfo& info, RankTable ranks)
      : info_(info), ranks_(std::move(ranks)) {}

  std::string Name() const override { return info_.name; }

  size_t Count(std::string_view text) const override {
    size_t count = 0;
    ForEachPiece(text, [&](const uint8_t* p, size_t n) {
      if (n == 1 || ranks_.Find(p, n) != kNoRank) {
        ++count;
      } else {
        count += Merge(p, n, nullptr);
      }
    });
    return count;
  }

  std::vector<uint32_t> Encode(std::string_view text) const override {
    std::vector<uint32_t> out;
    out.reserve(text.size() / 3 + 1);
    ForEachPiece(text, [&](const uint8_t* p, size_t n) {
      if (n == 1) {
        out.push_back(ranks_.ByteRank(*p));
        return;
      }
      const uint32_t whole = ranks_.Find(p, n);
      if (whole != kNoRank) {
        out.push_back(whole);
      } else {
        Merge(p, n, &out);
      }
    });
    return out;
  }

 private:
  template <typename F>
  void ForEachPiece(std::string_view text, F&& f) const {
    const auto* base = reinterpret_cast<const uint8_t*>(text.data());
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t end = bpe::NextPieceEnd(info_.pattern, text, pos);
      f(base + pos, end - pos);
      pos = end;
    }
  }

  uint32_t RankOf(const uint8_t* p, size_t begin, size_t end) const {
    return end - begin == 1 ? ranks_.ByteRank(p[begin]) : ranks_.Find(p + begin, end - begin);
  }

  // BPE-merges a piece of `n` >= 2 bytes; appends the ids to `out` when given; returns the
  // number of tokens.
  size_t Merge(const uint8_t* p, size_t n, std::vector<uint32_t>* out) const {
    if (n > kSmallPiece) return MergeLarge(p, n, out);
    // parts[i] = start of part i, rank[i] = rank of parts i and i+1 merged (tiktoken's layout).
    uint32_t start[kSmallPiece + 1];
    uint32_t rank[kSmallPiece + 1];
    size_t parts = n + 1;
    for (size_t i = 0; i <= n; ++i) start[i] = static_cast<uint32_t>(i);
    for (size_t i = 0; i + 2 <= n; ++i) rank[i] = RankOf(p, i, i + 2);
    rank[n - 1] = kNoRank;
    rank[n] = kNoRank;
    auto rank_at = [&](size_t i) {
      return i + 3 < parts ? RankOf(p, start[i], start[i + 3]) : kNoRank;
    };
    while (true) {
      uint32_t min_rank = kNoRank;
      size_t min_i = 0;
      for (size_t i = 0; i + 1 < parts; ++i) {
        if (rank[i] < min_rank) {
          min_rank = rank[i];
          min_i = i;
        }
      }
      if (min_rank == kNoRank) break;
      if (min_i > 0) rank[min_i - 1] = rank_at(min_i - 1);
      rank[min_i] = rank_at(min_i);
      std::memmove(start + min_i + 1, start + min_i + 2, (parts - min_i - 2) * sizeof(uint32_t));
      std::memmove(rank + min_i + 1, rank + min_i + 2, (parts - min_i - 2) * sizeof(uint32_t));
      --parts;
    }
    if (out != nullptr) {
      for (size_t i = 0; i + 1 < parts; ++i) out->push_back(RankOf(p, start[i], start[i + 1]));
    }
    return parts - 1;
  }

  // Same merges for long pieces: a min-heap of (rank, start) with lazily dropped stale entries;
  // `start` orders ties leftmost first, as the linear scan does.
  size_t MergeLarge(const uint8_t* p, size_t n, std::vector<uint32_t>* out) const {
    // Parts are a linked list over byte offsets; next[i] is the start of the part after i.
    std::vector<uint32_t> next(n + 1), prev(n + 1), rank(n + 1, kNoRank);
    std::vector<bool> alive(n + 1, true);
    for (size_t i = 0; i <= n; ++i) {
      next[i] = static_cast<uint32_t>(i + 1);
      prev[i] = static_cast<uint32_t>(i == 0 ? 0 : i - 1);
    }
    using Item = std::pair<uint32_t, uint32_t>;  // (rank, start)
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap;
    // Rank of merging the part at `i` with its successor.
    auto pair_rank = [&](uint32_t i) -> uint32_t {
      if (i >= n) return kNoRank;
      const uint32_t j = next[i];
      if (j >= n) return kNoRank;
      return RankOf(p, i, next[j]);
    };
    for (uint32_t i = 0; i + 1 < n; ++i) {
      rank[i] = RankOf(p, i, i + 2);
      if (rank[i] != kNoRank) heap.push({rank[i], i});
    }
    size_t parts = n;
    while (!heap.empty()) {
      const auto [r, i] = heap.top();
      heap.pop();
      if (!alive[i] || rank[i] != r) continue;
      const uint32_t j = next[i];  // Merged into i.
      alive[j] = false;
      next[i] = next[j];
      if (next[j] <= n) prev[next[j]] = i;
      --parts;
      rank[i] = pair_rank(i);
      if (rank[i] != kNoRank) heap.push({rank[i], i});
      if (i > 0) {
        const uint32_t h = prev[i];
        rank[h] = pair_rank(h);
        if (rank[h] != kNoRank) heap.push({rank[h], h});
      }
    }
    if (out != nullptr) {
      for (uint32_t i = 0; i < n; i = next[i]) out->push_back(RankOf(p, i, next[i]));
    }
    return parts;
  }

  const EncodingInfo& info_;
  RankTable ranks_;
};

}  // namespace

bool IsBpeEncodingName(std::string_view name) { return FindEncoding(name) != nullptr; }

Result<std::unique_ptr<BpeTokenizer>> NewBpeTokenizer(std::string_view name,
                                                      const std::string& rank_file_path) {
  const EncodingInfo* info = FindEncoding(name);
  if (info == nullptr) {
    return Status::InvalidArgument("unknown BPE encoding '" + std::string(name) +
                                   "' (known: cl100k_base, o200k_base)");
  }
  std::ifstream in(rank_file_path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read BPE rank file " + rank_file_path);
  RankTable ranks;
  std::string line;
  std::string token;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    char* end = nullptr;
    const unsigned long rank =
        space == std::string::npos ? 0 : std::strtoul(line.c_str() + space + 1, &end, 10);
    if (space == std::string::npos || end == line.c_str() + space + 1 || *end != '\0' ||
        rank >= kNoRank || !DecodeBase64(std::string_view(line).substr(0, space), &token)) {
      return Status::InvalidArgument(rank_file_path + ":" + std::to_string(line_no) +
                                     ": not a tiktoken rank line (\"<base64> <rank>\")");
    }
    ranks.Add(token, static_cast<uint32_t>(rank));
  }
  if (ranks.size() != info->ranks) {
    return Status::InvalidArgument(rank_file_path + " has " + std::to_string(ranks.size()) +
                                   " ranks; " + info->name + " has " +
                                   std::to_string(info->ranks) + " (wrong or truncated file?)");
  }
  if (!ranks.Finish()) {
    return Status::InvalidArgument(rank_file_path + " lists a token twice");
  }
  for (int b = 0; b < 256; ++b) {
    const uint8_t byte = static_cast<uint8_t>(b);
    if (ranks.Find(&byte, 1) == kNoRank) {
      return Status::InvalidArgument(rank_file_path + " lacks a token for byte " +
                                     std::to_string(b));
    }
  }
  return std::unique_ptr<BpeTokenizer>(new BpeTokenizerImpl(*info, std::move(ranks)));
}

Result<std::string> FindBpeRankFile(std::string_view name,
                                    const std::vector<std::string>& extra_dirs) {
  const EncodingInfo* info = FindEncoding(name);
  if (info == nullptr) {
    return Status::InvalidArgument("unknown BPE encoding '" + std::string(name) + "'");
  }
  std::vector<std::string> dirs;
  for (const char* var : {"VMLLM_TOKENIZER_DIR", "TIKTOKEN_CACHE_DIR"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0') dirs.emplace_back(v);
  }
  dirs.insert(dirs.end(), extra_dirs.begin(), extra_dirs.end());
  std::string searched;
  for (const std::string& dir : dirs) {
    for (const std::string& file : {std::string(info->name) + ".tiktoken",
                                    std::string(info->cache_file)}) {
      const std::string path = dir + "/" + file;
      if (std::ifstream(path).good()) return path;
    }
    searched += (searched.empty() ? "" : ", ") + dir;
  }
  return Status::NotFound(std::string("no rank file for ") + info->name + " (looked in: " +
                          (searched.empty() ? "nothing; set VMLLM_TOKENIZER_DIR" : searched) +
                          ")");
}

}  // namespace vmllm
