// Opening a SQLite database file in a store directory the way every vmllm store wants it: the
// directory created if missing, a busy timeout so concurrent processes wait for each other, and
// WAL mode (readers never block the writer; a crash leaves a file that reopens intact).
#ifndef VMLLM_STORE_SQLITE_OPEN_H_
#define VMLLM_STORE_SQLITE_OPEN_H_

#include <string>

#include "vmllm/status.h"

struct sqlite3;

namespace vmllm {

constexpr int kSqliteBusyTimeoutMs = 30000;

// Opens (creating) `<dir>/<file_name>` with `PRAGMA synchronous=<synchronous>`. On success the
// caller owns the handle (sqlite3_close_v2). StorageError when the directory cannot be made or
// written or the file is not a database; InvalidArgument for an empty `dir`.
Result<sqlite3*> OpenSqliteInStore(const std::string& dir, const std::string& file_name,
                                   const char* synchronous);

}  // namespace vmllm

#endif  // VMLLM_STORE_SQLITE_OPEN_H_
