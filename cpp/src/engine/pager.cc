// The page-fault handler: ingest into L4, page-in through L2 → L3 → L4, eviction by policy with
// compress-on-evict, search over L3, hand-off. One mutex serialises every public call, so the
// page table, L1 and the policy never see a half-finished move.
#include "vmllm/pager.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "engine/compression_jobs.h"
#include "engine/named_pages.h"
#include "engine/resident_set.h"
#include "engine/snapshot.h"
#include "store/disk_store.h"
#include "store/disk_tiers.h"
#include "store/l1_context.h"
#include "store/page_table.h"
#include "store/vector_index.h"
#include "util/hash.h"
#include "util/rank_fusion.h"
#include "vmllm/backend_events.h"
#include "vmllm/chunker.h"
#include "vmllm/eviction_policy.h"
#include "vmllm/utf8.h"

namespace vmllm {
namespace {

constexpr size_t kMaxDocIdBytes = 64 * 1024;
constexpr size_t kDirtyFlushThreshold = 4096;

Status CheckDocId(std::string_view doc_id) {
  if (doc_id.empty()) return Status::InvalidArgument("doc id is empty");
  if (doc_id.size() > kMaxDocIdBytes) {
    return Status::InvalidArgument("doc id is " + std::to_string(doc_id.size()) +
                                   " bytes; the limit is " + std::to_string(kMaxDocIdBytes));
  }
  size_t bad = 0;
  if (!IsValidUtf8(doc_id, &bad)) {
    return Status::InvalidArgument("doc id is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  }
  return Status();
}

int TierIndex(TierId t) { return static_cast<int>(t) - 1; }

constexpr size_t kMaxSpaceBytes = 256;

// "doc", or "<kind>:<name>" for a front end's space: a short, printable UTF-8 name.
Status CheckSpaceName(std::string_view space) {
  if (space.empty() || space.size() > kMaxSpaceBytes) {
    return Status::InvalidArgument("a space name is 1 to " + std::to_string(kMaxSpaceBytes) +
                                   " bytes, not " + std::to_string(space.size()));
  }
  if (!IsValidUtf8(space)) return Status::InvalidArgument("space name is not valid UTF-8");
  for (char c : space) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '/') {
      return Status::InvalidArgument("a space name has no '/' and no control characters");
    }
  }
  return Status();
}

}  // namespace

const char* EventKindName(PagerEvent::Kind kind) {
  switch (kind) {
    case PagerEvent::Kind::kPut: return "put";
    case PagerEvent::Kind::kPageIn: return "page_in";
    case PagerEvent::Kind::kEviction: return "eviction";
    case PagerEvent::Kind::kRelease: return "release";
    case PagerEvent::Kind::kCompression: return "compression";
    case PagerEvent::Kind::kPin: return "pin";
    case PagerEvent::Kind::kUnpin: return "unpin";
    case PagerEvent::Kind::kDelete: return "delete";
  }
  return "?";
}

namespace {

class PagerImpl : public Pager {
 public:
  explicit PagerImpl(PagerOptions options) : options_(std::move(options)) {}
  ~PagerImpl() override { Close(); }

  Status Init();
  void NoteVectorFailure(const Status& why);

  Result<std::vector<std::string>> Ingest(std::string_view doc_id, std::string_view text) override {
    return IngestImpl(doc_id, text, nullptr);
  }
  Result<std::vector<std::string>> IngestChunks(std::string_view doc_id, std::string_view text,
                                                const std::vector<Chunk>& chunks) override;
  Result<size_t> Delete(std::string_view doc_id) override;
  Result<std::vector<std::string>> IngestImpl(std::string_view doc_id, std::string_view text,
                                              const std::vector<Chunk>* chunks);
  Result<size_t> PutPages(std::string_view space, const std::vector<PageWrite>& pages) override;
  Result<bool> PutPagesAndRecord(std::string_view space, const std::vector<PageWrite>& pages,
                                 int64_t expected_version, std::string_view state) override;
  Result<size_t> DeletePages(std::string_view space,
                             const std::vector<std::string>& page_ids) override;
  Status ConfigureSpace(std::string_view space, const SpaceOptions& options) override;
  Result<size_t> DeleteSpace(std::string_view space) override;
  std::vector<std::string> Spaces() override;
  Result<SpaceRecord> LoadSpaceRecord(std::string_view space) override;
  Result<int64_t> SpaceRecordVersion(std::string_view space) override;
  Result<bool> SaveSpaceRecord(std::string_view space, int64_t expected_version,
                               std::string_view state) override;
  std::vector<PagerEvent> Events(uint64_t after, size_t limit) override;
  Result<std::string> RequestPage(const std::string& page_id, bool full) override;
  Result<std::vector<std::string>> RequestPages(const std::vector<std::string>& page_ids,
                                                bool full) override;
  Result<bool> ReleasePage(const std::string& page_id, bool compress) override;
  Status Pin(const std::string& page_id) override;
  Status Unpin(const std::string& page_id) override;
  Result<std::vector<SearchHit>> Search(std::string_view query, size_t n, SearchMode mode,
                                        std::string_view space) override;
  Result<std::vector<std::string>> Fault(std::string_view description, size_t n,
                                         std::string_view space) override;
  std::string BuildContext(std::string_view space) override;
  size_t ContextTokens(std::string_view space) override;
  std::vector<std::string> ActivePages(std::string_view space) override;
  Result<PageInfo> GetPageInfo(const std::string& page_id) override;
  std::vector<std::string> PageIds(std::string_view space) override;
  size_t PageCount(std::string_view space) override;
  Result<std::string> ReadPage(const std::string& page_id) override;
  PagerStats Stats(std::string_view space) override;
  Result<std::string> HandOff(std::string_view task_state_json) override;
  Result<std::string> ReceiveHandOff(std::string_view snapshot_json) override;
  Result<std::vector<std::string>> TextsToEmbed(size_t limit) override;
  Status Flush() override;
  Status Close() override;

 private:
  // One space's L1 and policy, and the counters of what happened to its pages.
  struct Space {
    std::unique_ptr<ResidentSet> resident;
    uint64_t requests = 0, faults = 0, evictions = 0, releases = 0, searches = 0;
  };

  Status CheckOpen() const {
    return closed_ ? Status::InvalidArgument("the store is closed") : Status();
  }
  Result<PageInfo*> Lookup(std::string_view page_id);
  Status SyncFromStore();
  Result<std::string> LoadFull(PageInfo* page);
  Result<std::string> RequestLocked(PageInfo*& page, bool full,
                                    const std::unordered_set<PageKey>& protect);
  Status Revalidate(PageInfo*& page);
  struct RecordWrite {
    int64_t expected_version;
    std::string_view state;
  };
  // PutPages, and with `record` the record's compare-and-swap in the same transaction.
  // Returns (pages written, record written).
  Result<std::pair<size_t, bool>> PutPagesImpl(std::string_view space,
                                               const std::vector<PageWrite>& pages,
                                               const RecordWrite* record);
  // The space named `name`, made with its configured (or the pager's) budget and policy on
  // first use. REQUIRES: CheckSpaceName(name) passed.
  Space& SpaceNamed(std::string_view name);
  Space& SpaceOf(const PageInfo* page) { return SpaceNamed(page->space); }
  // Nullptr when the space was never used in this process.
  Space* FindSpace(std::string_view name);
  void Emit(PagerEvent::Kind kind, const PageInfo& page, uint64_t tokens,
            TierId from = TierId::kL4);
  // Evicts by policy until `tokens` fit in `space`, sparing pinned pages, `protect` and
  // `incoming`.
  Status MakeRoom(Space& space, size_t tokens, const std::unordered_set<PageKey>& protect,
                  PageKey incoming);
  void EvictLocked(PageInfo* page, bool compress);
  void Forget(PageKey key);
  void ForgetDeleted(const std::vector<PageKey>& keys);
  // The table entry for a stored record: the existing one when the key is known, else a new
  // one, after forgetting a stale entry of the same page id (its document was replaced).
  PageInfo* Adopt(const PageRecord& record);
  Result<std::vector<SearchHit>> SearchLocked(std::string_view query, size_t n, SearchMode mode,
                                              std::string_view space);
  size_t PinnedTokens(Space& space);
  void MaybeFlushStats();
  Status FlushLocked();
  void CompressAsyncLocked(PageInfo* page, const std::string& text);
  void ApplySummary(PageKey key, uint64_t content_hash, Result<std::string> summary,
                    std::string fallback);

  PagerOptions options_;
  const Clock* clock_ = nullptr;
  std::unique_ptr<DiskStore> store_;
  std::unique_ptr<VectorIndex> vectors_;
  std::unique_ptr<Tier> l2_, l3_, l4_;
  std::map<std::string, Space, std::less<>> spaces_;
  std::map<std::string, SpaceOptions, std::less<>> space_options_;
  std::deque<PagerEvent> events_;  // The last kEventRing events.
  uint64_t event_seq_ = 0;
  std::unique_ptr<Chunker> chunker_;
  PageTable table_;
  bool vectors_failing_ = false;  // The vector half failed last time (warned already).
  HybridFusion fusion_ = DefaultHybridFusion();
  PageKey synced_key_ = 0;  // Every stored page with a key <= this is in the table.
  int64_t deleted_seq_ = 0;  // Deletions logged up to here are out of the table.
  PagerStats counters_;
  double last_stats_flush_ = 0;
  // L2 reads RequestPages fetched in one batch, consumed by LoadFull; empty outside that call.
  std::unordered_map<PageKey, Result<std::string>> l2_prefetched_;
  bool closed_ = false;
  mutable std::mutex mu_;
  // Async compress-on-evict (null without an async compressor). Declared after mu_ so that it
  // is destroyed first: its compressor's threads may still be finishing.
  std::unique_ptr<CompressionJobs> jobs_;
  std::unordered_set<PageKey> compressing_;  // Pages with a job in flight.
};

Status PagerImpl::Init() {
  if (options_.path.empty()) return Status::InvalidArgument("store path is empty");
  if (options_.l1_tokens == 0) return Status::InvalidArgument("l1_tokens must be positive");
  if (options_.page_tokens == 0) return Status::InvalidArgument("page_tokens must be positive");
  if (options_.page_tokens > options_.l1_tokens) {
    return Status::InvalidArgument("page_tokens (" + std::to_string(options_.page_tokens) +
                                   ") must not exceed l1_tokens (" +
                                   std::to_string(options_.l1_tokens) + ")");
  }
  if (!std::isfinite(options_.stats_flush_seconds) || options_.stats_flush_seconds < 0) {
    return Status::InvalidArgument("stats_flush_seconds must be finite and >= 0");
  }
  if (std::isnan(options_.l2.ttl_seconds)) {
    return Status::InvalidArgument("the L2 time to live must be a number");
  }
  clock_ = options_.clock ? options_.clock : SystemClock();
  if (!options_.tokenizer) options_.tokenizer = NewApproxTokenizer();
  if (!options_.embedder) options_.embedder = NewHashingEmbedder();
  if (!options_.compressor) options_.compressor = NewExtractiveCompressor();
  if (options_.async_compressor) {
    jobs_ = std::make_unique<CompressionJobs>(
        options_.async_compressor, options_.compressor,
        [this](PageKey key, uint64_t hash, Result<std::string> summary, std::string fallback) {
          ApplySummary(key, hash, std::move(summary), std::move(fallback));
        });
  }
  auto policy = NewEvictionPolicy(options_.policy, clock_);  // Checks the name for every space.
  if (!policy.ok()) return policy.status();
  counters_.policy = policy.value()->Name();

  auto store = DiskStore::Open(options_.path);
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();
  auto vectors = VectorIndex::Open(options_.path, store_->store_id(), options_.embedder.get());
  if (!vectors.ok()) return vectors.status();
  vectors_ = std::move(vectors).value();

  l2_ = options_.l2_tier ? std::move(options_.l2_tier) : NewMemoryTier(options_.l2, clock_);
  l2_->SetDropListener([this](PageKey key) {  // Runs inside an L2 call made under mu_.
    PageInfo* page = table_.FindKey(key);
    if (page && page->tier == TierId::kL2) table_.SetTier(page, page->durable_tier);
  });
  l3_ = NewSwapTier(store_.get());
  l4_ = NewDiskTier(store_.get());
  if (options_.wrap_l3) l3_ = options_.wrap_l3(std::move(l3_));
  if (options_.wrap_l4) l4_ = options_.wrap_l4(std::move(l4_));
  if (!l3_ || !l4_) return Status::InvalidArgument("a tier wrapper returned no tier");
  chunker_ = std::make_unique<Chunker>(options_.tokenizer.get(),
                                       ChunkerOptions{options_.page_tokens});
  last_stats_flush_ = clock_->Now();
  // The table starts from the live pages: deletions logged so far are already applied.
  auto deleted = store_->ForEachDeleted(0, [](PageKey) {});
  if (!deleted.ok()) return deleted.status();
  deleted_seq_ = *deleted;
  VMLLM_RETURN_IF_ERROR(SyncFromStore());
  // A snapshot saved by a process that never saw some deletions keeps their vectors: drop them
  // here, or they fill the top of every vector search.
  vectors_->Retain([this](PageKey key) { return table_.FindKey(key) != nullptr; });
  // No catch-up here: pages and keyword search never need the embedder, so a remote one that
  // is down (or slow, or of another size) must not hold up or refuse the open. Every user of
  // the vectors (search, ingest, TextsToEmbed) catches the index up first.
  return Status();
}

// Warns once per stretch of failures, not once per search; a success ends the stretch.
void PagerImpl::NoteVectorFailure(const Status& why) {
  if (vectors_failing_) return;
  vectors_failing_ = true;
  PostBackendWarning("vector search unavailable (" + why.message() + "); hybrid search uses "
                     "keywords (BM25) alone until the embedder works again");
}

// Drops pages that this or another process deleted (a document replaced, with fewer pages or
// none) and adds pages stored since the last sync.
Status PagerImpl::SyncFromStore() {
  auto deleted = store_->ForEachDeleted(deleted_seq_, [&](PageKey key) {
    if (table_.FindKey(key)) {
      Forget(key);
    } else {
      vectors_->Forget(key);  // Maybe in a snapshot this process loaded.
    }
  });
  if (!deleted.ok()) return deleted.status();
  deleted_seq_ = *deleted;
  PageKey last = synced_key_;
  Status s = store_->ForEachPage(synced_key_, [&](PageRecord&& record) {
    last = record.key;
    Adopt(record);
  });
  synced_key_ = last;
  return s;
}

Result<PageInfo*> PagerImpl::Lookup(std::string_view page_id) {
  if (PageInfo* page = table_.Find(page_id)) return page;
  // Maybe written by another process since we last looked.
  auto record = store_->FindPage(page_id);
  if (!record.ok()) return record.status();
  if (!record->has_value()) {
    return Status::NotFound("no page '" + std::string(page_id.substr(0, 200)) + "'");
  }
  return Adopt(**record);
}

Result<std::vector<std::string>> PagerImpl::IngestChunks(std::string_view doc_id,
                                                         std::string_view text,
                                                         const std::vector<Chunk>& chunks) {
  size_t next = 0;
  for (const Chunk& c : chunks) {
    if (c.offset != next || c.length == 0 || c.length > text.size() - c.offset) {
      return Status::InvalidArgument("chunks must tile the text in order (chunk at offset " +
                                     std::to_string(c.offset) + ", expected " +
                                     std::to_string(next) + ")");
    }
    next = c.offset + c.length;
  }
  if (next != text.size()) {
    return Status::InvalidArgument("chunks cover " + std::to_string(next) + " of " +
                                   std::to_string(text.size()) + " bytes");
  }
  return IngestImpl(doc_id, text, &chunks);
}

Result<std::vector<std::string>> PagerImpl::IngestImpl(std::string_view doc_id,
                                                       std::string_view text,
                                                       const std::vector<Chunk>* chunks) {
  VMLLM_RETURN_IF_ERROR(CheckDocId(doc_id));
  size_t bad = 0;
  if (!IsValidUtf8(text, &bad)) {
    return Status::InvalidArgument("text is not valid UTF-8 (first bad byte at offset " +
                                   std::to_string(bad) + ")");
  }
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  const std::string doc(doc_id);
  const double now = clock_->Now();
  std::vector<std::string> ids;
  std::vector<PageRecord> written;
  std::vector<PageKey> replaced;

  VMLLM_RETURN_IF_ERROR(store_->Begin());
  Status status;
  auto deleted = store_->DeleteDocument(doc, kDocumentSpace);
  if (!deleted.ok()) {
    status = deleted.status();
  } else {
    replaced = std::move(deleted).value();
    uint32_t index = 0;
    auto store_page = [&](const Chunk& chunk) {
      std::string_view page_text = text.substr(chunk.offset, chunk.length);
      PageRecord r;
      r.page_id = MakePageId(doc, index);
      r.doc_id = doc;
      r.chunk_index = index++;
      r.tokens = static_cast<uint32_t>(chunk.tokens);
      r.bytes = chunk.length;
      r.content_hash = ContentHash(page_text);
      r.created = r.last_accessed = now;
      auto key = store_->InsertPage(r, page_text);
      if (!key.ok()) {
        status = key.status();
        return false;
      }
      r.key = *key;
      ids.push_back(r.page_id);
      written.push_back(std::move(r));
      return true;
    };
    if (chunks != nullptr) {
      for (const Chunk& chunk : *chunks) {
        if (!store_page(chunk)) break;
      }
    } else {
      chunker_->Split(text, DetectContentKind(doc_id, text), store_page);
    }
  }
  if (status.ok()) status = store_->Commit();
  if (!status.ok()) {
    store_->Rollback();
    return status;
  }
  // Durable from here on; bring the in-memory view up to date.
  for (PageKey key : replaced) Forget(key);
  for (const PageRecord& r : written) {
    Emit(PagerEvent::Kind::kPut, *Adopt(r), r.tokens);
    counters_.ingested_bytes += r.bytes;
  }
  ++counters_.ingested_documents;
  counters_.ingested_pages += written.size();
  Status indexed = vectors_->CatchUp(store_.get());
  // Retried on the next search, which warns if it still fails (a Python embedder's vectors
  // arrive only after this, so failing here is normal and not worth a warning).
  if (!indexed.ok()) ++counters_.tiers[TierIndex(TierId::kL3)].errors;
  return ids;
}

Result<size_t> PagerImpl::Delete(std::string_view doc_id) {
  VMLLM_RETURN_IF_ERROR(CheckDocId(doc_id));
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  auto deleted = store_->DeleteDocument(doc_id, kDocumentSpace);
  Status status = deleted.ok() ? store_->Commit() : deleted.status();
  if (!status.ok()) {
    store_->Rollback();
    return status;
  }
  ForgetDeleted(*deleted);
  return deleted->size();
}

Result<size_t> PagerImpl::PutPages(std::string_view space, const std::vector<PageWrite>& pages) {
  auto put = PutPagesImpl(space, pages, nullptr);
  if (!put.ok()) return put.status();
  return put->first;
}

Result<bool> PagerImpl::PutPagesAndRecord(std::string_view space,
                                          const std::vector<PageWrite>& pages,
                                          int64_t expected_version, std::string_view state) {
  const RecordWrite record{expected_version, state};
  auto put = PutPagesImpl(space, pages, &record);
  if (!put.ok()) return put.status();
  return put->second;
}

Result<std::pair<size_t, bool>> PagerImpl::PutPagesImpl(std::string_view space,
                                                        const std::vector<PageWrite>& pages,
                                                        const RecordWrite* record) {
  VMLLM_RETURN_IF_ERROR(CheckSpaceName(space));
  if (space == kDocumentSpace) {
    return Status::InvalidArgument("the document space is written by Ingest, not PutPages");
  }
  const std::string prefix = std::string(space) + "/";
  for (const PageWrite& page : pages) {
    if (page.page_id.size() <= prefix.size() || page.page_id.compare(0, prefix.size(), prefix) ||
        page.page_id.size() > kMaxDocIdBytes || !IsValidUtf8(page.page_id)) {
      return Status::InvalidArgument("page id '" + EscapeForOneLine(page.page_id.substr(0, 200)) +
                                     "' is not a valid id in space '" + std::string(space) +
                                     "' (\"" + prefix + "<name>\")");
    }
    size_t bad = 0;
    if (!IsValidUtf8(page.text, &bad)) {
      return Status::InvalidArgument("text of page '" + page.page_id +
                                     "' is not valid UTF-8 (first bad byte at offset " +
                                     std::to_string(bad) + ")");
    }
  }
  // Tokens are counted outside the lock: the slow part of a put.
  std::vector<uint32_t> tokens;
  tokens.reserve(pages.size());
  for (const PageWrite& page : pages) {
    tokens.push_back(static_cast<uint32_t>(options_.tokenizer->Count(page.text)));
  }
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  const double now = clock_->Now();
  std::vector<PageRecord> written;
  std::vector<PageKey> replaced;
  std::unordered_set<std::string_view> in_batch;
  // A front end's pages are what its client sends again anyway: crash-safe is enough.
  Status status = store_->BeginLight();
  if (!status.ok()) return status;
  for (size_t i = 0; i < pages.size() && status.ok(); ++i) {
    const PageWrite& page = pages[i];
    const uint64_t hash = ContentHash(page.text);
    if (!in_batch.insert(page.page_id).second) continue;  // The first copy wins.
    auto stored = store_->FindPage(page.page_id);
    if (!stored.ok()) {
      status = stored.status();
      break;
    }
    if (stored->has_value() && (*stored)->space != space) {
      // A document's page spelled like this space's id ("<space>/x::chunk_0000"): not ours.
      status = Status::InvalidArgument("page id '" + EscapeForOneLine(page.page_id.substr(0, 200)) +
                                       "' is taken by a page of space '" + (*stored)->space + "'");
      break;
    }
    if (stored->has_value() && (*stored)->content_hash == hash) continue;  // Already there.
    if (stored->has_value()) {  // Same id, other text: the new text replaces it.
      auto deleted = store_->DeleteDocument(page.page_id, space);
      if (!deleted.ok()) {
        status = deleted.status();
        break;
      }
      replaced.insert(replaced.end(), deleted->begin(), deleted->end());
    }
    PageRecord r;
    r.space = std::string(space);
    r.page_id = page.page_id;
    r.doc_id = page.page_id;  // Each page is its own document: deleted on its own.
    r.tokens = tokens[i];
    r.bytes = page.text.size();
    r.content_hash = hash;
    r.created = r.last_accessed = now;
    auto key = store_->InsertPage(r, page.text);
    if (!key.ok()) {
      status = key.status();
      break;
    }
    r.key = *key;
    written.push_back(std::move(r));
  }
  bool recorded = false;
  if (status.ok() && record) {  // The pages are stored whether or not the swap succeeds.
    auto swapped = store_->PutSpaceState(space, record->expected_version, record->state);
    if (swapped.ok()) {
      recorded = *swapped;
    } else {
      status = swapped.status();
    }
  }
  if (status.ok()) status = store_->Commit();
  if (!status.ok()) {
    store_->Rollback();
    return status;
  }
  for (PageKey key : replaced) Forget(key);
  for (const PageRecord& r : written) Emit(PagerEvent::Kind::kPut, *Adopt(r), r.tokens);
  // No vector catch-up here: a put is on a request's path, and search catches up when it runs.
  return std::make_pair(written.size(), recorded);
}

Result<size_t> PagerImpl::DeletePages(std::string_view space,
                                      const std::vector<std::string>& page_ids) {
  VMLLM_RETURN_IF_ERROR(CheckSpaceName(space));
  if (space == kDocumentSpace) {
    return Status::InvalidArgument("documents are deleted by Delete, not DeletePages");
  }
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  std::vector<PageKey> keys;
  Status status = store_->BeginLight();  // Derived pages, like PutPages'.
  if (!status.ok()) return status;
  for (const std::string& id : page_ids) {
    auto deleted = store_->DeleteDocument(id, space);  // Each page is its own document.
    if (!deleted.ok()) {
      status = deleted.status();
      break;
    }
    keys.insert(keys.end(), deleted->begin(), deleted->end());
  }
  if (status.ok()) status = store_->Commit();
  if (!status.ok()) {
    store_->Rollback();
    return status;
  }
  ForgetDeleted(keys);
  return keys.size();
}

Status PagerImpl::ConfigureSpace(std::string_view space, const SpaceOptions& options) {
  VMLLM_RETURN_IF_ERROR(CheckSpaceName(space));
  if (options.l1_tokens != 0 && options.l1_tokens < options_.page_tokens) {
    return Status::InvalidArgument("a space's l1_tokens (" + std::to_string(options.l1_tokens) +
                                   ") must be at least page_tokens (" +
                                   std::to_string(options_.page_tokens) + ")");
  }
  for (double v : {options.rrf_k, options.keyword_weight}) {
    if (!std::isfinite(v) || v < 0) {
      return Status::InvalidArgument("a space's rrf_k and keyword_weight are finite and >= 0");
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  if (!options.policy.empty()) {
    auto policy = NewEvictionPolicy(options.policy, clock_);
    if (!policy.ok()) return policy.status();
  }
  if (Space* existing = FindSpace(space)) {
    if (!existing->resident->Order().empty()) {
      return Status::InvalidArgument("space '" + std::string(space) +
                                     "' has resident pages; configure it before paging in");
    }
    spaces_.erase(spaces_.find(space));
  }
  space_options_.insert_or_assign(std::string(space), options);
  return Status();
}

Result<size_t> PagerImpl::DeleteSpace(std::string_view space) {
  VMLLM_RETURN_IF_ERROR(CheckSpaceName(space));
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  auto deleted = store_->DeleteSpace(space);
  Status status = deleted.ok() ? store_->Commit() : deleted.status();
  if (!status.ok()) {
    store_->Rollback();
    return status;
  }
  ForgetDeleted(*deleted);
  return deleted->size();
}

std::vector<std::string> PagerImpl::Spaces() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || !SyncFromStore().ok()) return {};
  return table_.Spaces();
}

Result<SpaceRecord> PagerImpl::LoadSpaceRecord(std::string_view space) {
  VMLLM_RETURN_IF_ERROR(CheckSpaceName(space));
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  auto state = store_->GetSpaceState(space);
  if (!state.ok()) return state.status();
  return SpaceRecord{state->version, std::move(state->state)};
}

Result<int64_t> PagerImpl::SpaceRecordVersion(std::string_view space) {
  VMLLM_RETURN_IF_ERROR(CheckSpaceName(space));
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return store_->GetSpaceStateVersion(space);
}

Result<bool> PagerImpl::SaveSpaceRecord(std::string_view space, int64_t expected_version,
                                        std::string_view state) {
  VMLLM_RETURN_IF_ERROR(CheckSpaceName(space));
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return store_->PutSpaceState(space, expected_version, state);
}

std::vector<PagerEvent> PagerImpl::Events(uint64_t after, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PagerEvent> out;
  // Numbers are consecutive: the first one after `after` sits at a computable position.
  const uint64_t first = events_.empty() ? 0 : events_.front().seq;
  size_t start = after < first ? 0 : static_cast<size_t>(after - first + 1);
  for (size_t i = start; i < events_.size() && out.size() < limit; ++i) out.push_back(events_[i]);
  return out;
}

// Pages deleted on purpose (not replaced): announced, then forgotten.
void PagerImpl::ForgetDeleted(const std::vector<PageKey>& keys) {
  for (PageKey key : keys) {
    if (const PageInfo* page = table_.FindKey(key)) Emit(PagerEvent::Kind::kDelete, *page, 0);
    Forget(key);
  }
}

// Drops every trace of a deleted page outside L4.
void PagerImpl::Forget(PageKey key) {
  if (const PageInfo* page = table_.FindKey(key)) {
    if (Space* space = FindSpace(page->space)) space->resident->Remove(key);
  }
  l2_->Erase(key);
  vectors_->Forget(key);
  table_.Remove(key);
}

PageInfo* PagerImpl::Adopt(const PageRecord& record) {
  if (PageInfo* known = table_.FindKey(record.key)) return known;
  if (PageInfo* stale = table_.Find(record.page_id)) Forget(stale->key);
  return table_.Insert(record);
}

// Reads the full text from the fastest tier that has an intact copy, falling through on a miss
// or a failure; a page read from L4 is copied into the L3 swap store, as the seed promotes it.
Result<std::string> PagerImpl::LoadFull(PageInfo* page) {
  for (Tier* tier : {l2_.get(), l3_.get(), l4_.get()}) {
    TierStats& stats = counters_.tiers[TierIndex(tier->id())];
    auto prefetched = tier == l2_.get() ? l2_prefetched_.find(page->key) : l2_prefetched_.end();
    Result<std::string> text = Status::NotFound("");
    if (prefetched != l2_prefetched_.end()) {
      text = std::move(prefetched->second);
      l2_prefetched_.erase(prefetched);
    } else {
      text = tier->Get(page->key);
    }
    if (text.ok() && ContentHash(*text) == page->content_hash) {
      ++stats.hits;
      if (tier == l4_.get() && page->durable_tier == TierId::kL4) {
        if (l3_->Put(page->key, *text).ok()) {
          page->durable_tier = TierId::kL3;
        } else {
          ++counters_.tiers[TierIndex(TierId::kL3)].errors;
        }
      }
      return text;
    }
    if (text.ok() || text.status().code() == StatusCode::kNotFound) {
      ++stats.misses;
      if (text.ok()) tier->Erase(page->key);  // A stale copy: never serve it again.
    } else {
      ++stats.errors;
      if (tier == l4_.get()) return text.status();
    }
  }
  Forget(page->key);  // Deleted by another process since we loaded the table.
  return Status::NotFound("page '" + page->page_id + "' is no longer in the store");
}

PagerImpl::Space* PagerImpl::FindSpace(std::string_view name) {
  auto it = spaces_.find(name);
  return it == spaces_.end() ? nullptr : &it->second;
}

PagerImpl::Space& PagerImpl::SpaceNamed(std::string_view name) {
  auto it = spaces_.find(name);
  if (it != spaces_.end()) return it->second;
  SpaceOptions options;
  if (auto configured = space_options_.find(name); configured != space_options_.end()) {
    options = configured->second;
  }
  Space space;
  // The policy names were checked by Init and ConfigureSpace.
  space.resident = std::make_unique<ResidentSet>(
      options.l1_tokens ? options.l1_tokens : options_.l1_tokens, options_.tokenizer.get(),
      std::move(NewEvictionPolicy(options.policy.empty() ? options_.policy : options.policy,
                                  clock_))
          .value());
  return spaces_.emplace(std::string(name), std::move(space)).first->second;
}

void PagerImpl::Emit(PagerEvent::Kind kind, const PageInfo& page, uint64_t tokens, TierId from) {
  if (events_.size() == kEventRing) events_.pop_front();
  events_.push_back(
      PagerEvent{++event_seq_, clock_->Now(), kind, page.space, page.page_id, tokens, from});
}

Status PagerImpl::MakeRoom(Space& space, size_t tokens, const std::unordered_set<PageKey>& protect,
                           PageKey incoming) {
  return space.resident->MakeRoom(
      tokens,
      [&](PageKey key) {
        const PageInfo* p = table_.FindKey(key);
        return p && !p->pinned && key != incoming && !protect.count(key);
      },
      [&](PageKey key) {
        PageInfo* evicted = table_.FindKey(key);
        EvictLocked(evicted, /*compress=*/true);
        ++counters_.evictions;
        ++space.evictions;
        Emit(PagerEvent::Kind::kEviction, *evicted, evicted->tokens);
      });
}

// Another process may have replaced or deleted the page's document since this process loaded
// its entry; L1 hits are served as they are, but every fault checks the store first (one
// indexed lookup), so a stale cached copy is never paged in. Updates `page` when replaced.
Status PagerImpl::Revalidate(PageInfo*& page) {
  auto record = store_->FindPage(page->page_id);
  if (!record.ok()) return record.status();
  if (record->has_value() && (*record)->key == page->key) return Status();
  std::string page_id = page->page_id;
  Forget(page->key);
  page = nullptr;
  if (!record->has_value()) return Status::NotFound("page '" + page_id + "' was deleted");
  page = Adopt(**record);
  return Status();
}

Result<std::string> PagerImpl::RequestLocked(PageInfo*& page, bool full,
                                             const std::unordered_set<PageKey>& protect) {
  ++counters_.requests;
  ++SpaceOf(page).requests;
  TierStats& l1_stats = counters_.tiers[TierIndex(TierId::kL1)];
  const L1Context::Resident* resident = SpaceOf(page).resident->Find(page->key);
  if (resident && (!full || !resident->is_summary)) {
    ++l1_stats.hits;
    SpaceOf(page).resident->Touch(page->key);
    table_.Touch(page, clock_->Now());
    MaybeFlushStats();
    return resident->text;
  }
  if (!resident) VMLLM_RETURN_IF_ERROR(Revalidate(page));
  Space& space = SpaceOf(page);  // After Revalidate: `page` may be a fresh entry.
  ++l1_stats.misses;
  ++counters_.faults;
  ++space.faults;
  const TierId from = page->tier;
  std::string content;
  size_t tokens;
  bool as_summary = !full && page->compressed;
  if (as_summary) {
    content = page->summary;
    tokens = options_.tokenizer->Count(content);
  } else {
    auto text = LoadFull(page);
    if (!text.ok()) return text.status();
    content = std::move(text).value();
    tokens = page->tokens;
  }
  if (tokens > space.resident->budget()) {
    return Status::ResourceExhausted("page '" + page->page_id + "' has " + std::to_string(tokens) +
                                     " tokens; the L1 budget is " +
                                     std::to_string(space.resident->budget()));
  }
  if (resident) {  // Replacing the summary view by the full page.
    space.resident->Remove(page->key);
  }
  // No copy of `protect`: batch page-ins pass sets that grow with every page.
  VMLLM_RETURN_IF_ERROR(MakeRoom(space, tokens, protect, page->key));
  space.resident->Admit(page->key, content, tokens, as_summary);
  Emit(PagerEvent::Kind::kPageIn, *page, tokens, from);
  table_.SetTier(page, TierId::kL1);
  page->resident_as_summary = as_summary;
  ++page->fault_count;
  table_.Touch(page, clock_->Now());
  MaybeFlushStats();
  return content;
}

void PagerImpl::EvictLocked(PageInfo* page, bool compress) {
  Space& space = SpaceOf(page);
  const L1Context::Resident* resident = space.resident->Find(page->key);
  TierId destination = page->durable_tier;
  if (resident && !resident->is_summary) {
    const std::string& text = resident->text;
    if (compress && !page->compressed && jobs_) {
      CompressAsyncLocked(page, text);
    } else if (compress && !page->compressed) {
      std::string summary = options_.compressor->Compress(text);
      if (!summary.empty() && store_->SetSummary(page->key, summary).ok()) {
        page->summary = std::move(summary);
        page->compressed = true;
        ++counters_.compressions;
        Emit(PagerEvent::Kind::kCompression, *page, page->tokens);
      } else {
        ++counters_.compression_failures;  // The page is still whole in L2-L4: nothing is lost.
      }
    }
    if (page->durable_tier == TierId::kL4) {
      if (l3_->Put(page->key, text).ok()) {
        page->durable_tier = destination = TierId::kL3;
      } else {
        ++counters_.tiers[TierIndex(TierId::kL3)].errors;
      }
    }
    Status cached = l2_->Put(page->key, text);
    if (cached.ok()) {
      destination = TierId::kL2;
    } else if (cached.code() != StatusCode::kResourceExhausted) {  // Too big for L2 is no fault.
      ++counters_.tiers[TierIndex(TierId::kL2)].errors;
    }
  }
  space.resident->Remove(page->key);
  page->resident_as_summary = false;
  table_.SetTier(page, destination);
}

// Eviction only enqueues: a cached summary applies at once, anything else waits for the job.
void PagerImpl::CompressAsyncLocked(PageInfo* page, const std::string& text) {
  if (compressing_.count(page->key)) return;
  auto cached = store_->GetCachedSummary(page->content_hash, jobs_->model());
  if (cached.ok() && cached->has_value() && store_->SetSummary(page->key, **cached).ok()) {
    page->summary = std::move(**cached);
    page->compressed = true;
    ++counters_.compressions;
    return;
  }
  compressing_.insert(page->key);
  jobs_->Start(page->key, page->content_hash, text);
}

// Runs on the compressor's thread (or Python's, for a queued compressor) when a job finishes.
void PagerImpl::ApplySummary(PageKey key, uint64_t content_hash, Result<std::string> summary,
                             std::string fallback) {
  std::lock_guard<std::mutex> lock(mu_);
  compressing_.erase(key);
  if (closed_) return;
  const bool fell_back = !summary.ok();
  if (fell_back) counters_.last_compression_error = summary.status().message().substr(0, 500);
  PageInfo* page = table_.FindKey(key);
  // Deleted, replaced by new text, or compressed meanwhile: nothing to attach the summary to.
  if (!page || page->content_hash != content_hash || page->compressed) return;
  std::string text = fell_back ? std::move(fallback) : std::move(summary).value();
  if (text.empty() || !store_->SetSummary(key, text).ok()) {
    ++counters_.compression_failures;  // The page is still whole in L2-L4: nothing is lost.
    return;
  }
  // Only the model's own summaries are cached: after a fallback the model gets another chance.
  if (!fell_back) store_->PutCachedSummary(content_hash, jobs_->model(), text);
  page->summary = std::move(text);
  page->compressed = true;
  ++counters_.compressions;
  if (fell_back) ++counters_.compression_fallbacks;
}

Result<std::string> PagerImpl::RequestPage(const std::string& page_id, bool full) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  auto page = Lookup(page_id);
  if (!page.ok()) return page.status();
  PageInfo* p = *page;
  return RequestLocked(p, full, {});
}

Result<std::vector<std::string>> PagerImpl::RequestPages(const std::vector<std::string>& page_ids,
                                                          bool full) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  std::vector<PageInfo*> pages;
  std::vector<PageKey> to_fetch;
  for (const std::string& id : page_ids) {
    auto page = Lookup(id);
    if (!page.ok()) return page.status();
    pages.push_back(*page);
    const L1Context::Resident* resident = SpaceOf(*page).resident->Find((*page)->key);
    bool needs_text = full || !(*page)->compressed;
    if (needs_text && (!resident || resident->is_summary)) to_fetch.push_back((*page)->key);
  }
  if (!to_fetch.empty()) {
    auto texts = l2_->GetMany(to_fetch);
    for (size_t i = 0; i < to_fetch.size(); ++i) {
      l2_prefetched_.insert_or_assign(to_fetch[i], std::move(texts[i]));
    }
  }
  std::vector<std::string> out;
  std::unordered_set<PageKey> brought_in;
  Status status;
  for (PageInfo* page : pages) {
    auto loaded = RequestLocked(page, full, brought_in);
    if (!loaded.ok()) {
      status = loaded.status();
      break;
    }
    brought_in.insert(page->key);
    out.push_back(std::move(loaded).value());
  }
  l2_prefetched_.clear();
  if (!status.ok()) return status;
  return out;
}

Result<bool> PagerImpl::ReleasePage(const std::string& page_id, bool compress) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  auto page = Lookup(page_id);
  if (!page.ok()) return page.status();
  Space& space = SpaceOf(*page);
  if (!space.resident->Find((*page)->key)) return false;
  if ((*page)->pinned) {
    return Status::InvalidArgument("page '" + page_id + "' is pinned; unpin it before release");
  }
  EvictLocked(*page, compress);
  ++counters_.releases;
  ++space.releases;
  Emit(PagerEvent::Kind::kRelease, **page, (*page)->tokens);
  return true;
}

size_t PagerImpl::PinnedTokens(Space& space) {
  size_t tokens = 0;
  for (PageKey key : space.resident->Order()) {
    const PageInfo* p = table_.FindKey(key);
    if (p && p->pinned) tokens += space.resident->Find(key)->tokens;
  }
  return tokens;
}

Status PagerImpl::Pin(const std::string& page_id) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  auto page = Lookup(page_id);
  if (!page.ok()) return page.status();
  PageInfo* p = *page;
  if (p->pinned) return Status();
  Space& space = SpaceOf(p);
  const L1Context::Resident* resident = space.resident->Find(p->key);
  size_t tokens = resident ? resident->tokens
                           : (p->compressed ? options_.tokenizer->Count(p->summary) : p->tokens);
  size_t pinned = PinnedTokens(space);
  if (pinned + tokens > space.resident->budget()) {
    return Status::ResourceExhausted("pinning '" + page_id + "' (" + std::to_string(tokens) +
                                     " tokens) would exceed the L1 budget of " +
                                     std::to_string(space.resident->budget()) + " tokens; " +
                                     std::to_string(pinned) + " are already pinned");
  }
  if (!resident) {
    auto loaded = RequestLocked(p, /*full=*/false, {});
    if (!loaded.ok()) return loaded.status();
  }  // `p` now points at the fresh entry.
  p->pinned = true;
  table_.MarkDirty(p);
  Emit(PagerEvent::Kind::kPin, *p, tokens);
  return Status();
}

Status PagerImpl::Unpin(const std::string& page_id) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  auto page = Lookup(page_id);
  if (!page.ok()) return page.status();
  if (!(*page)->pinned) return Status();
  (*page)->pinned = false;
  table_.MarkDirty(*page);
  Emit(PagerEvent::Kind::kUnpin, **page, (*page)->tokens);
  return Status();
}

Result<std::vector<SearchHit>> PagerImpl::SearchLocked(std::string_view query, size_t n,
                                                       SearchMode mode, std::string_view space) {
  std::vector<SearchHit> hits;
  VMLLM_RETURN_IF_ERROR(CheckSpaceName(space));
  if (!IsValidUtf8(query)) return Status::InvalidArgument("query is not valid UTF-8");
  if (n > kMaxSearchResults) {
    return Status::InvalidArgument("n is " + std::to_string(n) + "; the limit is " +
                                   std::to_string(kMaxSearchResults));
  }
  if (n == 0) return hits;
  ++counters_.searches;
  ++SpaceNamed(space).searches;
  VMLLM_RETURN_IF_ERROR(SyncFromStore());
  // Hybrid search falls back to BM25 alone whenever its vector half fails (a remote embedder
  // down, vectors of the wrong size, a damaged index): counted, warned once, retried on the
  // next search. Vector-only search has nothing to fall back to and reports the failure.
  TierStats& l3_stats = counters_.tiers[TierIndex(TierId::kL3)];
  // Over-fetch: hits for pages deleted elsewhere are dropped below.
  const size_t k = n * 4 + 16;
  auto in_space = [&](PageKey key) {
    const PageInfo* page = table_.FindKey(key);
    return page && page->space == space;
  };
  HybridFusion fusion = fusion_;
  bool related_only = false;
  if (auto configured = space_options_.find(space); configured != space_options_.end()) {
    if (configured->second.rrf_k > 0) fusion.k = configured->second.rrf_k;
    if (configured->second.keyword_weight > 0) {
      fusion.keyword_weight = configured->second.keyword_weight;
    }
    related_only = configured->second.related_vectors_only;
  }
  std::vector<std::vector<std::pair<PageKey, double>>> lists;
  if (mode != SearchMode::kKeyword) {
    Status failed = vectors_->CatchUp(store_.get());
    if (failed.ok()) {
      auto v = vectors_->Search(query, k, in_space);
      if (v.ok()) {
        if (related_only) {  // Hits pointing away from the query (cosine <= 0) say nothing.
          v->erase(std::remove_if(v->begin(), v->end(),
                                  [](const auto& hit) { return hit.second <= 0; }),
                   v->end());
        }
        lists.push_back(std::move(v).value());
        vectors_failing_ = false;
      } else {
        failed = v.status();
      }
    }
    if (!failed.ok()) {
      if (mode != SearchMode::kHybrid) return failed;
      ++l3_stats.errors;
      ++counters_.search_fallbacks;
      NoteVectorFailure(failed);
    }
  }
  if (mode != SearchMode::kVector) {
    auto w = store_->KeywordSearch(query, k, space);
    if (!w.ok()) return w.status();
    lists.push_back(std::move(w).value());
  }
  if (lists.size() == 1) {  // One mode: its own scores, best first.
    for (const auto& [key, score] : lists[0]) {
      if (hits.size() == n) break;
      if (in_space(key)) hits.push_back({table_.FindKey(key)->page_id, score});
    }
    return hits;
  }
  // Hybrid: lists[0] is the vectors', lists[1] BM25's; fused as measured (util/rank_fusion.h).
  std::vector<int64_t> ranked[2];
  for (size_t l = 0; l < 2; ++l) {
    for (const auto& hit : lists[l]) ranked[l].push_back(hit.first);
  }
  std::vector<PageKey> named = NamedPages(table_, query, ranked[1], k);
  std::vector<FusedKey> fused = FuseHybrid(std::move(ranked[1]), std::move(ranked[0]), fusion,
                                           in_space, std::move(named));
  for (size_t i = 0; i < fused.size() && i < n; ++i) {
    hits.push_back(SearchHit{table_.FindKey(fused[i].key)->page_id, fused[i].score});
  }
  return hits;
}

Result<std::vector<SearchHit>> PagerImpl::Search(std::string_view query, size_t n,
                                                 SearchMode mode, std::string_view space) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return SearchLocked(query, n, mode, space);
}

Result<std::vector<std::string>> PagerImpl::Fault(std::string_view description, size_t n,
                                                  std::string_view space) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  auto hits = SearchLocked(description, n, SearchMode::kHybrid, space);
  if (!hits.ok()) return hits.status();
  std::vector<std::string> resident;
  std::unordered_set<PageKey> brought_in;
  for (const SearchHit& hit : *hits) {
    PageInfo* p = table_.Find(hit.page_id);
    if (!p) continue;
    auto loaded = RequestLocked(p, /*full=*/false, brought_in);  // May refresh `p`.
    if (!loaded.ok()) {
      // No more room without undoing this call's own work: the fault is resolved as far as
      // the budget allows.
      if (loaded.status().code() == StatusCode::kResourceExhausted) break;
      if (loaded.status().code() == StatusCode::kNotFound) continue;  // Deleted meanwhile.
      return loaded.status();
    }
    brought_in.insert(p->key);
    resident.push_back(p->page_id);
  }
  return resident;
}

std::string PagerImpl::BuildContext(std::string_view space_name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  Space* space = closed_ ? nullptr : FindSpace(space_name);
  if (!space) return out;
  for (PageKey key : space->resident->Order()) {
    const PageInfo* p = table_.FindKey(key);
    const L1Context::Resident* r = space->resident->Find(key);
    if (!p || !r) continue;
    if (!out.empty()) out += "\n\n";
    out += "=== [" + EscapeForOneLine(p->page_id) + "] ===\n";
    if (r->is_summary) out += "[COMPRESSED SUMMARY]\n";
    out += r->text;
  }
  return out;
}

size_t PagerImpl::ContextTokens(std::string_view space_name) {
  std::lock_guard<std::mutex> lock(mu_);
  Space* space = closed_ ? nullptr : FindSpace(space_name);
  return space ? space->resident->used_tokens() : 0;
}

std::vector<std::string> PagerImpl::ActivePages(std::string_view space_name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  Space* space = closed_ ? nullptr : FindSpace(space_name);
  if (!space) return ids;
  for (PageKey key : space->resident->Order()) ids.push_back(table_.FindKey(key)->page_id);
  return ids;
}

Result<PageInfo> PagerImpl::GetPageInfo(const std::string& page_id) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  auto page = Lookup(page_id);
  if (!page.ok()) return page.status();
  return **page;
}

std::vector<std::string> PagerImpl::PageIds(std::string_view space) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  if (closed_ || !SyncFromStore().ok()) return ids;
  for (PageKey key : table_.Keys(space)) ids.push_back(table_.FindKey(key)->page_id);
  return ids;
}

size_t PagerImpl::PageCount(std::string_view space) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return 0;
  SyncFromStore();
  return table_.size(space);
}

Result<std::string> PagerImpl::ReadPage(const std::string& page_id) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  auto page = Lookup(page_id);
  if (!page.ok()) return page.status();
  return l4_->Get((*page)->key);
}

PagerStats PagerImpl::Stats(std::string_view space_name) {
  std::lock_guard<std::mutex> lock(mu_);
  PagerStats s = counters_;
  s.space = std::string(space_name);
  Space* space = closed_ ? nullptr : FindSpace(space_name);
  s.requests = space ? space->requests : 0;
  s.faults = space ? space->faults : 0;
  s.evictions = space ? space->evictions : 0;
  s.releases = space ? space->releases : 0;
  s.searches = space ? space->searches : 0;
  for (TierId t : {TierId::kL1, TierId::kL2, TierId::kL3, TierId::kL4}) {
    const PageTable::Totals& totals = table_.totals(t, space_name);
    TierStats& ts = s.tiers[TierIndex(t)];
    ts.pages = totals.pages;
    ts.bytes = totals.bytes;
    ts.tokens = totals.tokens;
  }
  if (space) {
    // L1 holds views, not whole pages: report what is really resident.
    s.tiers[0].bytes = space->resident->Usage().bytes;
    s.tiers[0].tokens = space->resident->used_tokens();
    s.l1_budget = space->resident->budget();
    s.l1_used = space->resident->used_tokens();
    s.policy = space->resident->policy_name();
    for (PageKey key : space->resident->Order()) s.pinned_pages += table_.FindKey(key)->pinned ? 1 : 0;
  } else if (auto configured = space_options_.find(space_name);
             configured != space_options_.end() && configured->second.l1_tokens) {
    s.l1_budget = configured->second.l1_tokens;
  } else {
    s.l1_budget = options_.l1_tokens;
  }
  s.total_pages = table_.size(space_name);
  if (jobs_) s.compressions_pending = jobs_->pending();
  return s;
}

Result<std::string> PagerImpl::HandOff(std::string_view task_state_json) {
  VMLLM_RETURN_IF_ERROR(ValidateJson(task_state_json));
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  Snapshot s;
  s.snapshot_id = NewSnapshotId();
  s.created_at = clock_->Now();
  s.task_state_json = std::string(task_state_json);
  std::unordered_set<std::string> docs;
  Space& space = SpaceNamed(kDocumentSpace);
  for (PageKey key : space.resident->Order()) {
    const PageInfo* p = table_.FindKey(key);
    s.active_page_ids.push_back(p->page_id);
    docs.insert(p->doc_id);
    if (p->compressed) s.compressed_summaries[p->page_id] = p->summary;
    if (p->resident_as_summary) s.summary_page_ids.push_back(p->page_id);
  }
  for (PageKey key : table_.Keys()) {
    const PageInfo* p = table_.FindKey(key);
    if (docs.count(p->doc_id) && (p->tier == TierId::kL2 || p->tier == TierId::kL3)) {
      s.swap_page_ids.push_back(p->page_id);
    }
  }
  return SnapshotToJson(s);
}

Result<std::string> PagerImpl::ReceiveHandOff(std::string_view snapshot_json) {
  auto snapshot = SnapshotFromJson(snapshot_json);
  if (!snapshot.ok()) return snapshot.status();
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  std::unordered_set<PageKey> restored;
  std::unordered_set<std::string> as_summary(snapshot->summary_page_ids.begin(),
                                             snapshot->summary_page_ids.end());
  for (const std::string& id : snapshot->active_page_ids) {
    auto page = Lookup(id);
    if (!page.ok()) {
      if (page.status().code() == StatusCode::kNotFound) continue;  // Not in this store.
      return page.status();
    }
    // The same view the sender had: whole pages stay whole, summaries stay summaries.
    PageInfo* p = *page;
    auto loaded = RequestLocked(p, /*full=*/!as_summary.count(id), restored);
    if (!loaded.ok()) {
      if (loaded.status().code() == StatusCode::kResourceExhausted) break;
      if (loaded.status().code() == StatusCode::kNotFound) continue;  // Deleted meanwhile.
      return loaded.status();
    }
    restored.insert(p->key);
  }
  return snapshot->task_state_json;
}

void PagerImpl::MaybeFlushStats() {
  double now = clock_->Now();
  if (table_.dirty_count() < kDirtyFlushThreshold &&
      now - last_stats_flush_ < options_.stats_flush_seconds) {
    return;
  }
  last_stats_flush_ = now;
  // Statistics only: a failed write is retried with the next batch.
  auto updates = table_.TakeDirty();
  if (!store_->WriteStats(updates).ok()) {
    for (const auto& u : updates) {
      if (const PageInfo* p = table_.FindKey(u.key)) table_.MarkDirty(p);
    }
    ++counters_.tiers[TierIndex(TierId::kL4)].errors;
  }
}

Status PagerImpl::FlushLocked() {
  auto updates = table_.TakeDirty();
  Status s = store_->WriteStats(updates);
  if (!s.ok()) {
    for (const auto& u : updates) {
      if (const PageInfo* p = table_.FindKey(u.key)) table_.MarkDirty(p);
    }
    return s;
  }
  last_stats_flush_ = clock_->Now();
  return vectors_->Save();
}

Result<std::vector<std::string>> PagerImpl::TextsToEmbed(size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  VMLLM_RETURN_IF_ERROR(SyncFromStore());
  std::vector<std::string> texts;
  if (vectors_->CatchUp(store_.get()).ok() || limit == 0) return texts;
  VMLLM_RETURN_IF_ERROR(store_->ScanTexts(vectors_->watermark(), limit,
                                          [&](PageKey, std::string_view text) {
                                            texts.emplace_back(text);
                                          }));
  return texts;
}

Status PagerImpl::Flush() {
  if (jobs_) jobs_->WaitIdle();  // Without mu_: finishing jobs need it.
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return FlushLocked();
}

Status PagerImpl::Close() {
  if (jobs_) jobs_->Detach();  // Without mu_: a finishing job may hold the guard, wanting mu_.
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || !store_) return Status();
  Status s = FlushLocked();
  closed_ = true;
  spaces_.clear();
  l2_.reset();
  l3_.reset();
  l4_.reset();
  vectors_.reset();
  store_.reset();
  return s;
}

}  // namespace

Result<std::unique_ptr<Pager>> Pager::Open(PagerOptions options) {
  auto pager = std::make_unique<PagerImpl>(std::move(options));
  VMLLM_RETURN_IF_ERROR(pager->Init());
  return std::unique_ptr<Pager>(std::move(pager));
}

}  // namespace vmllm
