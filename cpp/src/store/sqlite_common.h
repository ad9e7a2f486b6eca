// What every SQLite-backed vmllm store does the same way: opening its file in a store directory
// (the directory created if missing, a busy timeout so concurrent processes wait for each other,
// WAL mode: readers never block the writer and a crash leaves a file that reopens intact), and
// turning free text into an FTS5 query.
#ifndef VMLLM_STORE_SQLITE_COMMON_H_
#define VMLLM_STORE_SQLITE_COMMON_H_

#include <string>
#include <string_view>

#include "vmllm/status.h"

struct sqlite3;

namespace vmllm {

constexpr int kSqliteBusyTimeoutMs = 30000;

// Opens (creating) `<dir>/<file_name>`, creating `dir` and its missing parents, with `PRAGMA synchronous=<synchronous>`. On success the
// caller owns the handle (sqlite3_close_v2). StorageError when the directory cannot be made or
// written or the file is not a database; InvalidArgument for an empty `dir`.
Result<sqlite3*> OpenSqliteInStore(const std::string& dir, const std::string& file_name,
                                   const char* synchronous);

// StorageError when the database file `file` (as opened by `db`) was deleted, renamed or
// replaced since it was opened: SQLite would go on writing to the unlinked file and report
// success, so a writer checks this before it commits and fails the write at the call instead.
Status CheckFileInPlace(sqlite3* db, const std::string& file);

// A random 128-bit id in hex: a store's identity, kept in its meta table.
std::string RandomStoreId();

// An FTS5 MATCH expression for the words of `text` (any of them, at most 64), question words
// left out (text/query_words.h): every word is quoted, so no user string is ever parsed as
// query syntax. Empty when `text` has no words.
std::string Fts5AnyWordQuery(std::string_view text);

}  // namespace vmllm

#endif  // VMLLM_STORE_SQLITE_COMMON_H_
