// DiskStore: the one adapter around SQLite. Everything durable in a store lives in its
// `store.db`: the page table, each page's original text (L4), the swap copies (L3) and the
// FTS5 keyword index (BM25 for L3's hybrid search), so one transaction covers a document's pages,
// their table entries and their index rows together.
//
// Callers bracket multi-statement writes with Begin/Commit (Rollback on any failure). A writer
// takes SQLite's write lock at Begin (BEGIN IMMEDIATE), so two processes never deadlock on an
// upgrade; a busy database is retried for up to `busy_timeout_ms`.
//
// Thread safety: internally synchronised, but a transaction belongs to the thread that began it;
// the pager serialises its calls, which is what makes that safe.
#ifndef VMLLM_STORE_DISK_STORE_H_
#define VMLLM_STORE_DISK_STORE_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmllm/page.h"
#include "vmllm/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace vmllm {

// The durable part of a page-table entry.
struct PageRecord {
  PageKey key = 0;
  std::string space = "doc";
  std::string page_id;
  std::string doc_id;
  uint32_t chunk_index = 0;
  uint32_t tokens = 0;
  uint64_t bytes = 0;
  uint64_t content_hash = 0;
  double created = 0;
  double last_accessed = 0;
  uint64_t access_count = 0;
  uint64_t fault_count = 0;
  bool pinned = false;
  TierId durable_tier = TierId::kL4;  // kL3 once a swap copy exists.
  std::optional<std::string> summary;
};

// A front end's own state for one space (a stream session's stubs and pins, ...), versioned so
// that processes sharing the store notice each other's writes. Version 0: none stored yet.
struct SpaceState {
  int64_t version = 0;
  std::string state;
};

// Access statistics written behind in batches.
struct PageStatsUpdate {
  PageKey key = 0;
  double last_accessed = 0;
  uint64_t access_count = 0;
  uint64_t fault_count = 0;
  bool pinned = false;
};

class DiskStore {
 public:
  // Opens or creates `<dir>/store.db`, migrating a store of an older format in place.
  // StorageError when the directory cannot be created or written (read-only file system,
  // permissions), the file is not a vmllm store, or its format is one this release cannot read
  // (the message names both versions).
  static Result<std::unique_ptr<DiskStore>> Open(const std::string& dir);
  ~DiskStore();
  DiskStore(const DiskStore&) = delete;
  DiskStore& operator=(const DiskStore&) = delete;

  // Begin and Commit fail with StorageError when `store.db` was deleted or replaced while
  // open; a failed Commit rolls the transaction back, so nothing is acknowledged that is not
  // durable.
  Status Begin();
  // A transaction that, committed, survives a crash of the process at once and a power loss
  // once SQLite next checkpoints its log (synchronous=NORMAL: no fsync on commit). For what a
  // front end writes on every request, whose loss on a power cut costs a re-derivation, never
  // a page of a document.
  Status BeginLight();
  Status Commit();
  void Rollback();

  // The store's identity: a random id made with the store, so derived caches (vector
  // snapshots, Redis keys) made for another store that had the same path are never used.
  const std::string& store_id() const { return store_id_; }

  // --- Pages (L4) ---
  // Inserts a page and its keyword-index row; returns its new key. Inside a transaction.
  Result<PageKey> InsertPage(const PageRecord& record, std::string_view text);
  // Deletes every page of `doc_id` in `space` (with swap copies and index rows); returns their
  // keys. The keys are also logged, so other processes drop the pages from their tables and
  // indexes.
  Result<std::vector<PageKey>> DeleteDocument(std::string_view doc_id, std::string_view space);
  // The same for every page of `space`, and its space state.
  Result<std::vector<PageKey>> DeleteSpace(std::string_view space);
  // Calls `fn` for every key logged as deleted after log position `after` (0: all), oldest
  // first; returns the position reached, to pass as `after` next time.
  Result<int64_t> ForEachDeleted(int64_t after, const std::function<void(PageKey)>& fn);
  Result<std::string> ReadText(PageKey key);                    // NotFound if absent.
  Result<std::optional<PageRecord>> FindPage(std::string_view page_id);
  // Calls `fn` for every page with key > `after`, in key order, without its text.
  Status ForEachPage(PageKey after, const std::function<void(PageRecord&&)>& fn);
  // Calls `fn(key, text)` for up to `limit` pages with key > `after`, in key order.
  Status ScanTexts(PageKey after, size_t limit,
                   const std::function<void(PageKey, std::string_view)>& fn);
  Result<PageKey> MaxKey();
  Status WriteStats(const std::vector<PageStatsUpdate>& updates);  // One transaction.
  Status SetSummary(PageKey key, std::string_view summary);

  // --- Swap copies (L3) ---
  // Stores the copy and records the page's durable tier as L3, atomically.
  Status SwapPut(PageKey key, std::string_view text);
  Result<std::string> SwapGet(PageKey key);  // NotFound if absent.
  Status SwapErase(PageKey key);            // Durable tier back to L4.
  Result<bool> SwapContains(PageKey key);
  struct Usage {
    uint64_t pages = 0;
    uint64_t bytes = 0;
  };
  Result<Usage> SwapUsage();

  // --- Keyword index (FTS5, BM25) ---
  // Keys best matching the words of `query` (any of them), best first, with a higher-is-better
  // score, among the pages of `space` (every space when empty). Query syntax is never
  // interpreted: words are quoted.
  Result<std::vector<std::pair<PageKey, double>>> KeywordSearch(std::string_view query, size_t k,
                                                                std::string_view space);

  // --- Space state ---
  Result<SpaceState> GetSpaceState(std::string_view space);
  Result<int64_t> GetSpaceStateVersion(std::string_view space);  // One indexed lookup.
  // Stores `state` as version `expected_version` + 1 if the stored version is still
  // `expected_version`; false (nothing written) if another writer got there first.
  Result<bool> PutSpaceState(std::string_view space, int64_t expected_version,
                             std::string_view state);

  // --- Metadata ---
  Result<std::optional<std::string>> GetMeta(std::string_view name);
  Status SetMeta(std::string_view name, std::string_view value);

  // --- Summary cache: LLM summaries by (content hash, model), so a page evicted again, or the
  // same text in another document, is not sent to the model twice. ---
  Result<std::optional<std::string>> GetCachedSummary(uint64_t content_hash,
                                                      std::string_view model);
  Status PutCachedSummary(uint64_t content_hash, std::string_view model,
                          std::string_view summary);

 private:
  DiskStore() = default;
  Status Exec(const char* sql);
  Status Error(const char* what) const;
  Result<sqlite3_stmt*> Prepare(const char* sql);

  // Deletes the pages `select` (key, text) finds and `del` removes, both bound to `values`.
  // `select` and `del` are SQL literals: prepared statements are cached by their address.
  Result<std::vector<PageKey>> DeletePages(const char* select, const char* del,
                                           std::initializer_list<std::string_view> values);
  void EndLight();  // Back to synchronous=FULL after a BeginLight transaction.
  Status EnsureSummaryCache();
  // Migrates a store of format `from` to this release's, or fails naming both versions.
  Status Migrate(const std::string& from);

  sqlite3* db_ = nullptr;
  std::string file_;
  std::string store_id_;
  bool summary_cache_ready_ = false;
  bool light_ = false;  // In a BeginLight transaction: Commit restores synchronous=FULL.
  std::recursive_mutex mu_;
  std::vector<std::pair<const char*, sqlite3_stmt*>> cache_;  // Prepared statements by SQL text.
};

}  // namespace vmllm

#endif  // VMLLM_STORE_DISK_STORE_H_
