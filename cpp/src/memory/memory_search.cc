// Recall and archival search: BM25 keyword hits from the store and brute-force cosine over
// the embeddings (mirrored in memory, caught up from the store before each search), fused by
// reciprocal rank and cut into pages.
//
// Vectors are computed lazily: rows are stored without one, and each search first embeds the
// rows of its table that still lack one. So Append never waits for a remote embedder, and a
// store opens while that embedder is down (keyword search still works). The store records
// which embedder made its vectors; vectors of another embedder or size are dropped and
// recomputed from the stored text, never compared with a query of a different space.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>

#include "memory/conversation_memory_impl.h"
#include "util/rank_fusion.h"
#include "vmllm/backend_events.h"
#include "vmllm/utf8.h"

namespace vmllm {
namespace {

constexpr size_t kCandidates = 100;  // Per ranking list before fusion; results are paginated.
constexpr size_t kEmbedBatch = 64;   // Rows embedded per call to the embedder.
// Stores written before the embedder was recorded all used the default embedder.
constexpr char kLegacyEmbedder[] = "hashing-256-v1";
constexpr size_t kLegacyDimension = 256;

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

// REQUIRES: a transaction (Init's).
Status ConversationMemoryImpl::AdoptEmbedderLocked() {
  auto name = store_->GetMeta("embedder");
  if (!name.ok()) return name.status();
  auto dimension = store_->GetMeta("embedding_dimension");
  if (!dimension.ok()) return dimension.status();
  const std::string wanted = options_.embedder->Name();
  if (name->has_value() && **name == wanted) {
    stored_dimension_ = dimension->has_value() ? std::strtoull((*dimension)->c_str(), nullptr, 10)
                                               : 0;
    return Status();
  }
  if (!name->has_value() && wanted == kLegacyEmbedder) {
    stored_dimension_ = kLegacyDimension;
  } else {
    // Another embedder's vectors (or, with no record, the default's): never compared with
    // this one's queries. Dropped here; searches recompute them from the text.
    VMLLM_RETURN_IF_ERROR(store_->ClearEmbeddings());
    stored_dimension_ = 0;  // Set by the first search, once the embedder knows its size.
  }
  VMLLM_RETURN_IF_ERROR(store_->SetMeta("embedder", wanted));
  return store_->SetMeta("embedding_dimension", std::to_string(stored_dimension_));
}

// Same embedder, another size (a remote model asked for other `dimensions`, or whose size was
// unknown until now): the stored vectors are dropped. REQUIRES: Prepare() succeeded.
Status ConversationMemoryImpl::MatchDimensionLocked() {
  const size_t dim = options_.embedder->Dimension();
  if (dim == stored_dimension_) return Status();
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  Status s = [&]() -> Status {
    auto stored = store_->GetMeta("embedding_dimension");  // Another process may have done it.
    if (!stored.ok()) return stored.status();
    if (stored->has_value() && std::strtoull((*stored)->c_str(), nullptr, 10) == dim) {
      return Status();
    }
    VMLLM_RETURN_IF_ERROR(store_->ClearEmbeddings());
    return store_->SetMeta("embedding_dimension", std::to_string(dim));
  }();
  if (s.ok()) s = store_->Commit();
  if (!s.ok()) {
    store_->Rollback();
    return s;
  }
  stored_dimension_ = dim;
  recall_vectors_ = VectorCache();
  archival_vectors_ = VectorCache();
  return Status();
}

Status ConversationMemoryImpl::EmbedPendingLocked(RecallTable table) {
  VMLLM_RETURN_IF_ERROR(options_.embedder->Prepare());
  VMLLM_RETURN_IF_ERROR(MatchDimensionLocked());
  const size_t dim = options_.embedder->Dimension();
  while (true) {
    std::vector<int64_t> ids;
    std::vector<std::string> texts;
    VMLLM_RETURN_IF_ERROR(store_->ForEachUnembedded(
        table, options_.agent_id, kEmbedBatch, [&](int64_t id, std::string_view text) {
          ids.push_back(id);
          texts.emplace_back(text);
        }));
    if (ids.empty()) return Status();
    std::vector<std::string_view> views(texts.begin(), texts.end());
    std::vector<float> vectors(ids.size() * dim);
    VMLLM_RETURN_IF_ERROR(options_.embedder->EmbedBatch(views, vectors.data()));
    VMLLM_RETURN_IF_ERROR(store_->Begin());
    Status s;
    for (size_t i = 0; i < ids.size() && s.ok(); ++i) {
      s = store_->SetEmbedding(table, ids[i], &vectors[i * dim], dim);
    }
    if (s.ok()) s = store_->Commit();
    if (!s.ok()) {
      store_->Rollback();
      return s;
    }
    if (ids.size() < kEmbedBatch) return Status();
  }
}

Result<std::vector<std::string>> ConversationMemoryImpl::TextsToEmbed(size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  std::vector<std::string> texts;
  for (RecallTable table : {RecallTable::kMessages, RecallTable::kPassages}) {
    if (texts.size() >= limit || EmbedPendingLocked(table).ok()) continue;
    VMLLM_RETURN_IF_ERROR(store_->ForEachUnembedded(
        table, options_.agent_id, limit - texts.size(),
        [&](int64_t, std::string_view text) { texts.emplace_back(text); }));
  }
  return texts;
}

void ConversationMemoryImpl::NoteVectorFailureLocked(const Status& why) {
  ++search_fallbacks_;
  if (vectors_failing_) return;
  vectors_failing_ = true;
  PostBackendWarning("memory search by meaning unavailable (" + why.message() +
                     "); recall and archival search use keywords alone until the embedder "
                     "works again");
}

Result<std::vector<int64_t>> ConversationMemoryImpl::VectorSearchLocked(
    RecallTable table, VectorCache* cache, std::string_view query, size_t limit,
    std::optional<double> start, std::optional<double> end) {
  VMLLM_RETURN_IF_ERROR(EmbedPendingLocked(table));
  const size_t dim = options_.embedder->Dimension();
  std::vector<float> q(dim);
  VMLLM_RETURN_IF_ERROR(options_.embedder->EmbedBatch({query}, q.data()));
  if (cache->dimension != dim) {  // First search, or the dimension changed: start over.
    *cache = VectorCache();
    cache->dimension = dim;
  }
  VMLLM_RETURN_IF_ERROR(store_->ForEachEmbedding(
      table, options_.agent_id, cache->last_id, dim,
      [&](int64_t id, double created, const float* v) {
        cache->ids.push_back(id);
        cache->created.push_back(created);
        cache->data.insert(cache->data.end(), v, v + dim);
        cache->last_id = id;
      }));
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
      if (vec.ok()) {
        vectors = std::move(vec).value();
        vectors_failing_ = false;
      } else if (q.mode == RecallMode::kVector) {
        return vec.status();  // Nothing to fall back to.
      } else {
        NoteVectorFailureLocked(vec.status());  // Hybrid: the keyword list alone.
      }
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
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  // Embedded before the next search (EmbedPendingLocked).
  auto id = store_->InsertPassage(options_.agent_id, text, options_.clock->Now(), {});
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
  if (!vec.ok()) {
    NoteVectorFailureLocked(vec.status());
    return PageOfLocked(RecallTable::kPassages, *kw, page);
  }
  vectors_failing_ = false;
  return PageOfLocked(RecallTable::kPassages,
                      Fuse(*options_.embedder, std::move(kw).value(), std::move(vec).value()),
                      page);
}


}  // namespace vmllm
