// ConversationMemory: MemGPT-style memory for a chat that must go on for weeks.
//
// The main context sent to the model is, in order: the system instructions with the working-
// memory blocks rendered into them, the recursive summary of everything evicted (once there is
// one), then the FIFO queue of recent messages. Messages are OpenAI Chat Completions messages
// (role, content, tool_calls with ids, tool_call_id) passed as JSON text.
//
// The queue manager keeps the context within `window_tokens`:
//   * when the context passes warn_fraction of the window, one memory-pressure warning enters
//     the queue (once per flush cycle, never between a tool call and its results);
//   * when it passes flush_fraction, the oldest messages are evicted until it is at most
//     target_fraction of the window, cutting only where no tool call is separated from its
//     results; the evicted messages and the previous summary are folded into a new summary by
//     the compressor. Evicted messages stay in recall storage.
// A message that could never fit is refused (ResourceExhausted) and nothing is stored.
//
// Recall storage holds every message (searchable by words, meaning and date); archival
// storage holds free-form passages. Both, the blocks, the queue and the summary live in
// tables of `<path>/store.db`, the engine's store (a Pager opened on the same path shares it),
// so closing and reopening restores everything; the searchable messages and the passages are
// also pages of the engine's spaces "recall:<agent>" and "archival:<agent>", searched by its
// keyword index, vector index and fusion. A `<path>/memory.db` of an earlier release is
// imported on open and renamed `memory.db.migrated`. Blocks live
// in a table keyed by block id: agents (ConversationMemory objects with different agent ids,
// in one process or several) that attach the same block id share it.
//
// External compressors (a Python callable, an LLM) never run on a core thread: with
// `external_compressor` set, a flush stops at "summary needed" (FlushPending() is true);
// the caller computes the summary of SummaryInput() and hands it to CompleteFlush().
//
// Thread safety: every method may be called from any thread; calls are serialised inside.
// One agent id should be written by one object at a time; other agents may share the store.
#ifndef VMLLM_CONVERSATION_MEMORY_H_
#define VMLLM_CONVERSATION_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmllm/clock.h"
#include "vmllm/compressor.h"
#include "vmllm/embedder.h"
#include "vmllm/memory_records.h"
#include "vmllm/status.h"
#include "vmllm/tokenizer.h"

namespace vmllm {

struct ConversationMemoryOptions {
  std::string path;                  // Store directory (created if missing). Required.
  std::string agent_id = "default";
  size_t window_tokens = 8000;
  // System instructions; std::nullopt keeps the stored ones (empty for a new agent).
  std::optional<std::string> system;
  // Blocks to attach. A block id already in the store keeps its stored value (so a reopened or
  // second agent sees the shared state); a new id is created with the given value.
  std::vector<MemoryBlock> blocks;
  double warn_fraction = 0.7;
  double flush_fraction = 1.0;
  double target_fraction = 0.5;
  // The longest summary, as a fraction of the window; longer summaries keep their newest part.
  double summary_fraction = 0.1;
  size_t page_size = 5;              // Search results per page, as MemGPT.
  std::shared_ptr<const Tokenizer> tokenizer;    // Default: the approximate tokenizer.
  // Default: the extractive compressor, sized so the summary fits summary_fraction.
  std::shared_ptr<const Compressor> compressor;
  bool external_compressor = false;  // Flushes wait for CompleteFlush (see above).
  // Makes the vectors of recall and archival search (the engine's). Default:
  // NewHashingEmbedder(256). Vectors are computed before a search, not on insert, so a remote
  // embedder is never called by Append and a store opens while it is down; the engine keeps
  // one vector index per embedder, rebuilt from the stored text for a new one. When the vector
  // half of a hybrid search fails, the search uses keywords alone (a backend warning, counted
  // in search_fallbacks); kVector fails.
  std::shared_ptr<const Embedder> embedder;
  Clock* clock = nullptr;                        // Default: SystemClock().
};

// A stored message or passage found by a search.
struct MemorySearchPage {
  std::vector<MemoryHit> hits;
  // Recall search: the turns just before and after the hits that are not hits themselves,
  // oldest first (a turn without its context rarely answers).
  std::vector<MemoryHit> context;
  size_t page = 0;
  size_t total = 0;        // Hits over all pages (capped by the candidate limit).
  size_t total_pages = 0;
};

enum class RecallMode { kHybrid, kKeyword, kVector };

struct RecallQuery {
  std::string text;                  // Empty: every message in the date range, oldest first.
  std::optional<double> start;       // Inclusive bounds, seconds since the epoch.
  std::optional<double> end;
  RecallMode mode = RecallMode::kHybrid;
  size_t page = 0;
};

// What one Append did.
struct AppendOutcome {
  int64_t message_id = 0;
  bool warned = false;         // A memory-pressure warning entered the queue.
  bool flushed = false;        // Messages were evicted and the summary rewritten.
  bool flush_pending = false;  // External compressor: CompleteFlush is awaited.
};

// What one tool call did. `content` is the JSON text of the result for the model.
struct ToolOutcome {
  std::string tool_call_id;
  std::string name;
  bool ok = false;
  bool heartbeat = false;      // The model asked to run again before the user speaks.
  std::string content;
  std::string message_json;    // {"role":"tool","tool_call_id":...,"content":...}
  bool appended = false;       // The tool message entered the queue (its call was open).
  bool flush_pending = false;  // Appending it started a flush awaiting CompleteFlush.
};

struct ConversationMemoryStats {
  size_t window_tokens = 0;
  size_t context_tokens = 0;   // What Messages() costs now.
  size_t system_tokens = 0;    // System instructions with the blocks.
  size_t summary_tokens = 0;
  size_t queue_tokens = 0;
  size_t queue_messages = 0;
  uint64_t recall_messages = 0;
  uint64_t archival_passages = 0;
  uint64_t warnings = 0;
  uint64_t flushes = 0;
  uint64_t evicted_messages = 0;
  uint64_t compressor_failures = 0;
  uint64_t tool_calls = 0;
  uint64_t tool_errors = 0;
  uint64_t closed_tool_calls = 0;  // Calls answered by a synthetic result (see Append).
  uint64_t late_tool_results = 0;  // Tool results that answered no open call, kept as notes.
  uint64_t search_fallbacks = 0;   // Hybrid searches answered by keywords alone (this object).
};

class ConversationMemory {
 public:
  // Opens or creates the agent `options.agent_id` in the store at `options.path`.
  // InvalidArgument for bad fractions, a zero window or invalid blocks; StorageError for I/O.
  static Result<std::unique_ptr<ConversationMemory>> Open(ConversationMemoryOptions options);
  virtual ~ConversationMemory() = default;

  // Appends one OpenAI-style message (JSON object text) to the queue and recall storage, then
  // warns and flushes as needed. InvalidArgument for malformed messages; ResourceExhausted for
  // one too large to fit the window with the system, blocks and summary (nothing is stored).
  // Tool calls stay paired as providers require: the calls of the last assistant message are
  // open until a message that is not a result for one of them arrives; that message first
  // closes each open call with a synthetic tool result ("[vmllm: no result was recorded for
  // this call]"). A tool result that answers no open call (late, repeated, or for a call not
  // in the context) is stored as a user-role note naming the call. A queue written before
  // this rule is repaired when it is opened.
  virtual Result<AppendOutcome> Append(std::string_view message_json) = 0;

  // The messages to send to the model, each as JSON object text. When another agent grew a
  // shared block past this agent's window, a flush runs first (with an external compressor it
  // is left pending: call Maintain(), finish the flush, then Messages()).
  virtual Result<std::vector<std::string>> Messages() = 0;
  // Flushes if the context is past flush_fraction (e.g. after another agent's block edit).
  virtual Result<AppendOutcome> Maintain() = 0;
  // The context's token cost (what Messages() costs), counted as documented in Stats.
  virtual Result<size_t> ContextTokens() = 0;

  virtual Result<std::vector<MemoryBlock>> Blocks() = 0;
  // Attaches (creating if new) a block; see ConversationMemoryOptions::blocks.
  virtual Status AttachBlock(const MemoryBlock& block) = 0;
  // Sets a block's value from the application (read_only does not apply; the limit does).
  virtual Status SetBlockValue(std::string_view label, std::string_view value) = 0;

  // Tool schemas as a JSON array: format "openai" or "anthropic".
  virtual Result<std::string> ToolSchemas(std::string_view format) const = 0;
  // Runs one tool call: OpenAI {"id","function":{"name","arguments"}}, Anthropic
  // {"type":"tool_use","id","name","input"} or {"name","arguments"}. A failing call is an
  // ok=false outcome whose content explains the error to the model; only storage failures are
  // a non-OK Status. With `append`, the tool message enters the queue.
  virtual Result<ToolOutcome> Execute(std::string_view tool_call_json, bool append) = 0;

  virtual Result<MemorySearchPage> SearchRecall(const RecallQuery& query) = 0;
  virtual Result<int64_t> ArchivalInsert(std::string_view text) = 0;
  virtual Result<MemorySearchPage> ArchivalSearch(std::string_view query, size_t page) = 0;

  // External compressor protocol.
  virtual bool FlushPending() = 0;
  virtual Result<std::string> SummaryInput() = 0;
  // Finishes the pending flush with `summary`; std::nullopt uses the built-in compressor (the
  // fallback when the external one failed, counted in compressor_failures).
  virtual Status CompleteFlush(std::optional<std::string> summary) = 0;

  // Embedder protocol for vectors computed outside the core (a ProvidedEmbedder fed from
  // Python): computes the vectors that can be computed now, then returns the texts of up to
  // `limit` pages of the store still without one (Pager::TextsToEmbed), for the caller to
  // provide.
  virtual Result<std::vector<std::string>> TextsToEmbed(size_t limit) = 0;

  virtual Result<ConversationMemoryStats> Stats() = 0;
  // Finishes a pending flush with the built-in compressor and closes the database.
  virtual Status Close() = 0;
};

// Token cost of one message as Messages() renders it: the tokens of its compact JSON plus 3.
// Counting the JSON keys and quotes errs high, so the window is never exceeded by a low estimate.
size_t MessageTokens(const Tokenizer& tokenizer, std::string_view message_json);

// The text a memory tool call searches by meaning (the "query" of conversation_search and
// archival_memory_search); empty for any other call. What an embedder outside the core must
// embed before Execute runs the call.
std::string ToolCallQuery(std::string_view tool_call_json);

}  // namespace vmllm

#endif  // VMLLM_CONVERSATION_MEMORY_H_
