// ConversationMemory: the queue manager, working-memory blocks and recall/archival storage.
// Tool schemas and the executor are in memory_tools.cc.
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <utility>

#include "memory/conversation_memory_impl.h"
#include "memory/message_json.h"
#include "vmllm/utf8.h"

namespace vmllm {
namespace {

constexpr size_t kCandidates = 100;  // Per ranking list before fusion; results are paginated.
constexpr double kRrfK = 60.0;

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

Status ValidateBlock(const MemoryBlock& b) {
  if (b.label.empty()) return Status::InvalidArgument("a memory block needs a label");
  if (b.limit == 0) return Status::InvalidArgument("block '" + b.label + "' has a zero limit");
  if (!IsValidUtf8(b.value) || !IsValidUtf8(b.label) || !IsValidUtf8(b.description)) {
    return Status::InvalidArgument("block '" + b.label + "' is not valid UTF-8");
  }
  size_t chars = CodePoints(b.value);
  if (chars > b.limit) {
    return Status::InvalidArgument("block '" + b.label + "' holds " + std::to_string(chars) +
                                   " characters; its limit is " + std::to_string(b.limit));
  }
  return Status();
}

// Reciprocal rank fusion of ranked id lists.
std::vector<int64_t> Fuse(const std::vector<std::vector<int64_t>>& lists) {
  std::unordered_map<int64_t, double> score;
  for (const auto& list : lists) {
    for (size_t r = 0; r < list.size(); ++r) score[list[r]] += 1.0 / (kRrfK + r + 1);
  }
  std::vector<std::pair<int64_t, double>> all(score.begin(), score.end());
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first > b.first;
  });
  std::vector<int64_t> out;
  for (const auto& e : all) out.push_back(e.first);
  return out;
}

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
  auto store = ConversationStore::Open(o.path);
  if (!store.ok()) return store.status();
  auto impl = std::make_unique<ConversationMemoryImpl>(std::move(o), std::move(store).value());
  VMLLM_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<ConversationMemory>(std::move(impl));
}

ConversationMemoryImpl::ConversationMemoryImpl(ConversationMemoryOptions options,
                                               std::unique_ptr<ConversationStore> store)
    : options_(std::move(options)), store_(std::move(store)) {}

Status ConversationMemoryImpl::Init() {
  std::lock_guard<std::mutex> lock(mu_);
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
        if (IsMemoryTool(parsed->tool_call_names[i])) memory_calls_.insert(parsed->tool_call_ids[i]);
      }
    }
    q.item.tokens = row.tokens;
    q.row = std::move(row);
    queue_.push_back(std::move(q));
  }
  // A store reopened with a smaller window is brought within it at once.
  AppendOutcome ignored;
  Status flushed = MaybeFlushLocked(&ignored);
  return flushed.code() == StatusCode::kResourceExhausted ? Status() : flushed;
}

Status ConversationMemoryImpl::CheckOpen() const {
  return closed_ ? Status::InvalidArgument("the conversation memory is closed") : Status();
}

std::string ConversationMemoryImpl::RenderSystem(const std::vector<MemoryBlock>& blocks) const {
  std::string text = agent_.system;
  if (!blocks.empty()) {
    if (!text.empty()) text += "\n\n";
    text += "<memory_blocks>\nThe following memory blocks are your working context; edit them "
            "with core_memory_append and core_memory_replace.\n";
    for (const MemoryBlock& b : blocks) {
      text += "<" + b.label + ">\n";
      if (!b.description.empty()) text += "<description>" + b.description + "</description>\n";
      text += "<metadata>chars_current=" + std::to_string(CodePoints(b.value)) +
              " chars_limit=" + std::to_string(b.limit) +
              (b.read_only ? " read_only=true" : "") + "</metadata>\n";
      text += "<value>\n" + b.value + "\n</value>\n</" + b.label + ">\n";
    }
    text += "</memory_blocks>";
  }
  return text.empty() ? std::string() : TextMessageJson("system", text);
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
  MessageRow row;
  row.role = parsed->role;
  row.json = parsed->canonical;
  row.created = options_.clock->Now();
  row.text = parsed->text;
  if (row.role == "tool") {
    std::vector<std::string> open = OpenToolCalls(items);
    if (std::find(open.begin(), open.end(), parsed->tool_call_id) == open.end()) {
      return Status::InvalidArgument("the tool result for '" + parsed->tool_call_id +
                                     "' answers no open tool call in the queue: append the "
                                     "assistant message that makes the call first");
    }
    if (memory_calls_.count(parsed->tool_call_id)) row.kind = MessageKind::kMemoryToolResult;
  }
  for (size_t i = 0; i < parsed->tool_call_ids.size(); ++i) {
    if (IsMemoryTool(parsed->tool_call_names[i])) continue;  // A search, not something said.
    if (!row.text.empty()) row.text += '\n';
    row.text += parsed->tool_call_texts[i];
  }
  row.tokens = static_cast<uint32_t>(MessageTokens(*options_.tokenizer, row.json));
  QueueItem item{row.tokens, parsed->tool_call_ids, parsed->tool_call_id};
  items.push_back(item);

  auto head = HeadLocked();
  if (!head.ok()) return head.status();
  const size_t window = options_.window_tokens;
  size_t total = head->system_tokens + head->summary_tokens + QueueTokens() + row.tokens;
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
                          queue_.size());  // The new message stays.
    if (!plan || plan->evict == 0) {
      return Status::ResourceExhausted(
          "a message of " + std::to_string(row.tokens) + " tokens cannot fit: the window is " +
          std::to_string(window) + " tokens, the system instructions and blocks take " +
          std::to_string(head->system_tokens) + ", the summary up to " +
          std::to_string(SummaryCapTokens()) +
          ", and tool calls are never separated from their results");
    }
  }

  std::vector<float> embedding = options_.embedder->Embed(row.text);
  AgentRow saved = agent_;
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  Status s = [&]() -> Status {
    auto id = store_->InsertMessage(options_.agent_id, row, embedding);
    if (!id.ok()) return id.status();
    row.id = *id;
    if (warning) {
      auto wid = store_->InsertMessage(options_.agent_id, *warning, {});
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
    if (IsMemoryTool(parsed->tool_call_names[i])) memory_calls_.insert(parsed->tool_call_ids[i]);
  }
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
    if (r.kind != MessageKind::kMessage || r.text.empty()) continue;
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
    while (cut < summary.size() && (static_cast<unsigned char>(summary[cut]) & 0xC0) == 0x80) ++cut;
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

Result<std::vector<MemoryBlock>> ConversationMemoryImpl::Blocks() {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return store_->AgentBlocks(options_.agent_id);
}

Status ConversationMemoryImpl::AttachBlock(const MemoryBlock& block) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  VMLLM_RETURN_IF_ERROR(ValidateBlock(block));
  MemoryBlock b = block;
  if (b.block_id.empty()) b.block_id = options_.agent_id + "/" + b.label;
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  Status s = [&]() -> Status {
    auto existing = store_->GetBlock(b.block_id);
    if (!existing.ok()) return existing.status();
    if (!existing->has_value()) VMLLM_RETURN_IF_ERROR(store_->PutBlock(b));
    VMLLM_RETURN_IF_ERROR(store_->AttachBlock(options_.agent_id, b.label, b.block_id));
    auto head = HeadLocked();
    if (!head.ok()) return head.status();
    if (head->system_tokens + SummaryCapTokens() >
        options_.target_fraction * options_.window_tokens) {
      return Status::ResourceExhausted("block '" + b.label + "' would leave no room for messages");
    }
    return store_->Commit();
  }();
  if (!s.ok()) {
    store_->Rollback();
    return s;
  }
  AppendOutcome ignored;
  return MaybeFlushLocked(&ignored);
}

Status ConversationMemoryImpl::SetBlockValue(std::string_view label, std::string_view value) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return EditBlockLocked(std::string(label), std::string(value), /*by_model=*/false);
}

Status ConversationMemoryImpl::EditBlockLocked(const std::string& label, const std::string& value,
                                               bool by_model) {
  if (!IsValidUtf8(value)) return Status::InvalidArgument("the new value is not valid UTF-8");
  auto blocks = store_->AgentBlocks(options_.agent_id);
  if (!blocks.ok()) return blocks.status();
  auto it = std::find_if(blocks->begin(), blocks->end(),
                         [&](const MemoryBlock& b) { return b.label == label; });
  if (it == blocks->end()) {
    std::string names;
    for (const MemoryBlock& b : *blocks) names += (names.empty() ? "" : ", ") + b.label;
    return Status::NotFound("there is no memory block labelled '" + label + "' (blocks: " +
                            (names.empty() ? "none" : names) + ")");
  }
  if (by_model && it->read_only) {
    return Status::InvalidArgument("memory block '" + label + "' is read-only");
  }
  size_t chars = CodePoints(value);
  if (chars > it->limit) {
    return Status::InvalidArgument("memory block '" + label + "' would hold " +
                                   std::to_string(chars) + " characters; its limit is " +
                                   std::to_string(it->limit) + ". Shorten it with "
                                   "core_memory_replace or move details to archival memory");
  }
  MemoryBlock updated = *it;
  updated.value = value;
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  Status s = [&]() -> Status {
    VMLLM_RETURN_IF_ERROR(store_->PutBlock(updated));
    auto head = HeadLocked();
    if (!head.ok()) return head.status();
    if (head->system_tokens + SummaryCapTokens() >
        options_.target_fraction * options_.window_tokens) {
      return Status::ResourceExhausted("memory block '" + label +
                                       "' would leave too little of the context window for "
                                       "messages; keep it shorter");
    }
    return store_->Commit();
  }();
  if (!s.ok()) {
    store_->Rollback();
    return s;
  }
  AppendOutcome ignored;
  return MaybeFlushLocked(&ignored);
}

Result<std::vector<int64_t>> ConversationMemoryImpl::VectorSearchLocked(
    RecallTable table, VectorCache* cache, std::string_view query, size_t limit,
    std::optional<double> start, std::optional<double> end) {
  const size_t dim = options_.embedder->Dimension();
  VMLLM_RETURN_IF_ERROR(store_->ForEachEmbedding(
      table, options_.agent_id, cache->last_id, dim, [&](int64_t id, double created, const float* v) {
        cache->ids.push_back(id);
        cache->created.push_back(created);
        cache->data.insert(cache->data.end(), v, v + dim);
        cache->last_id = id;
      }));
  std::vector<float> q = options_.embedder->Embed(query);
  std::vector<std::pair<double, int64_t>> scored;
  for (size_t i = 0; i < cache->ids.size(); ++i) {
    if ((start && cache->created[i] < *start) || (end && cache->created[i] > *end)) continue;
    const float* v = &cache->data[i * dim];
    double dot = 0;
    for (size_t d = 0; d < dim; ++d) dot += static_cast<double>(q[d]) * v[d];
    if (dot > 0) scored.emplace_back(dot, cache->ids[i]);
  }
  size_t n = std::min(limit, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + n, scored.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second > b.second;
                    });
  std::vector<int64_t> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back(scored[i].second);
  return ids;
}

Result<MemorySearchPage> ConversationMemoryImpl::PageOfLocked(RecallTable table,
                                                              const std::vector<int64_t>& ranked,
                                                              size_t page) {
  MemorySearchPage out;
  const size_t size = options_.page_size;
  out.page = page;
  out.total = ranked.size();
  out.total_pages = (ranked.size() + size - 1) / size;
  if (page * size >= ranked.size()) return out;
  std::vector<int64_t> slice(ranked.begin() + page * size,
                             ranked.begin() + std::min(ranked.size(), (page + 1) * size));
  auto hits = store_->Fetch(table, slice);
  if (!hits.ok()) return hits.status();
  out.hits = std::move(hits).value();
  return out;
}

Result<MemorySearchPage> ConversationMemoryImpl::SearchRecall(const RecallQuery& query) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return SearchRecallLocked(query);
}

Result<MemorySearchPage> ConversationMemoryImpl::SearchRecallLocked(const RecallQuery& q) {
  if (q.start && q.end && *q.start > *q.end) {
    return Status::InvalidArgument("the start of the date range is after its end");
  }
  std::vector<int64_t> ranked;
  if (q.text.find_first_not_of(" \t\r\n") == std::string::npos) {
    auto ids = store_->MessagesInRange(options_.agent_id, q.start, q.end, 1000000);
    if (!ids.ok()) return ids.status();
    ranked = std::move(ids).value();
  } else {
    std::vector<std::vector<int64_t>> lists;
    if (q.mode != RecallMode::kVector) {
      auto kw = store_->KeywordSearch(RecallTable::kMessages, options_.agent_id, q.text,
                                      kCandidates, q.start, q.end);
      if (!kw.ok()) return kw.status();
      lists.push_back(std::move(kw).value());
    }
    if (q.mode != RecallMode::kKeyword) {
      auto vec = VectorSearchLocked(RecallTable::kMessages, &recall_vectors_, q.text, kCandidates,
                                    q.start, q.end);
      if (!vec.ok()) return vec.status();
      lists.push_back(std::move(vec).value());
    }
    ranked = lists.size() == 1 ? lists[0] : Fuse(lists);
  }
  return PageOfLocked(RecallTable::kMessages, ranked, q.page);
}

Result<int64_t> ConversationMemoryImpl::ArchivalInsert(std::string_view text) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return ArchivalInsertLocked(text);
}

Result<int64_t> ConversationMemoryImpl::ArchivalInsertLocked(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status::InvalidArgument("an archival passage needs some text");
  }
  if (!IsValidUtf8(text)) return Status::InvalidArgument("the passage is not valid UTF-8");
  std::vector<float> embedding = options_.embedder->Embed(text);
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  auto id = store_->InsertPassage(options_.agent_id, text, options_.clock->Now(), embedding);
  Status s = id.ok() ? store_->Commit() : id.status();
  if (!s.ok()) {
    store_->Rollback();
    return s;
  }
  return id;
}

Result<MemorySearchPage> ConversationMemoryImpl::ArchivalSearch(std::string_view query,
                                                                size_t page) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return ArchivalSearchLocked(query, page);
}

Result<MemorySearchPage> ConversationMemoryImpl::ArchivalSearchLocked(std::string_view query,
                                                                      size_t page) {
  auto kw = store_->KeywordSearch(RecallTable::kPassages, options_.agent_id, query, kCandidates,
                                  std::nullopt, std::nullopt);
  if (!kw.ok()) return kw.status();
  auto vec = VectorSearchLocked(RecallTable::kPassages, &archival_vectors_, query, kCandidates,
                                std::nullopt, std::nullopt);
  if (!vec.ok()) return vec.status();
  return PageOfLocked(RecallTable::kPassages, Fuse({*kw, *vec}), page);
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
  s.warnings = agent_.warnings;
  s.flushes = agent_.flushes;
  s.evicted_messages = agent_.evicted;
  s.compressor_failures = agent_.compressor_failures;
  s.tool_calls = agent_.tool_calls;
  s.tool_errors = agent_.tool_errors;
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
  return s;
}

}  // namespace vmllm
