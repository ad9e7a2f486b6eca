#include "store/sqlite_common.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <random>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "text/query_words.h"

namespace vmllm {
namespace {

// `mkdir -p`: every missing directory on the way to `dir`.
Status MakeDirs(const std::string& dir) {
  for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    const std::string part = dir.substr(0, slash);
    if (!part.empty() && ::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::StorageError("cannot create store directory '" + part +
                                  "': " + std::strerror(errno));
    }
    if (slash == std::string::npos) return Status();
  }
}

}  // namespace

Result<sqlite3*> OpenSqliteInStore(const std::string& dir, const std::string& file_name,
                                   const char* synchronous) {
  if (dir.empty()) return Status::InvalidArgument("store path is empty");
  VMLLM_RETURN_IF_ERROR(MakeDirs(dir));
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::StorageError("store path '" + dir + "' is not a directory");
  }
  const std::string file = dir + "/" + file_name;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(file.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Status s = Status::StorageError("cannot open '" + file + "': " +
                                    (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    if (db) sqlite3_close_v2(db);
    return s;
  }
  sqlite3_busy_timeout(db, kSqliteBusyTimeoutMs);
  sqlite3_extended_result_codes(db, 1);
  const std::string pragmas[] = {"PRAGMA journal_mode=WAL;",
                                 std::string("PRAGMA synchronous=") + synchronous + ";"};
  for (const std::string& pragma : pragmas) {
    // Switching a new database to WAL needs a moment alone with it, and SQLite does not wait on
    // its busy handler for that: when another process opens the same new file at the same
    // time, retry here.
    for (int waited_ms = 0;; waited_ms += 20) {
      char* err = nullptr;
      rc = sqlite3_exec(db, pragma.c_str(), nullptr, nullptr, &err);
      std::string message = err ? err : sqlite3_errmsg(db);
      sqlite3_free(err);
      if (rc == SQLITE_OK) break;
      if ((rc & 0xff) != SQLITE_BUSY || waited_ms >= kSqliteBusyTimeoutMs) {
        sqlite3_close_v2(db);
        return Status::StorageError("'" + file + "' unusable: " + message);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return db;
}

Status CheckFileInPlace(sqlite3* db, const std::string& file) {
  int moved = 0;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK) moved = 0;
  if (!moved) return Status();
  return Status::StorageError("store file '" + file +
                              "' was deleted or replaced while open; nothing can be written to "
                              "it durably any more (reopen the store)");
}

std::string RandomStoreId() {
  std::random_device device;
  std::mt19937_64 rng((static_cast<uint64_t>(device()) << 32) ^ device());
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 2; ++i) {
    uint64_t v = rng();
    for (int j = 0; j < 16; ++j, v >>= 4) id.push_back(kHex[v & 15]);
  }
  return id;
}

std::string Fts5AnyWordQuery(std::string_view text) {
  // Words, and for each the whitespace-separated token it came from: the parts of one token
  // ("get_close_matches", "argparse.ArgumentParser") also match as a phrase.
  std::vector<std::string> words;
  std::vector<size_t> token_of;
  size_t token = 0;
  bool in_word = false;
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || u >= 0x80) {
      if (!in_word) {
        words.emplace_back();
        token_of.push_back(token);
      }
      words.back() += c;
      in_word = true;
    } else {
      in_word = false;
      if (std::isspace(u)) ++token;
    }
  }
  std::string query;
  size_t terms = 0;
  auto add = [&](const std::string& term) {
    if (terms++ >= 64) return;
    if (!query.empty()) query += " OR ";
    query += '"' + term + '"';
  };
  for (const std::string& word : ContentWords(words)) add(word);
  for (size_t i = 0; i < words.size();) {
    size_t j = i + 1;
    while (j < words.size() && token_of[j] == token_of[i]) ++j;
    if (j - i >= 2) {
      std::string phrase = words[i];
      for (size_t w = i + 1; w < j; ++w) phrase += ' ' + words[w];
      add(phrase);
    }
    i = j;
  }
  // Two content words side by side in the question ("support group") match as a pair too.
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    if (token_of[i + 1] != token_of[i] + 1 || IsQuestionWord(words[i]) ||
        IsQuestionWord(words[i + 1])) {
      continue;
    }
    add(words[i] + ' ' + words[i + 1]);
  }
  return query;
}

}  // namespace vmllm
