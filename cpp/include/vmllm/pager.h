// Pager: the page-fault handler. It owns one store (a directory), one L1 context and the tiers
// below it, and moves pages between them.
//
// A store directory holds `store.db` (SQLite in WAL mode: the page table, every page's original
// text, the L3 swap copies and the BM25 keyword index, all written in one transaction per
// document) and `vectors/` (hnswlib snapshots of the L3 vector index, a cache rebuilt from the
// database when missing, stale or from another embedder).
//
// Durability: a page is durable once Ingest returns. Access statistics (last access, counts) are
// written behind, at least every `stats_flush_seconds` and on Flush/Close.
//
// Several Pagers, in one process or many, may open the same store: SQLite serialises writers, and
// each Pager's vector index catches up with pages others wrote before it searches. Each Pager has
// its own L1 and (embedded) L2.
//
// Spaces: every page belongs to one space, a named set of pages with its own L1 (budget and
// policy): "doc" holds the documents Ingest makes; front ends put their pages in spaces of their
// own ("stream:<session>", ...) with PutPages. One store, one page table, one keyword index and
// one vector index serve them all; search, context and stats are per space, and a page-id call
// acts in the page's own space. A non-document page's id starts with "<space>/", so ids never
// collide across spaces and a front end can only reach its own pages by construction.
//
// Events: what the pager does to pages (page-in, eviction, release, compression, pin, unpin,
// put, delete) is recorded, numbered, in a ring of the last kEventRing events that any number of
// readers poll with Events(after): core threads never call out.
//
// Thread safety: a Pager is safe to share between threads; calls are serialised internally.
#ifndef VMLLM_PAGER_H_
#define VMLLM_PAGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vmllm/async_compressor.h"
#include "vmllm/chunker.h"
#include "vmllm/clock.h"
#include "vmllm/compressor.h"
#include "vmllm/embedder.h"
#include "vmllm/page.h"
#include "vmllm/status.h"
#include "vmllm/tier.h"
#include "vmllm/tokenizer.h"

namespace vmllm {

struct PagerOptions {
  std::string path;                 // Store directory; created if missing. REQUIRES: non-empty.
  size_t l1_tokens = 6000;          // L1 budget.
  size_t page_tokens = 2000;        // Largest page Ingest makes. REQUIRES: <= l1_tokens.
  std::string policy = "lru";       // See eviction_policy.h.
  MemoryTierOptions l2;             // For the embedded L2.
  double stats_flush_seconds = 2.0;
  // Optional parts; null means the built-in default (approx tokenizer, hashing embedder,
  // extractive compressor, system clock, embedded L2).
  std::shared_ptr<const Tokenizer> tokenizer;
  std::shared_ptr<const Embedder> embedder;
  std::shared_ptr<const Compressor> compressor;
  const Clock* clock = nullptr;
  std::unique_ptr<Tier> l2_tier;
  // Compress-on-evict away from the caller (an LLM, or Python's side). When set, eviction only
  // enqueues: the page has no summary (and comes back in full) until the job finishes; a failed
  // job falls back to `compressor`. Summaries are cached in the store by content hash and model.
  std::shared_ptr<AsyncCompressor> async_compressor;
  // Optional wrappers for the L3 swap and L4 disk tiers the pager builds over its store (tests
  // wrap them in a FaultInjectingTier). Null: the tier is used as built.
  using TierWrapFn = std::function<std::unique_ptr<Tier>(std::unique_ptr<Tier>)>;
  TierWrapFn wrap_l3;
  TierWrapFn wrap_l4;
};

enum class SearchMode { kHybrid, kVector, kKeyword };

// The space of the pages Ingest makes.
inline constexpr char kDocumentSpace[] = "doc";

// The L1 and the search fusion of one space; zero / empty fields take the pager's own
// (`l1_tokens`, `policy`, and the fusion tuned for documents: k = 10, BM25 weighted 3:1 with
// the built-in hashing embedder, 1:1 with any other).
struct SpaceOptions {
  size_t l1_tokens = 0;
  std::string policy;
  double rrf_k = 0;           // Reciprocal-rank fusion constant of hybrid search.
  double keyword_weight = 0;  // Of BM25's ranks against the vectors' (which weigh 1).
  // Vector hits with no similarity to the query (cosine <= 0) are left out: a search finds
  // only what shares something with it, as keyword search does.
  bool related_vectors_only = false;
};

// One page for PutPages.
struct PageWrite {
  std::string page_id;  // "<space>/<name>".
  std::string text;
};

// A front end's own record for a space (a stream session's stubs and pins, ...), versioned so
// that processes sharing a store notice each other's writes. Version 0: nothing stored yet.
struct SpaceRecord {
  int64_t version = 0;
  std::string state;
};

// Something the pager did to a page.
struct PagerEvent {
  enum class Kind { kPut, kPageIn, kEviction, kRelease, kCompression, kPin, kUnpin, kDelete };
  uint64_t seq = 0;   // 1, 2, ...: numbered in the order they happened.
  double time = 0;    // The pager's clock.
  Kind kind = Kind::kPut;
  std::string space;
  std::string page_id;
  uint64_t tokens = 0;  // Of the page (page-in: of the view brought in).
  TierId from = TierId::kL4;  // Page-in: the tier that answered.
};
const char* EventKindName(PagerEvent::Kind kind);

struct SearchHit {
  std::string page_id;
  double score = 0;  // Higher is better; comparable only within one result list.
};

struct TierStats {
  uint64_t hits = 0;      // Reads this tier answered.
  uint64_t misses = 0;    // Reads that fell through to a lower tier.
  uint64_t errors = 0;    // Reads or writes that failed (backend down, I/O).
  uint64_t pages = 0;     // Pages whose fastest copy is here.
  uint64_t bytes = 0;
  uint64_t tokens = 0;
};

// Of one space: the pages, totals, L1 and the counters of what happened to its pages. The tiers'
// hits, misses and errors count reads for every space (the tiers are shared).
struct PagerStats {
  TierStats tiers[4];     // Index 0 is L1 ... 3 is L4.
  uint64_t requests = 0;
  uint64_t faults = 0;            // Requests that L1 could not answer.
  uint64_t evictions = 0;         // Pages the policy pushed out of L1 to make room.
  uint64_t releases = 0;          // Pages released explicitly.
  uint64_t compressions = 0;
  uint64_t compression_failures = 0;
  uint64_t compression_fallbacks = 0;   // Async jobs that failed and got the extractive summary.
  uint64_t compressions_pending = 0;    // Async jobs not finished yet.
  std::string last_compression_error;   // Why the last async job failed (no secrets in it).
  uint64_t ingested_documents = 0;
  uint64_t ingested_pages = 0;
  uint64_t ingested_bytes = 0;
  uint64_t searches = 0;
  uint64_t search_fallbacks = 0;  // Hybrid searches answered by BM25 alone: the vectors failed.
  uint64_t l1_budget = 0;
  uint64_t l1_used = 0;
  uint64_t pinned_pages = 0;
  uint64_t total_pages = 0;
  std::string policy;
  std::string space;
};

class Pager {
 public:
  static Result<std::unique_ptr<Pager>> Open(PagerOptions options);
  virtual ~Pager() = default;

  // Cuts `text` into pages and stores them durably (replacing any earlier document with the same
  // id). Returns the page ids in order; empty text makes a document with no pages.
  // InvalidArgument: empty or invalid-UTF-8 doc id, doc id over 64 KiB, invalid UTF-8 text.
  virtual Result<std::vector<std::string>> Ingest(std::string_view doc_id,
                                                  std::string_view text) = 0;
  // Deletes document `doc_id`: every page of it leaves every tier and both indexes, in this
  // process at once and in others at their next sync. Returns how many pages it had (0 for an
  // unknown document). InvalidArgument for an id Ingest would refuse.
  virtual Result<size_t> Delete(std::string_view doc_id) = 0;
  // Ingest with the cuts given: `chunks` (offset, length, tokens) must tile `text` in order, as
  // a Chunker's pages do; their token counts are stored as given. For tokenizers the core may
  // not call (a Python callable counts on Python's side). InvalidArgument when the chunks do not
  // tile the text or a chunk is empty.
  virtual Result<std::vector<std::string>> IngestChunks(std::string_view doc_id,
                                                        std::string_view text,
                                                        const std::vector<Chunk>& chunks) = 0;

  // Stores pages with the ids given into `space` (not the document space), in one transaction
  // that survives a crash of the process at return and a power loss at SQLite's next
  // checkpoint (no fsync per call: front ends put pages on every request). A page already stored with the same text is left as it is
  // (content-addressed ids make a re-put free); one with other text is replaced. Returns how
  // many pages were new or replaced. InvalidArgument: a bad space name, an id outside the space,
  // invalid UTF-8.
  virtual Result<size_t> PutPages(std::string_view space, const std::vector<PageWrite>& pages) = 0;
  // Deletes pages PutPages stored in `space`, in one transaction; ids unknown there are skipped.
  // Returns how many were deleted. InvalidArgument for a bad space name or the document space.
  virtual Result<size_t> DeletePages(std::string_view space,
                                     const std::vector<std::string>& page_ids) = 0;
  // Sets a space's L1 budget, policy and fusion. InvalidArgument once the space has resident
  // pages, for a policy name the pager does not know, a budget below `page_tokens`, or a
  // negative (or not finite) fusion setting.
  virtual Status ConfigureSpace(std::string_view space, const SpaceOptions& options) = 0;
  // Deletes every page of `space` and its record, here at once and elsewhere at the next sync.
  // Returns how many pages it had.
  virtual Result<size_t> DeleteSpace(std::string_view space) = 0;
  // Every space that has pages, sorted.
  virtual std::vector<std::string> Spaces() = 0;

  // The front end's record for `space` (version 0 and empty when none).
  virtual Result<SpaceRecord> LoadSpaceRecord(std::string_view space) = 0;
  // Just the version: one indexed lookup, to see whether another process wrote.
  virtual Result<int64_t> SpaceRecordVersion(std::string_view space) = 0;
  // Stores `state` as version `expected_version` + 1, if the stored version is still
  // `expected_version`; false (nothing written) when another writer got there first.
  virtual Result<bool> SaveSpaceRecord(std::string_view space, int64_t expected_version,
                                       std::string_view state) = 0;

  // PutPages and SaveSpaceRecord in one transaction, so one durable commit: what a front end
  // does after each step. The pages are stored whether or not the record's swap succeeds;
  // returns whether it did.
  virtual Result<bool> PutPagesAndRecord(std::string_view space,
                                         const std::vector<PageWrite>& pages,
                                         int64_t expected_version, std::string_view state) = 0;

  // Size of the event ring; older events are dropped.
  static constexpr size_t kEventRing = 4096;
  // Events numbered above `after`, oldest first, at most `limit`. A reader that fell behind by
  // more than the ring sees a gap in the numbers.
  virtual std::vector<PagerEvent> Events(uint64_t after, size_t limit) = 0;

  // Makes `page_id` resident in L1 and returns what L1 holds for it. A compressed page comes in
  // as its summary unless `full`; a page resident as its summary is replaced by the full text
  // when `full`. Evicts by policy to make room. NotFound for an unknown id; ResourceExhausted
  // when pinned pages leave no room.
  virtual Result<std::string> RequestPage(const std::string& page_id, bool full) = 0;

  // RequestPage for several pages, with one batched L2 read (one Redis round trip) for all the
  // pages that must be faulted in; returns what L1 holds for each, in order. A page this call
  // brought in is never evicted to make room for another of its pages: ResourceExhausted when
  // they do not all fit (the pages before the one that failed stay resident).
  virtual Result<std::vector<std::string>> RequestPages(const std::vector<std::string>& page_ids,
                                                        bool full) = 0;

  // Moves a resident page out of L1 into L2 (and the L3 swap), compressing it first when asked.
  // Returns false when the page was not resident. NotFound for an unknown id.
  virtual Result<bool> ReleasePage(const std::string& page_id, bool compress) = 0;

  // A pinned page is never evicted. Pin pages it in first. ResourceExhausted when the pinned
  // pages would exceed the L1 budget.
  virtual Status Pin(const std::string& page_id) = 0;
  virtual Status Unpin(const std::string& page_id) = 0;

  // Largest `n` of Search and Fault (InvalidArgument beyond it).
  static constexpr size_t kMaxSearchResults = 100000;

  // Page ids best matching `query`, best first, at most `n`.
  virtual Result<std::vector<SearchHit>> Search(std::string_view query, size_t n,
                                                SearchMode mode,
                                                std::string_view space = kDocumentSpace) = 0;

  // Resolves a page fault described in words: searches, then pages in up to `n` of the best
  // pages, never evicting a page this same call brought in. Returns the ids now resident.
  virtual Result<std::vector<std::string>> Fault(std::string_view description, size_t n,
                                                 std::string_view space = kDocumentSpace) = 0;

  // L1 as prompt text: "=== [page_id] ===\n<text>" sections (control characters in a page id
  // escaped, see EscapeForOneLine) joined by blank lines, in the order
  // pages entered L1; a page resident as its summary has "[COMPRESSED SUMMARY]" under its header.
  // All three: of one space's L1.
  virtual std::string BuildContext(std::string_view space = kDocumentSpace) = 0;
  virtual size_t ContextTokens(std::string_view space = kDocumentSpace) = 0;
  virtual std::vector<std::string> ActivePages(std::string_view space = kDocumentSpace) = 0;

  virtual Result<PageInfo> GetPageInfo(const std::string& page_id) = 0;
  // Every page id of a space, in key order.
  virtual std::vector<std::string> PageIds(std::string_view space = kDocumentSpace) = 0;
  virtual size_t PageCount(std::string_view space = kDocumentSpace) = 0;
  virtual Result<std::string> ReadPage(const std::string& page_id) = 0;  // Full text; no paging.
  virtual PagerStats Stats(std::string_view space = kDocumentSpace) = 0;

  // A JSON snapshot of the document space for another agent: task state (a JSON value, given as text), active page ids,
  // swap page ids of the same documents, summaries. Pointers, not payloads.
  virtual Result<std::string> HandOff(std::string_view task_state_json) = 0;
  // Restores a snapshot's active pages into this Pager's L1 (ids unknown to this store are
  // skipped and reported) and returns its task state as JSON text. InvalidArgument for a
  // malformed snapshot.
  virtual Result<std::string> ReceiveHandOff(std::string_view snapshot_json) = 0;

  // For an embedder that runs outside the core (ProvidedEmbedder): indexes what it can, then
  // returns the texts of up to `limit` pages still waiting for a vector, in key order. Empty
  // when the vector index is up to date.
  virtual Result<std::vector<std::string>> TextsToEmbed(size_t limit) = 0;

  // Waits for pending async compression jobs, then writes behind-state (access statistics, the
  // vector index snapshot) to disk.
  virtual Status Flush() = 0;
  // Flushes and releases the store; results of async compression jobs still running are
  // dropped (the pages stay whole). Further calls fail with InvalidArgument.
  virtual Status Close() = 0;
};

}  // namespace vmllm

#endif  // VMLLM_PAGER_H_
