// ConversationStore: the SQLite adapter behind ConversationMemory, in its own file
// `<dir>/memory.db` (WAL), apart from the page store's `store.db`.
//
// Tables: agents (system instructions, recursive summary, counters), blocks (keyed by block id,
// so agents can share one), agent_blocks (an agent's label -> block id), messages (recall
// storage: every message, with an in_queue flag marking the FIFO queue) and passages (archival
// storage), each with an FTS5 index and a float32 embedding blob. The embedding is NULL until
// the memory layer computes it (lazily, before a search), and the meta table names the
// embedder whose vectors the blobs hold.
//
// Thread safety: none of its own; ConversationMemory serialises calls. Several processes may
// open one file: SQLite serialises their writers (BEGIN IMMEDIATE, 30 s busy timeout).
#ifndef VMLLM_STORE_CONVERSATION_STORE_H_
#define VMLLM_STORE_CONVERSATION_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmllm/memory_records.h"
#include "vmllm/status.h"

struct sqlite3;

namespace vmllm {

struct AgentRow {
  std::string system;
  std::string summary;
  bool warned = false;  // A warning is in the current flush cycle.
  uint64_t warnings = 0;
  uint64_t flushes = 0;
  uint64_t evicted = 0;
  uint64_t compressor_failures = 0;
  uint64_t tool_calls = 0;
  uint64_t tool_errors = 0;
};

// Kinds of stored messages: conversation messages, and the queue manager's own notes.
// Only kMessage and kLateResult rows are searched and summarised: a memory tool's result
// repeats what it found (searching it again would only find the search), and a synthetic
// result says nothing. The values are stored: never renumber them.
enum class MessageKind {
  kMessage = 0,
  kWarning = 1,
  kMemoryToolResult = 2,
  kClosedCall = 3,  // The synthetic result of a call that got none before the next message.
  kLateResult = 4,  // A tool result that answered no open call, kept as a user-role note.
};

// True for the kinds that are something said: searched in recall and folded into the summary.
inline bool IsSaid(MessageKind kind) {
  return kind == MessageKind::kMessage || kind == MessageKind::kLateResult;
}

struct MessageRow {
  int64_t id = 0;
  double created = 0;
  std::string role;
  std::string json;   // Canonical compact JSON of the message.
  std::string text;   // What search sees.
  uint32_t tokens = 0;
  MessageKind kind = MessageKind::kMessage;
};

enum class RecallTable { kMessages, kPassages };

class ConversationStore {
 public:
  static Result<std::unique_ptr<ConversationStore>> Open(const std::string& dir);
  ~ConversationStore();
  ConversationStore(const ConversationStore&) = delete;
  ConversationStore& operator=(const ConversationStore&) = delete;

  // Begin and Commit fail with StorageError when `memory.db` was deleted or replaced while
  // open; a failed Commit rolls the transaction back.
  Status Begin();
  Status Commit();
  void Rollback();

  Result<std::optional<AgentRow>> LoadAgent(std::string_view agent_id);
  Status SaveAgent(std::string_view agent_id, const AgentRow& row);

  Result<std::optional<MemoryBlock>> GetBlock(std::string_view block_id);
  Status PutBlock(const MemoryBlock& block);  // Insert or replace.
  Status AttachBlock(std::string_view agent_id, std::string_view label,
                     std::string_view block_id);
  // The agent's blocks in attachment order, with the labels it gave them.
  Result<std::vector<MemoryBlock>> AgentBlocks(std::string_view agent_id);

  // A meta entry (e.g. "embedder"); std::nullopt when it was never set.
  Result<std::optional<std::string>> GetMeta(std::string_view name);
  Status SetMeta(std::string_view name, std::string_view value);

  // An empty `embedding` stores NULL: the vector is computed later (SetEmbedding).
  Result<int64_t> InsertMessage(std::string_view agent_id, const MessageRow& row,
                                const std::vector<float>& embedding);
  Result<std::vector<MessageRow>> QueueMessages(std::string_view agent_id);
  // Deletes one message and its keyword index entry (`text` must be the stored text): only to
  // write a queue's tail again in another order, inside a transaction.
  Status DeleteMessage(int64_t id, std::string_view text);
  // Takes messages with id <= last_id out of the queue (they stay in recall storage).
  Status EvictThrough(std::string_view agent_id, int64_t last_id);
  Result<uint64_t> Count(RecallTable table, std::string_view agent_id);
  Result<uint64_t> CountKind(std::string_view agent_id, MessageKind kind);

  Result<int64_t> InsertPassage(std::string_view agent_id, std::string_view text, double created,
                                const std::vector<float>& embedding);

  // BM25 keyword search; ids best first. Messages of the kinds IsSaid accepts only.
  Result<std::vector<int64_t>> KeywordSearch(RecallTable table, std::string_view agent_id,
                                             std::string_view query, size_t limit,
                                             std::optional<double> start,
                                             std::optional<double> end);
  // Calls fn(id, created, vector) for rows with id > after (IsSaid kinds only), in id order,
  // stopping before the first row whose vector is not computed yet (so a cache that remembers
  // the last id it saw never skips it); rows whose vector has another size are skipped.
  Status ForEachEmbedding(RecallTable table, std::string_view agent_id, int64_t after,
                          size_t dimension,
                          const std::function<void(int64_t, double, const float*)>& fn);
  // Calls fn(id, text) for up to `limit` rows (IsSaid kinds) without a vector, in id order.
  Status ForEachUnembedded(RecallTable table, std::string_view agent_id, size_t limit,
                           const std::function<void(int64_t, std::string_view)>& fn);
  Status SetEmbedding(RecallTable table, int64_t id, const float* vector, size_t dimension);
  // Drops every vector of both tables, for every agent (another embedder's, or another size).
  Status ClearEmbeddings();
  // Rows by id, in the order given (missing ids skipped).
  Result<std::vector<MemoryHit>> Fetch(RecallTable table, const std::vector<int64_t>& ids);
  // Messages (IsSaid kinds) in [start, end], oldest first.
  Result<std::vector<int64_t>> MessagesInRange(std::string_view agent_id,
                                               std::optional<double> start,
                                               std::optional<double> end, size_t limit);

 private:
  ConversationStore() = default;
  Status Exec(const char* sql);
  Status Error(const char* what) const;
  sqlite3* db_ = nullptr;
  std::string file_;
};

}  // namespace vmllm

#endif  // VMLLM_STORE_CONVERSATION_STORE_H_
