#include "store/disk_store.h"

#include "store/sqlite_common.h"

#include <dirent.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "util/hash.h"
#include "vmllm/backend_events.h"

namespace vmllm {
namespace {

// 2: content hashes are FNV-1a with its standard offset basis (version 1 had a digit missing).
// 3: every page belongs to a space ("doc", "stream:<session>", ...); front ends keep their
//    state per space in `space_state`.
constexpr const char* kFormatVersion = "3";

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages(
  key INTEGER PRIMARY KEY AUTOINCREMENT,
  page_id TEXT NOT NULL UNIQUE,
  doc_id TEXT NOT NULL,
  chunk_index INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  hash INTEGER NOT NULL,
  created REAL NOT NULL,
  last_accessed REAL NOT NULL,
  access_count INTEGER NOT NULL DEFAULT 0,
  fault_count INTEGER NOT NULL DEFAULT 0,
  pinned INTEGER NOT NULL DEFAULT 0,
  tier INTEGER NOT NULL DEFAULT 4,
  summary TEXT,
  text TEXT NOT NULL,
  space TEXT NOT NULL DEFAULT 'doc');
CREATE INDEX IF NOT EXISTS pages_by_doc ON pages(doc_id);
CREATE TABLE IF NOT EXISTS swap(key INTEGER PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deleted_pages(seq INTEGER PRIMARY KEY AUTOINCREMENT,
                                         key INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS pages_fts USING fts5(
  text, content='pages', content_rowid='key', tokenize='porter unicode61');
CREATE TABLE IF NOT EXISTS space_state(space TEXT PRIMARY KEY, version INTEGER NOT NULL,
                                       state TEXT NOT NULL);
)sql";

// Needs the `space` column, which a store of format 2 or older gets from Migrate.
const char* kSpaceIndex = "CREATE INDEX IF NOT EXISTS pages_by_space ON pages(space, key);";

const char* kRecordColumns =
    "key, page_id, doc_id, chunk_index, tokens, bytes, hash, created, last_accessed, "
    "access_count, fault_count, pinned, tier, summary, space";

std::string ColumnText(sqlite3_stmt* stmt, int col) {
  const void* data = sqlite3_column_blob(stmt, col);
  int size = sqlite3_column_bytes(stmt, col);
  return data ? std::string(static_cast<const char*>(data), size) : std::string();
}

PageRecord ReadRecord(sqlite3_stmt* s) {
  PageRecord r;
  r.key = sqlite3_column_int64(s, 0);
  r.page_id = ColumnText(s, 1);
  r.doc_id = ColumnText(s, 2);
  r.chunk_index = static_cast<uint32_t>(sqlite3_column_int64(s, 3));
  r.tokens = static_cast<uint32_t>(sqlite3_column_int64(s, 4));
  r.bytes = static_cast<uint64_t>(sqlite3_column_int64(s, 5));
  r.content_hash = static_cast<uint64_t>(sqlite3_column_int64(s, 6));
  r.created = sqlite3_column_double(s, 7);
  r.last_accessed = sqlite3_column_double(s, 8);
  r.access_count = static_cast<uint64_t>(sqlite3_column_int64(s, 9));
  r.fault_count = static_cast<uint64_t>(sqlite3_column_int64(s, 10));
  r.pinned = sqlite3_column_int(s, 11) != 0;
  r.durable_tier = sqlite3_column_int(s, 12) == 3 ? TierId::kL3 : TierId::kL4;
  if (sqlite3_column_type(s, 13) != SQLITE_NULL) r.summary = ColumnText(s, 13);
  r.space = ColumnText(s, 14);
  return r;
}

// Resets a cached statement on scope exit so it never holds a read lock past its use.
class StatementScope {
 public:
  explicit StatementScope(sqlite3_stmt* s) : s_(s) {}
  ~StatementScope() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

 private:
  sqlite3_stmt* s_;
};

void BindText(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

// True when `<dir>/vectors` holds a vector snapshot: caches that only a store.db could have made.
bool HasVectorSnapshots(const std::string& dir) {
  bool found = false;
  if (DIR* d = ::opendir((dir + "/vectors").c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (std::strncmp(e->d_name, "index-", 6) == 0) found = true;
    }
    ::closedir(d);
  }
  return found;
}

// SQL function vmllm_content_hash(text): ContentHash of the value's bytes, for migrations.
void SqlContentHash(sqlite3_context* context, int, sqlite3_value** args) {
  const void* data = sqlite3_value_blob(args[0]);
  std::string_view text(static_cast<const char*>(data), data ? sqlite3_value_bytes(args[0]) : 0);
  sqlite3_result_int64(context, static_cast<sqlite3_int64>(ContentHash(text)));
}

}  // namespace

// Brings a store of an older format to this one, inside the open transaction, one version
// step at a time.
Status DiskStore::Migrate(const std::string& from) {
  if (from != "1" && from != "2") {
    return Status::StorageError("store '" + file_ + "' has format version " + from +
                                "; this vmllm reads version " + kFormatVersion);
  }
  if (from == "1") {
    if (sqlite3_create_function_v2(db_, "vmllm_content_hash", 1,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, SqlContentHash,
                                   nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Error("register vmllm_content_hash");
    }
    // Version 1 hashed with another offset basis: rehash every page, and drop the summary
    // cache (a cache keyed by those hashes).
    VMLLM_RETURN_IF_ERROR(Exec("UPDATE pages SET hash = vmllm_content_hash(text);"
                               "DROP TABLE IF EXISTS summary_cache;"));
  }
  // Versions 1 and 2 had documents only: every page joins the document space. (A store that
  // lost its version row is migrated from 1 and may have the column already.)
  auto has_space = Prepare("SELECT 1 FROM pragma_table_info('pages') WHERE name = 'space'");
  if (!has_space.ok()) return has_space.status();
  int rc;
  {
    StatementScope scope(*has_space);
    rc = sqlite3_step(*has_space);
  }
  if (rc == SQLITE_DONE) {
    VMLLM_RETURN_IF_ERROR(
        Exec("ALTER TABLE pages ADD COLUMN space TEXT NOT NULL DEFAULT 'doc';"));
  } else if (rc != SQLITE_ROW) {
    return Error("read the page table's columns");
  }
  PostBackendWarning("store '" + file_ + "' migrated from format version " + from + " to " +
                     kFormatVersion);
  return SetMeta("format_version", kFormatVersion);
}

Result<std::unique_ptr<DiskStore>> DiskStore::Open(const std::string& dir) {
  // synchronous=FULL: a committed ingest survives power loss, not only a process crash.
  const std::string file = dir + "/store.db";
  struct stat st;
  if ((::stat(file.c_str(), &st) != 0 || st.st_size == 0) && HasVectorSnapshots(dir)) {
    PostBackendWarning("store '" + dir + "': store.db is missing or empty but the directory "
                       "holds caches of an earlier store; starting a new, empty store (the "
                       "caches are rebuilt for it)");
  }
  auto db = OpenSqliteInStore(dir, "store.db", "FULL");
  if (!db.ok()) return db.status();
  std::unique_ptr<DiskStore> store(new DiskStore());
  store->db_ = *db;
  store->file_ = file;
  VMLLM_RETURN_IF_ERROR(store->Begin());
  Status s = store->Exec(kSchema);
  if (s.ok()) {
    // Get-or-create inside the write transaction, so two processes opening a new store at
    // once agree on one id.
    auto id = store->GetMeta("store_id");
    if (!id.ok()) {
      s = id.status();
    } else if (id->has_value()) {
      store->store_id_ = **id;
    } else {
      store->store_id_ = RandomStoreId();
      s = store->SetMeta("store_id", store->store_id_);
    }
  }
  if (s.ok()) {
    auto version = store->GetMeta("format_version");
    if (!version.ok()) {
      s = version.status();
    } else if (!version->has_value()) {
      // A new store, or one whose meta rows were lost: rehashing from the texts is right for
      // any version, so a store with pages is treated as the oldest.
      auto has_pages = store->MaxKey();
      if (!has_pages.ok()) {
        s = has_pages.status();
      } else {
        s = *has_pages > 0 ? store->Migrate("1") : store->SetMeta("format_version", kFormatVersion);
      }
    } else if (**version != kFormatVersion) {
      s = store->Migrate(**version);
    }
  }
  if (s.ok()) s = store->Exec(kSpaceIndex);
  if (!s.ok()) {
    store->Rollback();
    return s;
  }
  VMLLM_RETURN_IF_ERROR(store->Commit());
  return store;
}

DiskStore::~DiskStore() {
  for (auto& entry : cache_) sqlite3_finalize(entry.second);
  if (db_) sqlite3_close_v2(db_);
}

Status DiskStore::Error(const char* what) const {
  return Status::StorageError(std::string(what) + ": " + sqlite3_errmsg(db_));
}

Status DiskStore::Exec(const char* sql) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Status::StorageError(msg);
  }
  return Status();
}

Result<sqlite3_stmt*> DiskStore::Prepare(const char* sql) {
  for (auto& entry : cache_) {
    if (entry.first == sql) return entry.second;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    return Error("prepare");
  }
  cache_.emplace_back(sql, stmt);
  return stmt;
}

Status DiskStore::Begin() {
  VMLLM_RETURN_IF_ERROR(CheckFileInPlace(db_, file_));
  return Exec("BEGIN IMMEDIATE;");
}

Status DiskStore::BeginLight() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL;"));
  light_ = true;
  Status s = Begin();
  if (!s.ok()) EndLight();
  return s;
}

void DiskStore::EndLight() {
  if (!light_) return;
  light_ = false;
  sqlite3_exec(db_, "PRAGMA synchronous=FULL;", nullptr, nullptr, nullptr);
}

Status DiskStore::Commit() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Status s = CheckFileInPlace(db_, file_);
  if (s.ok()) s = Exec("COMMIT;");
  if (!s.ok()) Rollback();
  EndLight();
  return s;
}
void DiskStore::Rollback() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
  EndLight();
}

Result<PageKey> DiskStore::InsertPage(const PageRecord& r, std::string_view text) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  static const char* kInsert =
      "INSERT INTO pages(page_id, doc_id, chunk_index, tokens, bytes, hash, created, "
      "last_accessed, access_count, fault_count, pinned, tier, summary, text, space) "
      "VALUES(?,?,?,?,?,?,?,?,0,0,0,4,NULL,?,?)";
  static const char* kIndex = "INSERT INTO pages_fts(rowid, text) VALUES(?, ?)";
  auto insert = Prepare(kInsert);
  if (!insert.ok()) return insert.status();
  sqlite3_stmt* s = *insert;
  StatementScope scope(s);
  BindText(s, 1, r.page_id);
  BindText(s, 2, r.doc_id);
  sqlite3_bind_int64(s, 3, r.chunk_index);
  sqlite3_bind_int64(s, 4, r.tokens);
  sqlite3_bind_int64(s, 5, static_cast<int64_t>(r.bytes));
  sqlite3_bind_int64(s, 6, static_cast<int64_t>(r.content_hash));
  sqlite3_bind_double(s, 7, r.created);
  sqlite3_bind_double(s, 8, r.last_accessed);
  BindText(s, 9, text);
  BindText(s, 10, r.space);
  if (sqlite3_step(s) != SQLITE_DONE) return Error("insert page");
  PageKey key = sqlite3_last_insert_rowid(db_);
  auto index = Prepare(kIndex);
  if (!index.ok()) return index.status();
  StatementScope index_scope(*index);
  sqlite3_bind_int64(*index, 1, key);
  BindText(*index, 2, text);
  if (sqlite3_step(*index) != SQLITE_DONE) return Error("index page");
  return key;
}

Result<std::vector<PageKey>> DiskStore::DeleteDocument(std::string_view doc_id,
                                                       std::string_view space) {
  // In its own space only: a document id spelled "stream:<s>/<page>" never reaches a session.
  return DeletePages("SELECT key, text FROM pages WHERE doc_id = ?1 AND space = ?2",
                     "DELETE FROM pages WHERE doc_id = ?1 AND space = ?2", {doc_id, space});
}

Result<std::vector<PageKey>> DiskStore::DeleteSpace(std::string_view space) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto keys = DeletePages("SELECT key, text FROM pages WHERE space = ?",
                          "DELETE FROM pages WHERE space = ?", {space});
  if (!keys.ok()) return keys;
  auto state = Prepare("DELETE FROM space_state WHERE space = ?");
  if (!state.ok()) return state.status();
  StatementScope scope(*state);
  BindText(*state, 1, space);
  if (sqlite3_step(*state) != SQLITE_DONE) return Error("delete space state");
  return keys;
}

Result<std::vector<PageKey>> DiskStore::DeletePages(
    const char* kSelect, const char* kDelete, std::initializer_list<std::string_view> values) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  // External-content FTS5 needs the old text to remove a row's terms.
  static const char* kUnindex =
      "INSERT INTO pages_fts(pages_fts, rowid, text) VALUES('delete', ?, ?)";
  static const char* kDeleteSwap = "DELETE FROM swap WHERE key = ?";
  auto select = Prepare(kSelect);
  auto unindex = Prepare(kUnindex);
  auto delete_swap = Prepare(kDeleteSwap);
  auto del = Prepare(kDelete);
  for (auto* r : {&select, &unindex, &delete_swap, &del}) {
    if (!r->ok()) return r->status();
  }
  std::vector<PageKey> keys;
  {
    StatementScope scope(*select);
    int i = 0;
    for (std::string_view value : values) BindText(*select, ++i, value);
    int rc;
    while ((rc = sqlite3_step(*select)) == SQLITE_ROW) {
      PageKey key = sqlite3_column_int64(*select, 0);
      keys.push_back(key);
      StatementScope u(*unindex);
      sqlite3_bind_int64(*unindex, 1, key);
      sqlite3_bind_value(*unindex, 2, sqlite3_column_value(*select, 1));
      if (sqlite3_step(*unindex) != SQLITE_DONE) return Error("unindex page");
      StatementScope d(*delete_swap);
      sqlite3_bind_int64(*delete_swap, 1, key);
      if (sqlite3_step(*delete_swap) != SQLITE_DONE) return Error("delete swap copy");
    }
    if (rc != SQLITE_DONE) return Error("select pages to delete");
  }
  StatementScope scope(*del);
  int i = 0;
  for (std::string_view value : values) BindText(*del, ++i, value);
  if (sqlite3_step(*del) != SQLITE_DONE) return Error("delete pages");
  auto log = Prepare("INSERT INTO deleted_pages(key) VALUES(?)");
  if (!log.ok()) return log.status();
  for (PageKey key : keys) {
    StatementScope l(*log);
    sqlite3_bind_int64(*log, 1, key);
    if (sqlite3_step(*log) != SQLITE_DONE) return Error("log deleted page");
  }
  return keys;
}

Result<int64_t> DiskStore::ForEachDeleted(int64_t after,
                                          const std::function<void(PageKey)>& fn) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto stmt = Prepare("SELECT seq, key FROM deleted_pages WHERE seq > ? ORDER BY seq");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  sqlite3_bind_int64(*stmt, 1, after);
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    after = sqlite3_column_int64(*stmt, 0);
    fn(sqlite3_column_int64(*stmt, 1));
  }
  if (rc != SQLITE_DONE) return Error("deleted pages");
  return after;
}

Result<std::string> DiskStore::ReadText(PageKey key) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto stmt = Prepare("SELECT text FROM pages WHERE key = ?");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  sqlite3_bind_int64(*stmt, 1, key);
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return ColumnText(*stmt, 0);
  if (rc == SQLITE_DONE) return Status::NotFound("page key " + std::to_string(key));
  return Error("read page");
}

Result<std::optional<PageRecord>> DiskStore::FindPage(std::string_view page_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  static const std::string kSql =
      std::string("SELECT ") + kRecordColumns + " FROM pages WHERE page_id = ?";
  auto stmt = Prepare(kSql.c_str());
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  BindText(*stmt, 1, page_id);
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return std::optional<PageRecord>(ReadRecord(*stmt));
  if (rc == SQLITE_DONE) return std::optional<PageRecord>();
  return Error("find page");
}

Status DiskStore::ForEachPage(PageKey after, const std::function<void(PageRecord&&)>& fn) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  static const std::string kSql =
      std::string("SELECT ") + kRecordColumns + " FROM pages WHERE key > ? ORDER BY key";
  auto stmt = Prepare(kSql.c_str());
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  sqlite3_bind_int64(*stmt, 1, after);
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) fn(ReadRecord(*stmt));
  return rc == SQLITE_DONE ? Status() : Error("scan pages");
}

Status DiskStore::ScanTexts(PageKey after, size_t limit,
                            const std::function<void(PageKey, std::string_view)>& fn) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto stmt = Prepare("SELECT key, text FROM pages WHERE key > ? ORDER BY key LIMIT ?");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  sqlite3_bind_int64(*stmt, 1, after);
  sqlite3_bind_int64(*stmt, 2, static_cast<int64_t>(limit));
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    const void* data = sqlite3_column_blob(*stmt, 1);
    size_t size = static_cast<size_t>(sqlite3_column_bytes(*stmt, 1));
    fn(sqlite3_column_int64(*stmt, 0),
       std::string_view(data ? static_cast<const char*>(data) : "", size));
  }
  return rc == SQLITE_DONE ? Status() : Error("scan texts");
}

Result<PageKey> DiskStore::MaxKey() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto stmt = Prepare("SELECT COALESCE(MAX(key), 0) FROM pages");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  if (sqlite3_step(*stmt) != SQLITE_ROW) return Error("max key");
  return sqlite3_column_int64(*stmt, 0);
}

Status DiskStore::WriteStats(const std::vector<PageStatsUpdate>& updates) {
  if (updates.empty()) return Status();
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto stmt = Prepare(
      "UPDATE pages SET last_accessed = ?, access_count = ?, fault_count = ?, pinned = ? "
      "WHERE key = ?");
  if (!stmt.ok()) return stmt.status();
  VMLLM_RETURN_IF_ERROR(Begin());
  for (const auto& u : updates) {
    StatementScope scope(*stmt);
    sqlite3_bind_double(*stmt, 1, u.last_accessed);
    sqlite3_bind_int64(*stmt, 2, static_cast<int64_t>(u.access_count));
    sqlite3_bind_int64(*stmt, 3, static_cast<int64_t>(u.fault_count));
    sqlite3_bind_int(*stmt, 4, u.pinned ? 1 : 0);
    sqlite3_bind_int64(*stmt, 5, u.key);
    if (sqlite3_step(*stmt) != SQLITE_DONE) {
      Status s = Error("write access statistics");
      Rollback();
      return s;
    }
  }
  return Commit();
}

Status DiskStore::SetSummary(PageKey key, std::string_view summary) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto stmt = Prepare("UPDATE pages SET summary = ? WHERE key = ?");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  BindText(*stmt, 1, summary);
  sqlite3_bind_int64(*stmt, 2, key);
  return sqlite3_step(*stmt) == SQLITE_DONE ? Status() : Error("set summary");
}

Status DiskStore::SwapPut(PageKey key, std::string_view text) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto put = Prepare("INSERT OR REPLACE INTO swap(key, text) VALUES(?, ?)");
  auto tier = Prepare("UPDATE pages SET tier = 3 WHERE key = ?");
  if (!put.ok()) return put.status();
  if (!tier.ok()) return tier.status();
  VMLLM_RETURN_IF_ERROR(Begin());
  StatementScope a(*put), b(*tier);
  sqlite3_bind_int64(*put, 1, key);
  BindText(*put, 2, text);
  sqlite3_bind_int64(*tier, 1, key);
  if (sqlite3_step(*put) != SQLITE_DONE || sqlite3_step(*tier) != SQLITE_DONE) {
    Status s = Error("swap put");
    Rollback();
    return s;
  }
  return Commit();
}

Result<std::string> DiskStore::SwapGet(PageKey key) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto stmt = Prepare("SELECT text FROM swap WHERE key = ?");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  sqlite3_bind_int64(*stmt, 1, key);
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return ColumnText(*stmt, 0);
  if (rc == SQLITE_DONE) return Status::NotFound("no swap copy of page key " + std::to_string(key));
  return Error("swap get");
}

Status DiskStore::SwapErase(PageKey key) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto del = Prepare("DELETE FROM swap WHERE key = ?");
  auto tier = Prepare("UPDATE pages SET tier = 4 WHERE key = ?");
  if (!del.ok()) return del.status();
  if (!tier.ok()) return tier.status();
  VMLLM_RETURN_IF_ERROR(Begin());
  StatementScope a(*del), b(*tier);
  sqlite3_bind_int64(*del, 1, key);
  sqlite3_bind_int64(*tier, 1, key);
  if (sqlite3_step(*del) != SQLITE_DONE || sqlite3_step(*tier) != SQLITE_DONE) {
    Status s = Error("swap erase");
    Rollback();
    return s;
  }
  return Commit();
}

Result<bool> DiskStore::SwapContains(PageKey key) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto stmt = Prepare("SELECT 1 FROM swap WHERE key = ?");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  sqlite3_bind_int64(*stmt, 1, key);
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error("swap contains");
}

Result<DiskStore::Usage> DiskStore::SwapUsage() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto stmt = Prepare("SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(text AS BLOB))), 0) FROM swap");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  if (sqlite3_step(*stmt) != SQLITE_ROW) return Error("swap usage");
  Usage u;
  u.pages = static_cast<uint64_t>(sqlite3_column_int64(*stmt, 0));
  u.bytes = static_cast<uint64_t>(sqlite3_column_int64(*stmt, 1));
  return u;
}

Result<std::vector<std::pair<PageKey, double>>> DiskStore::KeywordSearch(std::string_view query,
                                                                         size_t k,
                                                                         std::string_view space) {
  std::vector<std::pair<PageKey, double>> hits;
  std::string match = Fts5AnyWordQuery(query);
  if (match.empty() || k == 0) return hits;
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto stmt = Prepare(
      "SELECT f.rowid, bm25(pages_fts) FROM pages_fts f JOIN pages p ON p.key = f.rowid "
      "WHERE pages_fts MATCH ?1 AND (?2 IS NULL OR p.space = ?2) "
      "ORDER BY bm25(pages_fts) LIMIT ?3");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  BindText(*stmt, 1, match);
  if (!space.empty()) BindText(*stmt, 2, space);
  sqlite3_bind_int64(*stmt, 3, static_cast<int64_t>(k));
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    // bm25() is lower-is-better (negative); flip it so every score in vmllm is higher-is-better.
    hits.emplace_back(sqlite3_column_int64(*stmt, 0), -sqlite3_column_double(*stmt, 1));
  }
  if (rc != SQLITE_DONE) return Error("keyword search");
  return hits;
}

// A stored version outside 1..2^62 (hand-edited, or a damaged row: negative, 0, text, a value
// whose +1 overflows) reads as 0, "nothing stored", so the next writer starts the space's
// record afresh instead of losing every compare-and-swap to it forever.
#define VMLLM_SPACE_VERSION_VALID \
  "typeof(version) = 'integer' AND version BETWEEN 1 AND 4611686018427387904"
#define VMLLM_SPACE_VERSION "CASE WHEN " VMLLM_SPACE_VERSION_VALID " THEN version ELSE 0 END"

Result<SpaceState> DiskStore::GetSpaceState(std::string_view space) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto stmt = Prepare("SELECT " VMLLM_SPACE_VERSION ", state FROM space_state WHERE space = ?");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  BindText(*stmt, 1, space);
  int rc = sqlite3_step(*stmt);
  SpaceState state;
  if (rc == SQLITE_ROW) {
    state.version = sqlite3_column_int64(*stmt, 0);
    state.state = ColumnText(*stmt, 1);
  } else if (rc != SQLITE_DONE) {
    return Error("read space state");
  }
  return state;
}

Result<int64_t> DiskStore::GetSpaceStateVersion(std::string_view space) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto stmt = Prepare("SELECT " VMLLM_SPACE_VERSION " FROM space_state WHERE space = ?");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  BindText(*stmt, 1, space);
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return sqlite3_column_int64(*stmt, 0);
  if (rc == SQLITE_DONE) return int64_t{0};
  return Error("read space state version");
}

Result<bool> DiskStore::PutSpaceState(std::string_view space, int64_t expected_version,
                                      std::string_view state) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  // One statement each, so the compare and the swap are atomic without a transaction.
  // Version 0 also takes the place of a damaged row, which every reader sees as version 0.
  auto stmt = expected_version == 0
                  ? Prepare("INSERT OR REPLACE INTO space_state(space, version, state) "
                            "SELECT ?1, 1, ?3 WHERE NOT EXISTS (SELECT 1 FROM space_state "
                            "WHERE space = ?1 AND " VMLLM_SPACE_VERSION_VALID ")")
                  : Prepare("UPDATE space_state SET version = ?2 + 1, state = ?3 "
                            "WHERE space = ?1 AND version = ?2");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  BindText(*stmt, 1, space);
  if (expected_version != 0) sqlite3_bind_int64(*stmt, 2, expected_version);
  BindText(*stmt, 3, state);
  if (sqlite3_step(*stmt) != SQLITE_DONE) return Error("write space state");
  // No row changed: another writer moved the version on (or created the space's state first).
  return sqlite3_changes(db_) > 0;
}

Result<std::optional<std::string>> DiskStore::GetMeta(std::string_view name) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto stmt = Prepare("SELECT value FROM meta WHERE name = ?");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  BindText(*stmt, 1, name);
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return std::optional<std::string>(ColumnText(*stmt, 0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return Error("get meta");
}

Status DiskStore::SetMeta(std::string_view name, std::string_view value) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto stmt = Prepare("INSERT OR REPLACE INTO meta(name, value) VALUES(?, ?)");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  BindText(*stmt, 1, name);
  BindText(*stmt, 2, value);
  return sqlite3_step(*stmt) == SQLITE_DONE ? Status() : Error("set meta");
}

// Created on first use, so stores made before the cache existed gain it without a migration.
Status DiskStore::EnsureSummaryCache() {
  if (summary_cache_ready_) return Status();
  VMLLM_RETURN_IF_ERROR(Exec(
      "CREATE TABLE IF NOT EXISTS summary_cache(hash INTEGER NOT NULL, model TEXT NOT NULL, "
      "summary TEXT NOT NULL, PRIMARY KEY(hash, model));"));
  summary_cache_ready_ = true;
  return Status();
}

Result<std::optional<std::string>> DiskStore::GetCachedSummary(uint64_t content_hash,
                                                               std::string_view model) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(EnsureSummaryCache());
  auto stmt = Prepare("SELECT summary FROM summary_cache WHERE hash = ? AND model = ?");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  sqlite3_bind_int64(*stmt, 1, static_cast<sqlite3_int64>(content_hash));
  BindText(*stmt, 2, model);
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return std::optional<std::string>(ColumnText(*stmt, 0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return Error("get cached summary");
}

Status DiskStore::PutCachedSummary(uint64_t content_hash, std::string_view model,
                                   std::string_view summary) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(EnsureSummaryCache());
  auto stmt = Prepare(
      "INSERT OR REPLACE INTO summary_cache(hash, model, summary) VALUES(?, ?, ?)");
  if (!stmt.ok()) return stmt.status();
  StatementScope scope(*stmt);
  sqlite3_bind_int64(*stmt, 1, static_cast<sqlite3_int64>(content_hash));
  BindText(*stmt, 2, model);
  BindText(*stmt, 3, summary);
  return sqlite3_step(*stmt) == SQLITE_DONE ? Status() : Error("put cached summary");
}

}  // namespace vmllm
