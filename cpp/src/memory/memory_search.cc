// Recall and archival search: BM25 keyword hits from the store and brute-force cosine over
// the embeddings (mirrored in memory, caught up from the store before each search), fused by
// reciprocal rank and cut into pages.
#include <algorithm>
#include <utility>

#include "memory/conversation_memory_impl.h"
#include "util/rank_fusion.h"
#include "vmllm/utf8.h"

namespace vmllm {
namespace {

constexpr size_t kCandidates = 100;  // Per ranking list before fusion; results are paginated.

// The document search's setting: measured on LoCoMo, it serves conversations as well
// (util/rank_fusion.h, BENCHMARKS.md).
std::vector<int64_t> Fuse(const Embedder& embedder, std::vector<int64_t> keyword,
                          std::vector<int64_t> vectors) {
  const HybridFusion setting = HybridFusionFor(IsHashingEmbedder(embedder));
  std::vector<int64_t> out;
  for (const FusedKey& f : FuseHybrid(std::move(keyword), std::move(vectors), setting)) {
    out.push_back(f.key);
  }
  return out;
}

}  // namespace

Result<std::vector<int64_t>> ConversationMemoryImpl::VectorSearchLocked(
    RecallTable table, VectorCache* cache, std::string_view query, size_t limit,
    std::optional<double> start, std::optional<double> end) {
  const size_t dim = options_.embedder->Dimension();
  VMLLM_RETURN_IF_ERROR(store_->ForEachEmbedding(
      table, options_.agent_id, cache->last_id, dim,
      [&](int64_t id, double created, const float* v) {
        cache->ids.push_back(id);
        cache->created.push_back(created);
        cache->data.insert(cache->data.end(), v, v + dim);
        cache->last_id = id;
      }));
  std::vector<float> q = options_.embedder->Embed(query);
  std::vector<std::pair<double, int64_t>> scored;
  for (size_t i = 0; i < cache->ids.size(); ++i) {
    if ((start && cache->created[i] < *start) || (end && cache->created[i] > *end)) continue;
    const float* v = &cache->data[i * dim];
    double dot = 0;
    for (size_t d = 0; d < dim; ++d) dot += static_cast<double>(q[d]) * v[d];
    if (dot > 0) scored.emplace_back(dot, cache->ids[i]);
  }
  size_t n = std::min(limit, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + n, scored.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second > b.second;
                    });
  std::vector<int64_t> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back(scored[i].second);
  return ids;
}

Result<MemorySearchPage> ConversationMemoryImpl::PageOfLocked(RecallTable table,
                                                              const std::vector<int64_t>& ranked,
                                                              size_t page) {
  MemorySearchPage out;
  const size_t size = options_.page_size;
  out.page = page;
  out.total = ranked.size();
  out.total_pages = (ranked.size() + size - 1) / size;
  if (page * size >= ranked.size()) return out;
  std::vector<int64_t> slice(ranked.begin() + page * size,
                             ranked.begin() + std::min(ranked.size(), (page + 1) * size));
  auto hits = store_->Fetch(table, slice);
  if (!hits.ok()) return hits.status();
  out.hits = std::move(hits).value();
  return out;
}

Result<MemorySearchPage> ConversationMemoryImpl::SearchRecall(const RecallQuery& query) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return SearchRecallLocked(query);
}

Result<MemorySearchPage> ConversationMemoryImpl::SearchRecallLocked(const RecallQuery& q) {
  if (q.start && q.end && *q.start > *q.end) {
    return Status::InvalidArgument("the start of the date range is after its end");
  }
  std::vector<int64_t> ranked;
  if (q.text.find_first_not_of(" \t\r\n") == std::string::npos) {
    auto ids = store_->MessagesInRange(options_.agent_id, q.start, q.end, 1000000);
    if (!ids.ok()) return ids.status();
    ranked = std::move(ids).value();
  } else {
    std::vector<int64_t> keyword, vectors;
    if (q.mode != RecallMode::kVector) {
      auto kw = store_->KeywordSearch(RecallTable::kMessages, options_.agent_id, q.text,
                                      kCandidates, q.start, q.end);
      if (!kw.ok()) return kw.status();
      keyword = std::move(kw).value();
    }
    if (q.mode != RecallMode::kKeyword) {
      auto vec = VectorSearchLocked(RecallTable::kMessages, &recall_vectors_, q.text, kCandidates,
                                    q.start, q.end);
      if (!vec.ok()) return vec.status();
      vectors = std::move(vec).value();
    }
    switch (q.mode) {
      case RecallMode::kKeyword: ranked = std::move(keyword); break;
      case RecallMode::kVector: ranked = std::move(vectors); break;
      case RecallMode::kHybrid:
        ranked = Fuse(*options_.embedder, std::move(keyword), std::move(vectors));
        break;
    }
  }
  return PageOfLocked(RecallTable::kMessages, ranked, q.page);
}

Result<int64_t> ConversationMemoryImpl::ArchivalInsert(std::string_view text) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return ArchivalInsertLocked(text);
}

Result<int64_t> ConversationMemoryImpl::ArchivalInsertLocked(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status::InvalidArgument("an archival passage needs some text");
  }
  if (!IsValidUtf8(text)) return Status::InvalidArgument("the passage is not valid UTF-8");
  std::vector<float> embedding = options_.embedder->Embed(text);
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  auto id = store_->InsertPassage(options_.agent_id, text, options_.clock->Now(), embedding);
  Status s = id.ok() ? store_->Commit() : id.status();
  if (!s.ok()) {
    store_->Rollback();
    return s;
  }
  return id;
}

Result<MemorySearchPage> ConversationMemoryImpl::ArchivalSearch(std::string_view query,
                                                                size_t page) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return ArchivalSearchLocked(query, page);
}

Result<MemorySearchPage> ConversationMemoryImpl::ArchivalSearchLocked(std::string_view query,
                                                                      size_t page) {
  auto kw = store_->KeywordSearch(RecallTable::kPassages, options_.agent_id, query, kCandidates,
                                  std::nullopt, std::nullopt);
  if (!kw.ok()) return kw.status();
  auto vec = VectorSearchLocked(RecallTable::kPassages, &archival_vectors_, query, kCandidates,
                                std::nullopt, std::nullopt);
  if (!vec.ok()) return vec.status();
  return PageOfLocked(RecallTable::kPassages,
                      Fuse(*options_.embedder, std::move(kw).value(), std::move(vec).value()),
                      page);
}


}  // namespace vmllm
