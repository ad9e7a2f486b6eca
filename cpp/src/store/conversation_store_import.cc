// The import of a `memory.db` written before conversations moved into `store.db`: its rows are
// copied with their ids and timestamps into store.db's conversation tables in one transaction,
// which also records the import, then the file is renamed `memory.db.migrated`. Renamed, not
// deleted: it is the user's only copy if anything went wrong, and nothing reads it again.
//
// The record makes the import happen once: a crash between the commit and the rename leaves
// both files, and the next open only finishes the rename. A store.db that already holds
// conversations of its own is never merged with a memory.db (the row ids could collide): the
// file is left in place with a warning.
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdio>

#include "store/conversation_store.h"
#include "vmllm/backend_events.h"

namespace vmllm {
namespace {

constexpr char kSource[] = "memory.db";

const char* kImport = R"sql(
INSERT INTO agents(agent_id, system, summary, warned, warnings, flushes, evicted,
                   compressor_failures, tool_calls, tool_errors)
  SELECT agent_id, system, summary, warned, warnings, flushes, evicted, compressor_failures,
         tool_calls, tool_errors FROM legacy.agents;
INSERT INTO blocks(block_id, label, value, char_limit, description, read_only)
  SELECT block_id, label, value, char_limit, description, read_only FROM legacy.blocks;
INSERT INTO agent_blocks(agent_id, label, block_id, position)
  SELECT agent_id, label, block_id, position FROM legacy.agent_blocks;
INSERT INTO messages(id, agent_id, created, role, kind, tokens, in_queue, json, text)
  SELECT id, agent_id, created, role, kind, tokens, in_queue, json, text FROM legacy.messages;
INSERT INTO passages(id, agent_id, created, text)
  SELECT id, agent_id, created, text FROM legacy.passages;
INSERT INTO memory_imports(source, imported) VALUES('memory.db', julianday('now'));
)sql";

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// One integer of a one-row query; -1 when it fails.
int64_t QueryInt(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  int64_t v = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
    v = sqlite3_column_int64(s, 0);
  }
  sqlite3_finalize(s);
  return v;
}

}  // namespace

Status ConversationStore::ImportMemoryDb(const std::string& dir) {
  const std::string legacy = dir + "/" + kSource;
  if (!Exists(legacy)) return Status();
  const std::string moved = legacy + ".migrated";
  auto rename_legacy = [&]() -> Status {
    for (const char* suffix : {"-wal", "-shm", ""}) {  // The database last: it is the marker.
      const std::string from = legacy + suffix;
      if (Exists(from) && std::rename(from.c_str(), (moved + suffix).c_str()) != 0) {
        return Status::StorageError("cannot rename '" + from + "' after importing it");
      }
    }
    return Status();
  };
  {
    sqlite3_stmt* done = nullptr;
    bool imported = false;
    if (sqlite3_prepare_v2(db_, "SELECT 1 FROM memory_imports WHERE source = ?", -1, &done,
                           nullptr) != SQLITE_OK) {
      sqlite3_finalize(done);
      return Error("read the import record");
    }
    sqlite3_bind_text(done, 1, kSource, -1, SQLITE_STATIC);
    imported = sqlite3_step(done) == SQLITE_ROW;
    sqlite3_finalize(done);
    if (imported) return rename_legacy();  // Imported by an open that stopped before this.
  }
  if (QueryInt(db_, "SELECT (SELECT COUNT(*) FROM agents) + (SELECT COUNT(*) FROM messages) + "
                    "(SELECT COUNT(*) FROM passages)") != 0) {
    PostBackendWarning("conversation store '" + dir + "': memory.db was not imported, because "
                       "store.db already holds conversations; it is left as it is");
    return Status();
  }
  sqlite3_stmt* attach = nullptr;
  if (sqlite3_prepare_v2(db_, "ATTACH DATABASE ? AS legacy", -1, &attach, nullptr) != SQLITE_OK) {
    sqlite3_finalize(attach);
    return Error("attach memory.db");
  }
  sqlite3_bind_text(attach, 1, legacy.c_str(), -1, SQLITE_TRANSIENT);
  const int rc = sqlite3_step(attach);
  sqlite3_finalize(attach);
  if (rc != SQLITE_DONE) return Error("attach memory.db");
  Status s = Begin();
  if (s.ok()) {
    s = Exec(kImport);
    if (s.ok()) {
      s = Commit();
    } else {
      Rollback();
      s = Status::StorageError("'" + legacy + "' cannot be imported: " + s.message());
    }
  }
  Exec("DETACH DATABASE legacy;");  // Closes the file, so it can be renamed.
  VMLLM_RETURN_IF_ERROR(s);
  VMLLM_RETURN_IF_ERROR(rename_legacy());
  PostBackendWarning("conversation store '" + dir + "' migrated: memory.db was imported into "
                     "store.db and kept as memory.db.migrated (safe to delete)");
  return Status();
}

}  // namespace vmllm
