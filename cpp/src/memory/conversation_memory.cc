// ConversationMemory: opening, the queue manager (append, warn, flush, recursive summary),
// rendering and statistics. Blocks are in memory_blocks.cc, search in memory_search.cc, the
// tools in memory_tools.cc.
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <utility>

#include "chat/message_json.h"
#include "chat/tool_registry.h"
#include "memory/conversation_memory_impl.h"
#include "memory/memory_spaces.h"
#include "vmllm/utf8.h"

namespace vmllm {

namespace {

// What a call that got no result before the next message is answered with. The marker names
// vmllm, so neither the model nor a reader takes it for the tool's output.
constexpr char kNoResult[] = "[vmllm: no result was recorded for this call]";

// Search of recall and archival storage: the engine's fusion, which LoCoMo showed serves
// conversations too (util/rank_fusion.h), and only vector hits related to the query (what the
// memory layer's own cosine search kept before it moved onto the engine).
const SpaceOptions kConversationSearch = [] {
  SpaceOptions o;
  o.related_vectors_only = true;
  return o;
}();
}  // namespace

size_t MessageTokens(const Tokenizer& tokenizer, std::string_view message_json) {
  return tokenizer.Count(message_json) + 3;
}

Result<std::unique_ptr<ConversationMemory>> ConversationMemory::Open(
    ConversationMemoryOptions o) {
  if (o.path.empty()) return Status::InvalidArgument("path is empty");
  if (o.agent_id.empty()) return Status::InvalidArgument("agent_id is empty");
  if (o.window_tokens < 64) return Status::InvalidArgument("window_tokens must be at least 64");
  if (!(o.flush_fraction > 0 && o.flush_fraction <= 1)) {
    return Status::InvalidArgument("flush_fraction must be in (0, 1]");
  }
  if (!(o.warn_fraction > 0 && o.warn_fraction <= o.flush_fraction)) {
    return Status::InvalidArgument("warn_fraction must be in (0, flush_fraction]");
  }
  if (!(o.target_fraction > 0 && o.target_fraction < o.flush_fraction)) {
    return Status::InvalidArgument("target_fraction must be in (0, flush_fraction)");
  }
  if (!(o.summary_fraction >= 0 && o.summary_fraction < o.target_fraction)) {
    return Status::InvalidArgument("summary_fraction must be in [0, target_fraction)");
  }
  if (o.page_size == 0) return Status::InvalidArgument("page_size must be positive");
  if (o.system && !IsValidUtf8(*o.system)) return Status::InvalidArgument("system is not UTF-8");
  for (size_t i = 0; i < o.blocks.size(); ++i) {
    VMLLM_RETURN_IF_ERROR(ValidateBlock(o.blocks[i]));
    for (size_t j = 0; j < i; ++j) {
      if (o.blocks[j].label == o.blocks[i].label) {
        return Status::InvalidArgument("two blocks are labelled '" + o.blocks[i].label + "'");
      }
    }
  }
  if (!o.tokenizer) o.tokenizer = NewApproxTokenizer();
  if (!o.embedder) o.embedder = NewHashingEmbedder(256);
  if (!o.clock) o.clock = SystemClock();
  PagerOptions engine;
  engine.path = o.path;
  engine.tokenizer = o.tokenizer;
  engine.embedder = o.embedder;
  engine.clock = o.clock;
  auto pager = Pager::Open(std::move(engine));  // First: it makes store.db and its tables.
  if (!pager.ok()) return pager.status();
  auto store = ConversationStore::Open(o.path);
  if (!store.ok()) return store.status();
  auto impl = std::make_unique<ConversationMemoryImpl>(std::move(o), std::move(pager).value(),
                                                       std::move(store).value());
  VMLLM_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<ConversationMemory>(std::move(impl));
}

ConversationMemoryImpl::ConversationMemoryImpl(ConversationMemoryOptions options,
                                               std::unique_ptr<Pager> engine,
                                               std::unique_ptr<ConversationStore> store)
    : options_(std::move(options)), engine_(std::move(engine)), store_(std::move(store)) {
  for (RecallTable t : {RecallTable::kMessages, RecallTable::kPassages}) {
    spaces_[static_cast<int>(t)] = MemorySpace(t, options_.agent_id);
  }
}

Status ConversationMemoryImpl::Init() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& space : spaces_) {
    VMLLM_RETURN_IF_ERROR(engine_->ConfigureSpace(space, kConversationSearch));
  }
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  Status s = [&]() -> Status {
    auto row = store_->LoadAgent(options_.agent_id);
    if (!row.ok()) return row.status();
    if (row->has_value()) agent_ = **row;
    if (options_.system) agent_.system = *options_.system;
    VMLLM_RETURN_IF_ERROR(store_->SaveAgent(options_.agent_id, agent_));
    for (MemoryBlock b : options_.blocks) {
      if (b.block_id.empty()) b.block_id = options_.agent_id + "/" + b.label;
      auto existing = store_->GetBlock(b.block_id);
      if (!existing.ok()) return existing.status();
      if (!existing->has_value()) VMLLM_RETURN_IF_ERROR(store_->PutBlock(b));
      VMLLM_RETURN_IF_ERROR(store_->AttachBlock(options_.agent_id, b.label, b.block_id));
    }
    auto head = HeadLocked();
    if (!head.ok()) return head.status();
    if (head->system_tokens + SummaryCapTokens() >
        static_cast<size_t>(options_.target_fraction * options_.window_tokens)) {
      return Status::InvalidArgument(
          "the system instructions and blocks take " + std::to_string(head->system_tokens) +
          " tokens: with the summary's share they leave no room for messages below "
          "target_fraction of a " + std::to_string(options_.window_tokens) + "-token window");
    }
    return Status();
  }();
  if (!s.ok()) {
    store_->Rollback();
    return s;
  }
  VMLLM_RETURN_IF_ERROR(store_->Commit());
  auto rows = store_->QueueMessages(options_.agent_id);
  if (!rows.ok()) return rows.status();
  for (MessageRow& row : *rows) {
    Queued q;
    auto parsed = ParseMessage(row.json);
    if (parsed.ok()) {
      q.item.tool_call_ids = parsed->tool_call_ids;
      q.item.tool_call_id = parsed->tool_call_id;
      for (size_t i = 0; i < parsed->tool_call_ids.size(); ++i) {
        if (IsConversationMemoryTool(parsed->tool_call_names[i])) {
          memory_calls_.insert(parsed->tool_call_ids[i]);
        }
      }
    }
    q.item.tokens = row.tokens;
    q.row = std::move(row);
    queue_.push_back(std::move(q));
  }
  VMLLM_RETURN_IF_ERROR(RepairPairingLocked());
  for (RecallTable t : {RecallTable::kMessages, RecallTable::kPassages}) {
    // A page count short of the rows' means pages went missing under the watermark (a space
    // deleted, a store.db restored from an older copy): every row is put again.
    auto rows = store_->CountSearchable(t, options_.agent_id);
    if (!rows.ok()) return rows.status();
    const bool lost = engine_->PageCount(spaces_[static_cast<int>(t)]) < *rows;
    VMLLM_RETURN_IF_ERROR(CatchUpLocked(t, lost));
  }
  // A store reopened with a smaller window is brought within it at once.
  AppendOutcome ignored;
  Status flushed = MaybeFlushLocked(&ignored);
  return flushed.code() == StatusCode::kResourceExhausted ? Status() : flushed;
}

Status ConversationMemoryImpl::CheckOpen() const {
  return closed_ ? Status::InvalidArgument("the conversation memory is closed") : Status();
}

std::string ConversationMemoryImpl::SummaryMessage(const std::string& summary) const {
  return TextMessageJson("system",
                         "Summary of the earlier conversation (its messages are in recall "
                         "storage; conversation_search finds them):\n" + summary);
}

Result<ConversationMemoryImpl::Head> ConversationMemoryImpl::HeadLocked() {
  auto blocks = store_->AgentBlocks(options_.agent_id);
  if (!blocks.ok()) return blocks.status();
  Head h;
  h.system_json = RenderSystem(*blocks);
  if (!h.system_json.empty()) h.system_tokens = MessageTokens(*options_.tokenizer, h.system_json);
  if (!agent_.summary.empty()) {
    h.summary_json = SummaryMessage(agent_.summary);
    h.summary_tokens = MessageTokens(*options_.tokenizer, h.summary_json);
  }
  return h;
}

size_t ConversationMemoryImpl::QueueTokens() const {
  size_t n = 0;
  for (const Queued& q : queue_) n += q.item.tokens;
  return n;
}

size_t ConversationMemoryImpl::SummaryCapTokens() const {
  return static_cast<size_t>(options_.summary_fraction * options_.window_tokens);
}

std::vector<QueueItem> ConversationMemoryImpl::Items() const {
  std::vector<QueueItem> items;
  items.reserve(queue_.size() + 2);
  for (const Queued& q : queue_) items.push_back(q.item);
  return items;
}

MessageRow ConversationMemoryImpl::ClosedCallRow(const std::string& call_id,
                                                double created) const {
  MessageRow r;
  r.role = "tool";
  r.kind = MessageKind::kClosedCall;
  r.created = created;
  r.json = ToolMessageJson(call_id, kNoResult);
  r.text = kNoResult;
  r.tokens = static_cast<uint32_t>(MessageTokens(*options_.tokenizer, r.json));
  return r;
}

MessageRow ConversationMemoryImpl::LateResultRow(const std::string& call_id,
                                                const std::string& content,
                                                double created) const {
  // A tool message may only follow its call, so the result is relayed as a user-role note:
  // every provider accepts a user message anywhere, and the model still sees the result.
  MessageRow r;
  r.role = "user";
  r.kind = MessageKind::kLateResult;
  r.created = created;
  r.text = "[vmllm: late result of tool call '" + call_id +
           "', which had already been closed or is not in the context]\n" + content;
  r.json = TextMessageJson("user", r.text);
  r.tokens = static_cast<uint32_t>(MessageTokens(*options_.tokenizer, r.json));
  return r;
}

Status ConversationMemoryImpl::RepairPairingLocked() {
  std::vector<PairingStep> plan = PlanPairing(Items());
  size_t first = 0;
  while (first < plan.size() && plan[first] == PairingStep{PairingStep::Kind::kKeep, first, {}}) {
    ++first;
  }
  if (first == plan.size()) return Status();
  // A row's id is its place in the queue, so a synthetic result cannot be slipped in after the
  // call: the rows from the first change on are written again, in the plan's order, with their
  // timestamps. Recall keeps each message once.
  std::vector<Queued> rewritten;
  // A synthetic result is dated like the call it closes (the message before it).
  double created = queue_[first > 0 ? first - 1 : 0].row.created;
  for (size_t i = first; i < plan.size(); ++i) {
    const PairingStep& step = plan[i];
    Queued q;
    if (step.kind == PairingStep::Kind::kCloseCall) {
      q.row = ClosedCallRow(step.call_id, created);
      q.item = QueueItem{q.row.tokens, {}, step.call_id};
    } else if (step.kind == PairingStep::Kind::kLateResult) {
      const Queued& late = queue_[step.index];
      q.row = LateResultRow(late.item.tool_call_id, late.row.text, late.row.created);
      q.item = QueueItem{q.row.tokens, {}, {}};
    } else {
      q = queue_[step.index];
    }
    created = q.row.created;
    rewritten.push_back(std::move(q));
  }
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  Status s = [&]() -> Status {
    for (size_t i = first; i < queue_.size(); ++i) {
      VMLLM_RETURN_IF_ERROR(store_->DeleteMessage(queue_[i].row.id));
    }
    for (Queued& q : rewritten) {
      auto id = store_->InsertMessage(options_.agent_id, q.row);
      if (!id.ok()) return id.status();
      q.row.id = *id;
    }
    return store_->Commit();
  }();
  if (!s.ok()) {
    store_->Rollback();
    return s;
  }
  // The rows are gone; so go their pages (a page left by a crash here is never a hit: search
  // keeps only hits whose row exists). The rewritten rows are put by the catch-up.
  const std::string& recall = spaces_[static_cast<int>(RecallTable::kMessages)];
  std::vector<std::string> gone;
  for (size_t i = first; i < queue_.size(); ++i) {
    gone.push_back(MemoryPageId(RecallTable::kMessages, recall, queue_[i].row.id));
  }
  auto deleted = engine_->DeletePages(recall, gone);
  if (!deleted.ok()) return deleted.status();
  queue_.resize(first);
  for (Queued& q : rewritten) queue_.push_back(std::move(q));
  return CatchUpLocked(RecallTable::kMessages);
}

Status ConversationMemoryImpl::SaveAgentLocked() {
  return store_->SaveAgent(options_.agent_id, agent_);
}

Result<AppendOutcome> ConversationMemoryImpl::Append(std::string_view message_json) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return AppendLocked(message_json);
}

Result<AppendOutcome> ConversationMemoryImpl::AppendLocked(std::string_view message_json) {
  if (pending_evict_) {
    VMLLM_RETURN_IF_ERROR(
        FinishFlushLocked(*pending_evict_, SummarizeLocked(*pending_evict_)));
  }
  auto parsed = ParseMessage(message_json);
  if (!parsed.ok()) return parsed.status();
  std::vector<QueueItem> items = Items();
  const double now = options_.clock->Now();
  // The pairing rule (queue_manager.h): a message that is not a result for an open call first
  // closes the open calls, so a call whose result never came (the process died, the tool
  // hung) cannot hold the queue open, and a result that answers no open call becomes a note.
  std::vector<std::string> open = OpenToolCalls(items);
  const bool answers_open_call =
      parsed->role == "tool" &&
      std::find(open.begin(), open.end(), parsed->tool_call_id) != open.end();
  std::vector<Queued> closing;
  if (!answers_open_call) {
    for (const std::string& id : open) {
      MessageRow r = ClosedCallRow(id, now);
      QueueItem closed{r.tokens, {}, id};
      items.push_back(closed);
      closing.push_back(Queued{std::move(r), std::move(closed)});
    }
  }
  MessageRow row;
  if (parsed->role == "tool" && !answers_open_call) {
    row = LateResultRow(parsed->tool_call_id, parsed->text, now);
  } else {
    row.role = parsed->role;
    row.json = parsed->canonical;
    row.created = now;
    row.text = parsed->text;
    if (answers_open_call && memory_calls_.count(parsed->tool_call_id)) {
      row.kind = MessageKind::kMemoryToolResult;
    }
    for (size_t i = 0; i < parsed->tool_call_ids.size(); ++i) {
      if (IsConversationMemoryTool(parsed->tool_call_names[i])) continue;  // A search, not something said.
      if (!row.text.empty()) row.text += '\n';
      row.text += parsed->tool_call_texts[i];
    }
    row.tokens = static_cast<uint32_t>(MessageTokens(*options_.tokenizer, row.json));
  }
  QueueItem item{row.tokens, parsed->tool_call_ids,
                 answers_open_call ? parsed->tool_call_id : std::string()};
  items.push_back(item);
  const size_t new_index = items.size() - 1;  // Where the new message goes in the queue.

  auto head = HeadLocked();
  if (!head.ok()) return head.status();
  const size_t window = options_.window_tokens;
  size_t total = head->system_tokens + head->summary_tokens + QueueTokens() + row.tokens;
  for (const Queued& q : closing) total += q.row.tokens;
  std::optional<MessageRow> warning;
  if (!agent_.warned && total >= options_.warn_fraction * window &&
      OpenToolCalls(items).empty()) {
    MessageRow w;
    w.role = "system";
    w.kind = MessageKind::kWarning;
    w.created = row.created;
    w.text = "[Memory pressure warning] The conversation fills " +
             std::to_string(static_cast<int>(100.0 * total / window)) +
             "% of the context window. The oldest messages will soon be evicted from the "
             "context (they stay in recall storage, and a summary replaces them). Save what "
             "matters now with core_memory_append, core_memory_replace or "
             "archival_memory_insert.";
    w.json = TextMessageJson("system", w.text);
    w.tokens = static_cast<uint32_t>(MessageTokens(*options_.tokenizer, w.json));
    items.push_back(QueueItem{w.tokens, {}, {}});
    total += w.tokens;
    warning = std::move(w);
  }
  if (total > options_.flush_fraction * window) {
    auto plan = ChooseCut(items, head->system_tokens + SummaryCapTokens(),
                          static_cast<size_t>(options_.target_fraction * window), window,
                          new_index);  // The new message stays.
    if (!plan || plan->evict == 0) {
      return Status::ResourceExhausted(
          "a message of " + std::to_string(row.tokens) + " tokens cannot fit: the window is " +
          std::to_string(window) + " tokens, the system instructions and blocks take " +
          std::to_string(head->system_tokens) + ", the summary up to " +
          std::to_string(SummaryCapTokens()) +
          ", and tool calls are never separated from their results");
    }
  }

  AgentRow saved = agent_;
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  Status s = [&]() -> Status {
    for (Queued& q : closing) {
      auto cid = store_->InsertMessage(options_.agent_id, q.row);
      if (!cid.ok()) return cid.status();
      q.row.id = *cid;
    }
    auto id = store_->InsertMessage(options_.agent_id, row);
    if (!id.ok()) return id.status();
    row.id = *id;
    if (warning) {
      auto wid = store_->InsertMessage(options_.agent_id, *warning);
      if (!wid.ok()) return wid.status();
      warning->id = *wid;
      agent_.warned = true;
      ++agent_.warnings;
      VMLLM_RETURN_IF_ERROR(SaveAgentLocked());
    }
    return store_->Commit();
  }();
  if (!s.ok()) {
    store_->Rollback();
    agent_ = saved;
    return s;
  }
  AppendOutcome outcome;
  outcome.message_id = row.id;
  outcome.warned = warning.has_value();
  for (size_t i = 0; i < parsed->tool_call_ids.size(); ++i) {
    if (IsConversationMemoryTool(parsed->tool_call_names[i])) memory_calls_.insert(parsed->tool_call_ids[i]);
  }
  // The rows are stored: a failed put is retried by the next catch-up, not reported as a loss.
  CatchUpLocked(RecallTable::kMessages);
  for (Queued& q : closing) queue_.push_back(std::move(q));
  queue_.push_back(Queued{std::move(row), std::move(item)});
  if (warning) {
    QueueItem witem{warning->tokens, {}, {}};
    queue_.push_back(Queued{std::move(*warning), std::move(witem)});
  }
  VMLLM_RETURN_IF_ERROR(MaybeFlushLocked(&outcome));
  return outcome;
}

Status ConversationMemoryImpl::MaybeFlushLocked(AppendOutcome* outcome) {
  if (pending_evict_) return Status();
  auto head = HeadLocked();
  if (!head.ok()) return head.status();
  const size_t window = options_.window_tokens;
  const size_t total = head->system_tokens + head->summary_tokens + QueueTokens();
  if (total <= options_.flush_fraction * window) return Status();
  if (queue_.empty()) return Status::ResourceExhausted("the blocks alone fill the window");
  // The newest message stays, even when a warning follows it.
  size_t newest = queue_.size() - 1;
  while (newest > 0 && queue_[newest].row.kind == MessageKind::kWarning) --newest;
  auto plan = ChooseCut(Items(), head->system_tokens + SummaryCapTokens(),
                        static_cast<size_t>(options_.target_fraction * window), window, newest);
  if (!plan || plan->evict == 0) {
    return Status::ResourceExhausted("the context cannot be brought within the window");
  }
  if (options_.external_compressor) {
    pending_evict_ = plan->evict;
    outcome->flush_pending = true;
    return Status();
  }
  VMLLM_RETURN_IF_ERROR(
      FinishFlushLocked(plan->evict, SummarizeLocked(plan->evict)));
  outcome->flushed = true;
  return Status();
}

std::string ConversationMemoryImpl::SummaryInputLocked(size_t evict) const {
  std::string text = agent_.summary;
  if (!text.empty()) text += "\n\n";
  for (size_t i = 0; i < evict && i < queue_.size(); ++i) {
    const MessageRow& r = queue_[i].row;
    if (!IsSaid(r.kind) || r.text.empty()) continue;
    text += r.role + ": " + r.text + "\n";
  }
  return text;
}

std::string ConversationMemoryImpl::SummarizeLocked(size_t evict) const {
  std::string input = SummaryInputLocked(evict);
  if (options_.compressor) return options_.compressor->Compress(input);
  // The built-in compressor is sized to the summary's share of the window (about 4 bytes a
  // token), so it picks the most informative sentences of the old summary and the evicted
  // messages together instead of having its output cut afterwards.
  double ratio = input.empty() ? 1.0 : 3.6 * SummaryCapTokens() / input.size();
  return NewExtractiveCompressor(std::min(1.0, std::max(0.01, ratio)))->Compress(input);
}

std::string ConversationMemoryImpl::FitSummary(std::string summary) const {
  const size_t cap = SummaryCapTokens();
  if (!IsValidUtf8(summary)) summary = "(the summary was not valid UTF-8 and was dropped)";
  auto fits = [&](const std::string& s) {
    return MessageTokens(*options_.tokenizer, SummaryMessage(s)) <= cap;
  };
  if (summary.empty() || fits(summary)) return summary;
  if (!fits("... ")) return std::string();
  // Too long (an external summariser's, or a dense one): keep its most informative sentences.
  for (int round = 0; round < 4; ++round) {
    std::string shorter = NewExtractiveCompressor(0.6)->Compress(summary);
    if (shorter.empty() || shorter.size() >= summary.size()) break;
    summary = std::move(shorter);
    if (fits(summary)) return summary;
  }
  // Keep the newest part: the shortest cut from the front that fits (a cut of size() fits).
  size_t lo = 0, hi = summary.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (fits("... " + summary.substr(mid))) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  size_t cut = hi;
  while (cut < summary.size()) {
    cut = Utf8CeilBoundary(summary, cut);
    if (fits("... " + summary.substr(cut))) break;
    ++cut;
  }
  return "... " + summary.substr(cut);
}

Status ConversationMemoryImpl::FinishFlushLocked(size_t evict, std::string summary) {
  evict = std::min(evict, queue_.size());
  pending_evict_.reset();
  if (evict == 0) return Status();
  std::string fitted = FitSummary(std::move(summary));
  AgentRow saved = agent_;
  agent_.summary = fitted;
  ++agent_.flushes;
  agent_.evicted += evict;
  agent_.warned = false;
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  Status s = store_->EvictThrough(options_.agent_id, queue_[evict - 1].row.id);
  if (s.ok()) s = SaveAgentLocked();
  if (s.ok()) s = store_->Commit();
  if (!s.ok()) {
    store_->Rollback();
    agent_ = saved;
    return s;
  }
  for (size_t i = 0; i < evict; ++i) {
    for (const std::string& id : queue_[i].item.tool_call_ids) memory_calls_.erase(id);
  }
  queue_.erase(queue_.begin(), queue_.begin() + evict);
  return Status();
}

bool ConversationMemoryImpl::FlushPending() {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_evict_.has_value();
}

Result<std::string> ConversationMemoryImpl::SummaryInput() {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  if (!pending_evict_) return Status::InvalidArgument("no flush is pending");
  return SummaryInputLocked(*pending_evict_);
}

Status ConversationMemoryImpl::CompleteFlush(std::optional<std::string> summary) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  if (!pending_evict_) return Status::InvalidArgument("no flush is pending");
  if (!summary) {
    ++agent_.compressor_failures;
    summary = SummarizeLocked(*pending_evict_);
  }
  return FinishFlushLocked(*pending_evict_, std::move(*summary));
}

Result<AppendOutcome> ConversationMemoryImpl::Maintain() {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  AppendOutcome outcome;
  VMLLM_RETURN_IF_ERROR(MaybeFlushLocked(&outcome));
  return outcome;
}

Result<std::vector<std::string>> ConversationMemoryImpl::Messages() {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  if (!options_.external_compressor) {
    // Another agent may have grown a shared block since this one last appended.
    AppendOutcome ignored;
    Status s = MaybeFlushLocked(&ignored);
    if (!s.ok() && s.code() != StatusCode::kResourceExhausted) return s;
  }
  auto head = HeadLocked();
  if (!head.ok()) return head.status();
  std::vector<std::string> out;
  if (!head->system_json.empty()) out.push_back(head->system_json);
  if (!head->summary_json.empty()) out.push_back(head->summary_json);
  for (const Queued& q : queue_) out.push_back(q.row.json);
  return out;
}

Result<size_t> ConversationMemoryImpl::ContextTokens() {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  auto head = HeadLocked();
  if (!head.ok()) return head.status();
  return head->system_tokens + head->summary_tokens + QueueTokens();
}

Result<ConversationMemoryStats> ConversationMemoryImpl::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  auto head = HeadLocked();
  if (!head.ok()) return head.status();
  ConversationMemoryStats s;
  s.window_tokens = options_.window_tokens;
  s.system_tokens = head->system_tokens;
  s.summary_tokens = head->summary_tokens;
  s.queue_tokens = QueueTokens();
  s.context_tokens = s.system_tokens + s.summary_tokens + s.queue_tokens;
  s.queue_messages = queue_.size();
  auto recall = store_->Count(RecallTable::kMessages, options_.agent_id);
  if (!recall.ok()) return recall.status();
  auto archival = store_->Count(RecallTable::kPassages, options_.agent_id);
  if (!archival.ok()) return archival.status();
  s.recall_messages = *recall;
  s.archival_passages = *archival;
  // Counted from the rows themselves, so the counts survive a crash and a repair on open.
  auto closed = store_->CountKind(options_.agent_id, MessageKind::kClosedCall);
  if (!closed.ok()) return closed.status();
  auto late = store_->CountKind(options_.agent_id, MessageKind::kLateResult);
  if (!late.ok()) return late.status();
  s.closed_tool_calls = *closed;
  s.late_tool_results = *late;
  s.warnings = agent_.warnings;
  s.flushes = agent_.flushes;
  s.evicted_messages = agent_.evicted;
  s.compressor_failures = agent_.compressor_failures;
  s.tool_calls = agent_.tool_calls;
  s.tool_errors = agent_.tool_errors;
  s.search_fallbacks = search_fallbacks_;
  return s;
}

Status ConversationMemoryImpl::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return Status();
  Status s;
  if (pending_evict_) {
    s = FinishFlushLocked(*pending_evict_,
                          SummarizeLocked(*pending_evict_));
  }
  closed_ = true;
  store_.reset();
  Status closed = engine_->Close();
  engine_.reset();
  return s.ok() ? closed : s;
}

}  // namespace vmllm
