// The ConversationMemory implementation, shared by conversation_memory.cc (the queue manager,
// lifecycle), memory_blocks.cc, memory_search.cc (recall and archival through the engine) and
// memory_tools.cc (schemas, executor).
//
// Thread safety: every public method takes mu_; the *Locked helpers REQUIRE it held.
#ifndef VMLLM_MEMORY_CONVERSATION_MEMORY_IMPL_H_
#define VMLLM_MEMORY_CONVERSATION_MEMORY_IMPL_H_

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/arguments.h"
#include "memory/queue_manager.h"
#include "store/conversation_store.h"
#include "vmllm/conversation_memory.h"
#include "vmllm/pager.h"

namespace vmllm {

class ConversationMemoryImpl : public ConversationMemory {
 public:
  ConversationMemoryImpl(ConversationMemoryOptions options, std::unique_ptr<Pager> engine,
                         std::unique_ptr<ConversationStore> store);
  Status Init();

  Result<AppendOutcome> Append(std::string_view message_json) override;
  Result<std::vector<std::string>> Messages() override;
  Result<AppendOutcome> Maintain() override;
  Result<size_t> ContextTokens() override;
  Result<std::vector<MemoryBlock>> Blocks() override;
  Status AttachBlock(const MemoryBlock& block) override;
  Status SetBlockValue(std::string_view label, std::string_view value) override;
  Result<std::string> ToolSchemas(std::string_view format) const override;
  Result<ToolOutcome> Execute(std::string_view tool_call_json, bool append) override;
  Result<MemorySearchPage> SearchRecall(const RecallQuery& query) override;
  Result<int64_t> ArchivalInsert(std::string_view text) override;
  Result<MemorySearchPage> ArchivalSearch(std::string_view query, size_t page) override;
  bool FlushPending() override;
  Result<std::string> SummaryInput() override;
  Status CompleteFlush(std::optional<std::string> summary) override;
  Result<ConversationMemoryStats> Stats() override;
  Status Close() override;
  Result<std::vector<std::string>> TextsToEmbed(size_t limit) override;

 private:
  struct Queued {
    MessageRow row;
    QueueItem item;
  };
  // The context's fixed head: the system message (instructions and blocks) and the summary.
  struct Head {
    std::string system_json;  // Empty when there is nothing to say.
    size_t system_tokens = 0;
    std::string summary_json;
    size_t summary_tokens = 0;
  };

  Status CheckOpen() const;
  Result<Head> HeadLocked();
  std::string RenderSystem(const std::vector<MemoryBlock>& blocks) const;
  std::string SummaryMessage(const std::string& summary) const;
  size_t QueueTokens() const;
  size_t SummaryCapTokens() const;
  std::vector<QueueItem> Items() const;
  // The synthetic result that closes call `call_id`, and the note a late tool result becomes.
  MessageRow ClosedCallRow(const std::string& call_id, double created) const;
  MessageRow LateResultRow(const std::string& call_id, const std::string& content,
                           double created) const;
  // Brings a queue written before calls were closed (one that a dangling call could brick)
  // into provider-valid form, durably; see PlanPairing.
  Status RepairPairingLocked();
  Result<AppendOutcome> AppendLocked(std::string_view message_json);
  // Flushes when the context is past flush_fraction (or finishes the work when pending).
  Status MaybeFlushLocked(AppendOutcome* outcome);
  std::string SummaryInputLocked(size_t evict) const;
  Status FinishFlushLocked(size_t evict, std::string summary);
  std::string SummarizeLocked(size_t evict) const;
  std::string FitSummary(std::string summary) const;
  Status SaveAgentLocked();
  Status EditBlockLocked(const std::string& label, const std::string& value, bool by_model);
  // Puts the agent's rows of `table` that its space lacks (ids above the watermark in the
  // space's record) into the space: after each write, and before each search, so that rows
  // committed by a process that died before putting their pages are found all the same.
  // `from_start`: every row, for pages lost under the watermark (puts of pages kept are free).
  Status CatchUpLocked(RecallTable table, bool from_start = false);
  // The engine's hits for `text` in the table's space as row ids, best first, at most
  // kCandidates, created in [start, end]; over-fetches while a date filter drops hits.
  Result<std::vector<int64_t>> SearchRowsLocked(RecallTable table, std::string_view text,
                                                RecallMode mode, std::optional<double> start,
                                                std::optional<double> end);
  // The vector half of a hybrid search failed: counted, warned once per stretch of failures.
  void NoteVectorFailureLocked();
  Result<MemorySearchPage> PageOfLocked(RecallTable table, const std::vector<int64_t>& ranked,
                                        size_t page);
  // Recall hit id -> the ids of the turns around it (kContextTurns on each side), nearest
  // first.
  using ContextTurns = std::unordered_map<int64_t, std::vector<int64_t>>;
  // `ranked` with each hit that is the context of a better one moved behind the rest (so a
  // page covers more of the conversation); fills `context` for the hits kept in place.
  Result<std::vector<int64_t>> SpreadLocked(std::vector<int64_t> ranked, ContextTurns& context);
  // `page` with the turns before and after its hits as its context (each once, oldest first,
  // nearest turns of the best hits first while they fit a share of the window).
  Result<MemorySearchPage> WithContextLocked(MemorySearchPage page, const ContextTurns& context);
  Result<MemorySearchPage> SearchRecallLocked(const RecallQuery& query);
  Result<MemorySearchPage> ArchivalSearchLocked(std::string_view query, size_t page);
  Result<int64_t> ArchivalInsertLocked(std::string_view text);
  // Runs one parsed tool; returns the result text for the model, or the error's text.
  Result<std::string> RunToolLocked(const ParsedToolCall& call, bool* ok);

  ConversationMemoryOptions options_;
  // Searches recall and archival storage: the rows are in store_, their pages in the engine's
  // spaces (memory_spaces.h). Opened on the same store.db, each with its own connection.
  std::unique_ptr<Pager> engine_;
  std::unique_ptr<ConversationStore> store_;
  std::string spaces_[2];  // Indexed by RecallTable.
  std::mutex mu_;
  bool closed_ = false;
  AgentRow agent_;
  std::vector<Queued> queue_;
  std::optional<size_t> pending_evict_;
  // Ids of queued assistant calls to the memory tools: their results are not searchable.
  std::set<std::string> memory_calls_;
  bool vectors_failing_ = false;
  uint64_t search_fallbacks_ = 0;
};

// Unicode code points of UTF-8 text: what a block's character limit counts.
size_t CodePoints(std::string_view s);
// InvalidArgument for a block without a label, over its limit or not UTF-8.
Status ValidateBlock(const MemoryBlock& block);

}  // namespace vmllm

#endif  // VMLLM_MEMORY_CONVERSATION_MEMORY_IMPL_H_
