#include "store/conversation_store.h"

#include <sqlite3.h>

#include <algorithm>

#include "store/sqlite_common.h"


namespace vmllm {
namespace {


// Row ids are AUTOINCREMENT: a page id names its row, so an id is never used twice.
const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS agents(
  agent_id TEXT PRIMARY KEY, system TEXT NOT NULL, summary TEXT NOT NULL,
  warned INTEGER NOT NULL, warnings INTEGER NOT NULL, flushes INTEGER NOT NULL,
  evicted INTEGER NOT NULL, compressor_failures INTEGER NOT NULL,
  tool_calls INTEGER NOT NULL, tool_errors INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS blocks(
  block_id TEXT PRIMARY KEY, label TEXT NOT NULL, value TEXT NOT NULL,
  char_limit INTEGER NOT NULL, description TEXT NOT NULL, read_only INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS agent_blocks(
  agent_id TEXT NOT NULL, label TEXT NOT NULL, block_id TEXT NOT NULL,
  position INTEGER NOT NULL, PRIMARY KEY(agent_id, label));
CREATE TABLE IF NOT EXISTS messages(
  id INTEGER PRIMARY KEY AUTOINCREMENT, agent_id TEXT NOT NULL, created REAL NOT NULL,
  role TEXT NOT NULL, kind INTEGER NOT NULL, tokens INTEGER NOT NULL,
  in_queue INTEGER NOT NULL, json TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS messages_agent ON messages(agent_id, id);
CREATE INDEX IF NOT EXISTS messages_queue ON messages(agent_id, in_queue, id);
CREATE INDEX IF NOT EXISTS messages_created ON messages(agent_id, created);
CREATE TABLE IF NOT EXISTS passages(
  id INTEGER PRIMARY KEY AUTOINCREMENT, agent_id TEXT NOT NULL, created REAL NOT NULL,
  text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS passages_agent ON passages(agent_id, id);
CREATE TABLE IF NOT EXISTS memory_imports(source TEXT PRIMARY KEY, imported REAL NOT NULL);
)sql";

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) s_ = nullptr;
  }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return s_ != nullptr; }
  sqlite3_stmt* get() const { return s_; }
  void Text(int i, std::string_view v) {
    sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void Real(int i, double v) { sqlite3_bind_double(s_, i, v); }
  std::string ColText(int c) const {
    const void* p = sqlite3_column_blob(s_, c);
    return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(s_, c))
             : std::string();
  }
  int64_t ColInt(int c) const { return sqlite3_column_int64(s_, c); }
  double ColReal(int c) const { return sqlite3_column_double(s_, c); }

 private:
  sqlite3_stmt* s_ = nullptr;
};

// The SQL form of IsSaid (conversation_store.h) for `column`; passages have no kinds.
std::string SaidFilter(RecallTable t, const char* column) {
  return t == RecallTable::kMessages ? std::string(" AND ") + column + " IN (0, 4)" : "";
}

const char* TableName(RecallTable t) {
  return t == RecallTable::kMessages ? "messages" : "passages";
}

}  // namespace

Result<std::unique_ptr<ConversationStore>> ConversationStore::Open(const std::string& dir) {
  // WAL lets another agent's process read while this one writes.
  auto db = OpenSqliteInStore(dir, "store.db", "NORMAL");
  if (!db.ok()) return db.status();
  std::unique_ptr<ConversationStore> store(new ConversationStore());
  store->db_ = *db;
  const std::string file = dir + "/store.db";
  store->file_ = file;
  VMLLM_RETURN_IF_ERROR(store->Begin());
  Status s = store->Exec(kSchema);
  if (!s.ok()) {
    store->Rollback();
    return Status::StorageError("'" + file + "' cannot hold conversation memory: " +
                                s.message());
  }
  VMLLM_RETURN_IF_ERROR(store->Commit());
  VMLLM_RETURN_IF_ERROR(store->ImportMemoryDb(dir));
  return store;
}

ConversationStore::~ConversationStore() {
  if (db_) sqlite3_close_v2(db_);
}

Status ConversationStore::Error(const char* what) const {
  return Status::StorageError(std::string("memory store: ") + what + ": " + sqlite3_errmsg(db_));
}

Status ConversationStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Status::StorageError(msg);
  }
  return Status();
}

Status ConversationStore::Begin() {
  VMLLM_RETURN_IF_ERROR(CheckFileInPlace(db_, file_));
  return Exec("BEGIN IMMEDIATE;");
}

Status ConversationStore::Commit() {
  Status s = CheckFileInPlace(db_, file_);
  if (s.ok()) s = Exec("COMMIT;");
  if (!s.ok()) Rollback();
  return s;
}
void ConversationStore::Rollback() {
  if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
}

Result<std::optional<AgentRow>> ConversationStore::LoadAgent(std::string_view agent_id) {
  Stmt s(db_, "SELECT system, summary, warned, warnings, flushes, evicted, compressor_failures, "
              "tool_calls, tool_errors FROM agents WHERE agent_id = ?");
  if (!s.ok()) return Error("load agent");
  s.Text(1, agent_id);
  int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::optional<AgentRow>();
  if (rc != SQLITE_ROW) return Error("load agent");
  AgentRow r;
  r.system = s.ColText(0);
  r.summary = s.ColText(1);
  r.warned = s.ColInt(2) != 0;
  r.warnings = s.ColInt(3);
  r.flushes = s.ColInt(4);
  r.evicted = s.ColInt(5);
  r.compressor_failures = s.ColInt(6);
  r.tool_calls = s.ColInt(7);
  r.tool_errors = s.ColInt(8);
  return std::optional<AgentRow>(std::move(r));
}

Status ConversationStore::SaveAgent(std::string_view agent_id, const AgentRow& r) {
  Stmt s(db_, "INSERT OR REPLACE INTO agents VALUES(?,?,?,?,?,?,?,?,?,?)");
  if (!s.ok()) return Error("save agent");
  s.Text(1, agent_id);
  s.Text(2, r.system);
  s.Text(3, r.summary);
  s.Int(4, r.warned ? 1 : 0);
  s.Int(5, r.warnings);
  s.Int(6, r.flushes);
  s.Int(7, r.evicted);
  s.Int(8, r.compressor_failures);
  s.Int(9, r.tool_calls);
  s.Int(10, r.tool_errors);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Error("save agent");
  return Status();
}

Result<std::optional<MemoryBlock>> ConversationStore::GetBlock(std::string_view block_id) {
  Stmt s(db_, "SELECT label, value, char_limit, description, read_only FROM blocks "
              "WHERE block_id = ?");
  if (!s.ok()) return Error("get block");
  s.Text(1, block_id);
  int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::optional<MemoryBlock>();
  if (rc != SQLITE_ROW) return Error("get block");
  MemoryBlock b;
  b.block_id = std::string(block_id);
  b.label = s.ColText(0);
  b.value = s.ColText(1);
  b.limit = static_cast<size_t>(s.ColInt(2));
  b.description = s.ColText(3);
  b.read_only = s.ColInt(4) != 0;
  return std::optional<MemoryBlock>(std::move(b));
}

Status ConversationStore::PutBlock(const MemoryBlock& b) {
  Stmt s(db_, "INSERT OR REPLACE INTO blocks VALUES(?,?,?,?,?,?)");
  if (!s.ok()) return Error("put block");
  s.Text(1, b.block_id);
  s.Text(2, b.label);
  s.Text(3, b.value);
  s.Int(4, static_cast<int64_t>(b.limit));
  s.Text(5, b.description);
  s.Int(6, b.read_only ? 1 : 0);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Error("put block");
  return Status();
}

Status ConversationStore::AttachBlock(std::string_view agent_id, std::string_view label,
                                      std::string_view block_id) {
  Stmt s(db_, "INSERT INTO agent_blocks VALUES(?1, ?2, ?3, "
              "(SELECT COALESCE(MAX(position), -1) + 1 FROM agent_blocks WHERE agent_id = ?1)) "
              "ON CONFLICT(agent_id, label) DO UPDATE SET block_id = excluded.block_id");
  if (!s.ok()) return Error("attach block");
  s.Text(1, agent_id);
  s.Text(2, label);
  s.Text(3, block_id);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Error("attach block");
  return Status();
}

Result<std::vector<MemoryBlock>> ConversationStore::AgentBlocks(std::string_view agent_id) {
  Stmt s(db_, "SELECT a.label, b.block_id, b.value, b.char_limit, b.description, b.read_only "
              "FROM agent_blocks a JOIN blocks b ON a.block_id = b.block_id "
              "WHERE a.agent_id = ? ORDER BY a.position");
  if (!s.ok()) return Error("agent blocks");
  s.Text(1, agent_id);
  std::vector<MemoryBlock> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    MemoryBlock b;
    b.label = s.ColText(0);
    b.block_id = s.ColText(1);
    b.value = s.ColText(2);
    b.limit = static_cast<size_t>(s.ColInt(3));
    b.description = s.ColText(4);
    b.read_only = s.ColInt(5) != 0;
    out.push_back(std::move(b));
  }
  if (rc != SQLITE_DONE) return Error("agent blocks");
  return out;
}

Result<int64_t> ConversationStore::InsertMessage(std::string_view agent_id, const MessageRow& r) {
  Stmt s(db_, "INSERT INTO messages(agent_id, created, role, kind, tokens, in_queue, json, text) "
              "VALUES(?,?,?,?,?,1,?,?)");
  if (!s.ok()) return Error("insert message");
  s.Text(1, agent_id);
  s.Real(2, r.created);
  s.Text(3, r.role);
  s.Int(4, static_cast<int>(r.kind));
  s.Int(5, r.tokens);
  s.Text(6, r.json);
  s.Text(7, r.text);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Error("insert message");
  return sqlite3_last_insert_rowid(db_);
}

Result<std::vector<MessageRow>> ConversationStore::QueueMessages(std::string_view agent_id) {
  Stmt s(db_, "SELECT id, created, role, json, text, tokens, kind FROM messages "
              "WHERE agent_id = ? AND in_queue = 1 ORDER BY id");
  if (!s.ok()) return Error("queue");
  s.Text(1, agent_id);
  std::vector<MessageRow> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    MessageRow r;
    r.id = s.ColInt(0);
    r.created = s.ColReal(1);
    r.role = s.ColText(2);
    r.json = s.ColText(3);
    r.text = s.ColText(4);
    r.tokens = static_cast<uint32_t>(s.ColInt(5));
    r.kind = static_cast<MessageKind>(s.ColInt(6));
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Error("queue");
  return out;
}

Status ConversationStore::DeleteMessage(int64_t id) {
  Stmt s(db_, "DELETE FROM messages WHERE id = ?");
  if (!s.ok()) return Error("delete message");
  s.Int(1, id);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Error("delete message");
  return Status();
}

Status ConversationStore::EvictThrough(std::string_view agent_id, int64_t last_id) {
  Stmt s(db_, "UPDATE messages SET in_queue = 0 WHERE agent_id = ? AND in_queue = 1 AND id <= ?");
  if (!s.ok()) return Error("evict");
  s.Text(1, agent_id);
  s.Int(2, last_id);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Error("evict");
  return Status();
}

Result<uint64_t> ConversationStore::Count(RecallTable table, std::string_view agent_id) {
  std::string sql = std::string("SELECT COUNT(*) FROM ") + TableName(table) + " WHERE agent_id = ?";
  Stmt s(db_, sql.c_str());
  if (!s.ok()) return Error("count");
  s.Text(1, agent_id);
  if (sqlite3_step(s.get()) != SQLITE_ROW) return Error("count");
  return static_cast<uint64_t>(s.ColInt(0));
}

Result<uint64_t> ConversationStore::CountKind(std::string_view agent_id, MessageKind kind) {
  Stmt s(db_, "SELECT COUNT(*) FROM messages WHERE agent_id = ? AND kind = ?");
  if (!s.ok()) return Error("count");
  s.Text(1, agent_id);
  s.Int(2, static_cast<int>(kind));
  if (sqlite3_step(s.get()) != SQLITE_ROW) return Error("count");
  return static_cast<uint64_t>(s.ColInt(0));
}

Result<uint64_t> ConversationStore::CountSearchable(RecallTable table,
                                                   std::string_view agent_id) {
  const std::string sql = std::string("SELECT COUNT(*) FROM ") + TableName(table) +
                          " WHERE agent_id = ? AND text != ''" + SaidFilter(table, "kind");
  Stmt s(db_, sql.c_str());
  if (!s.ok()) return Error("count");
  s.Text(1, agent_id);
  if (sqlite3_step(s.get()) != SQLITE_ROW) return Error("count");
  return static_cast<uint64_t>(s.ColInt(0));
}

Result<int64_t> ConversationStore::InsertPassage(std::string_view agent_id, std::string_view text,
                                                 double created) {
  Stmt s(db_, "INSERT INTO passages(agent_id, created, text) VALUES(?,?,?)");
  if (!s.ok()) return Error("insert passage");
  s.Text(1, agent_id);
  s.Real(2, created);
  s.Text(3, text);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Error("insert passage");
  return sqlite3_last_insert_rowid(db_);
}

Result<int64_t> ConversationStore::ForEachAfter(
    RecallTable table, std::string_view agent_id, int64_t after, size_t limit,
    const std::function<void(int64_t, std::string_view)>& fn) {
  const std::string sql = table == RecallTable::kMessages
                              ? "SELECT id, text, kind IN (0, 4) FROM messages "
                                "WHERE agent_id = ? AND id > ? ORDER BY id LIMIT ?"
                              : "SELECT id, text, 1 FROM passages "
                                "WHERE agent_id = ? AND id > ? ORDER BY id LIMIT ?";
  Stmt s(db_, sql.c_str());
  if (!s.ok()) return Error("rows after");
  s.Text(1, agent_id);
  s.Int(2, after);
  s.Int(3, static_cast<int64_t>(limit));
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    after = s.ColInt(0);
    const std::string text = s.ColText(1);
    // An empty text has nothing to find by words or by meaning.
    if (s.ColInt(2) && !text.empty()) fn(after, text);
  }
  if (rc != SQLITE_DONE) return Error("rows after");
  return after;
}

Result<std::vector<int64_t>> ConversationStore::Filter(RecallTable table,
                                                       std::string_view agent_id,
                                                       const std::vector<int64_t>& ids,
                                                       std::optional<double> start,
                                                       std::optional<double> end) {
  const std::string sql = std::string("SELECT 1 FROM ") + TableName(table) +
                          " WHERE id = ? AND agent_id = ? AND created >= ? AND created <= ?" +
                          SaidFilter(table, "kind");
  Stmt s(db_, sql.c_str());
  if (!s.ok()) return Error("filter");
  std::vector<int64_t> out;
  for (int64_t id : ids) {
    sqlite3_reset(s.get());
    s.Int(1, id);
    s.Text(2, agent_id);
    s.Real(3, start.value_or(-1e300));
    s.Real(4, end.value_or(1e300));
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_ROW) {
      out.push_back(id);
    } else if (rc != SQLITE_DONE) {
      return Error("filter");
    }
  }
  return out;
}

Result<std::vector<MemoryHit>> ConversationStore::Fetch(RecallTable table,
                                                        const std::vector<int64_t>& ids) {
  std::string sql = table == RecallTable::kMessages
                        ? "SELECT id, created, role, text, json FROM messages WHERE id = ?"
                        : "SELECT id, created, 'archival', text, '' FROM passages WHERE id = ?";
  Stmt s(db_, sql.c_str());
  if (!s.ok()) return Error("fetch");
  std::vector<MemoryHit> out;
  for (int64_t id : ids) {
    sqlite3_reset(s.get());
    s.Int(1, id);
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_DONE) continue;
    if (rc != SQLITE_ROW) return Error("fetch");
    MemoryHit h;
    h.id = s.ColInt(0);
    h.timestamp = s.ColReal(1);
    h.role = s.ColText(2);
    h.content = s.ColText(3);
    h.json = s.ColText(4);
    out.push_back(std::move(h));
  }
  return out;
}

Result<std::vector<int64_t>> ConversationStore::AdjacentMessages(std::string_view agent_id,
                                                                 int64_t id, size_t n) {
  std::vector<int64_t> ids;
  for (const char* side : {"id < ?2 ORDER BY id DESC", "id > ?2 ORDER BY id"}) {
    const std::string sql = "SELECT id FROM messages WHERE agent_id = ?1 AND text != ''" +
                            SaidFilter(RecallTable::kMessages, "kind") + " AND " + side +
                            " LIMIT ?3";
    Stmt s(db_, sql.c_str());
    if (!s.ok()) return Error("adjacent messages");
    s.Text(1, agent_id);
    s.Int(2, id);
    s.Int(3, static_cast<int64_t>(n));
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) ids.push_back(s.ColInt(0));
    if (rc != SQLITE_DONE) return Error("adjacent messages");
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<std::vector<int64_t>> ConversationStore::MessagesInRange(std::string_view agent_id,
                                                                std::optional<double> start,
                                                                std::optional<double> end,
                                                                size_t limit) {
  const std::string sql = "SELECT id FROM messages WHERE agent_id = ?" +
                          SaidFilter(RecallTable::kMessages, "kind") +
                          " AND created >= ? AND created <= ? ORDER BY created, id LIMIT ?";
  Stmt s(db_, sql.c_str());
  if (!s.ok()) return Error("date search");
  s.Text(1, agent_id);
  s.Real(2, start.value_or(-1e300));
  s.Real(3, end.value_or(1e300));
  s.Int(4, static_cast<int64_t>(limit));
  std::vector<int64_t> ids;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) ids.push_back(s.ColInt(0));
  if (rc != SQLITE_DONE) return Error("date search");
  return ids;
}

}  // namespace vmllm
