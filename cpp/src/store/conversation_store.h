// ConversationStore: the SQLite adapter behind ConversationMemory, in the tables of its own in
// the engine's `<dir>/store.db` (own connection, WAL), next to the page store's tables, which it
// never touches.
//
// Tables: agents (system instructions, recursive summary, counters), blocks (keyed by block id,
// so agents can share one), agent_blocks (an agent's label -> block id), messages (recall
// storage: every message, with an in_queue flag marking the FIFO queue) and passages (archival
// storage). Searching them is the engine's: the memory layer puts the searchable rows into its
// spaces as pages (memory_spaces.h).
//
// A `<dir>/memory.db` of the earlier layout (the conversation tables in a file of their own) is
// imported on open, once (conversation_store_import.cc).
//
// Thread safety: none of its own; ConversationMemory serialises calls. Several processes may
// open one file: SQLite serialises their writers (BEGIN IMMEDIATE, 30 s busy timeout). Never
// call the engine inside a transaction: its writes would wait for this connection's lock.
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

  // Begin and Commit fail with StorageError when `store.db` was deleted or replaced while
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

  Result<int64_t> InsertMessage(std::string_view agent_id, const MessageRow& row);
  Result<std::vector<MessageRow>> QueueMessages(std::string_view agent_id);
  // Deletes one message: only to write a queue's tail again in another order, inside a
  // transaction.
  Status DeleteMessage(int64_t id);
  // Takes messages with id <= last_id out of the queue (they stay in recall storage).
  Status EvictThrough(std::string_view agent_id, int64_t last_id);
  Result<uint64_t> Count(RecallTable table, std::string_view agent_id);
  Result<uint64_t> CountKind(std::string_view agent_id, MessageKind kind);
  // Rows ForEachAfter passes on: the pages the agent's space should have.
  Result<uint64_t> CountSearchable(RecallTable table, std::string_view agent_id);

  Result<int64_t> InsertPassage(std::string_view agent_id, std::string_view text, double created);

  // Calls fn(id, text) for the agent's searchable rows (IsSaid kinds, non-empty text) with
  // id > after, in id order, among the next `limit` rows; returns the last id it looked at
  // (`after` when there were none).
  Result<int64_t> ForEachAfter(RecallTable table, std::string_view agent_id, int64_t after,
                               size_t limit,
                               const std::function<void(int64_t, std::string_view)>& fn);
  // The ids of `ids` (in their order) that are the agent's searchable rows, created in
  // [start, end].
  Result<std::vector<int64_t>> Filter(RecallTable table, std::string_view agent_id,
                                      const std::vector<int64_t>& ids,
                                      std::optional<double> start, std::optional<double> end);
  // Rows by id, in the order given (missing ids skipped).
  Result<std::vector<MemoryHit>> Fetch(RecallTable table, const std::vector<int64_t>& ids);
  // The ids of the agent's `n` searchable messages just before and `n` just after message
  // `id`, ascending: the context a recall hit is shown with.
  Result<std::vector<int64_t>> AdjacentMessages(std::string_view agent_id, int64_t id, size_t n);
  // Messages (IsSaid kinds) in [start, end], oldest first.
  Result<std::vector<int64_t>> MessagesInRange(std::string_view agent_id,
                                               std::optional<double> start,
                                               std::optional<double> end, size_t limit);

 private:
  ConversationStore() = default;
  Status Exec(const char* sql);
  Status Error(const char* what) const;
  // Imports `<dir>/memory.db` (conversation_store_import.cc).
  Status ImportMemoryDb(const std::string& dir);
  sqlite3* db_ = nullptr;
  std::string file_;
};

}  // namespace vmllm

#endif  // VMLLM_STORE_CONVERSATION_STORE_H_
