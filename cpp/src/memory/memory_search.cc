// Recall and archival search through the engine: every searchable message is a page of the
// agent's recall space and every passage one of its archival space (memory_spaces.h), so they
// get the engine's BM25 index, hnswlib vectors and fusion; this file maps hits back to rows,
// applies date ranges and cuts the results into pages.
//
// Rows are committed before their pages are put (two connections to one store.db: a page put
// inside a row transaction would wait for it). A watermark in each space's record says how far
// the pages go; catching up from it after every write and before every search means a crash
// between the two never leaves a row unsearchable.
#include <algorithm>
#include <cstdlib>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "memory/conversation_memory_impl.h"
#include "memory/memory_spaces.h"
#include "vmllm/backend_events.h"
#include "vmllm/utf8.h"

namespace vmllm {
namespace {

constexpr size_t kCandidates = 100;  // Hits per search before paging.
constexpr size_t kCatchUpBatch = 512;
// Turns shown on each side of a recall hit (BENCHMARKS.md, "Retrieval (issue 16)").
constexpr size_t kContextTurns = 2;
// At most window_tokens / kContextShare tokens of context on a page, each turn counted with
// the ~16 tokens its timestamp and role take in a tool result.
constexpr size_t kContextShare = 6;
constexpr size_t kContextTurnOverhead = 16;

SearchMode EngineMode(RecallMode mode) {
  switch (mode) {
    case RecallMode::kKeyword: return SearchMode::kKeyword;
    case RecallMode::kVector: return SearchMode::kVector;
    case RecallMode::kHybrid: break;
  }
  return SearchMode::kHybrid;
}

}  // namespace

Status ConversationMemoryImpl::CatchUpLocked(RecallTable table, bool from_start) {
  const std::string& space = spaces_[static_cast<int>(table)];
  auto record = engine_->LoadSpaceRecord(space);
  if (!record.ok()) return record.status();
  int64_t version = record->version;
  int64_t after = from_start ? 0 : std::strtoll(record->state.c_str(), nullptr, 10);
  while (true) {
    std::vector<PageWrite> pages;
    auto last = store_->ForEachAfter(table, options_.agent_id, after, kCatchUpBatch,
                                     [&](int64_t id, std::string_view text) {
                                       pages.push_back({MemoryPageId(table, space, id),
                                                        std::string(text)});
                                     });
    if (!last.ok()) return last.status();
    if (*last == after) return Status();
    after = *last;
    // Pages and watermark in one transaction (pages put before are left as they are).
    auto saved = engine_->PutPagesAndRecord(space, pages, version, std::to_string(after));
    if (!saved.ok()) return saved.status();
    // Losing the race to another writer is fine: it caught up as far, or the next call will.
    if (!*saved) return Status();
    ++version;
  }
}

Result<std::vector<std::string>> ConversationMemoryImpl::TextsToEmbed(size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  VMLLM_RETURN_IF_ERROR(CatchUpLocked(RecallTable::kMessages));
  VMLLM_RETURN_IF_ERROR(CatchUpLocked(RecallTable::kPassages));
  return engine_->TextsToEmbed(limit);
}

void ConversationMemoryImpl::NoteVectorFailureLocked() {
  ++search_fallbacks_;
  if (vectors_failing_) return;
  vectors_failing_ = true;
  PostBackendWarning("memory search by meaning unavailable (the embedder failed); recall and "
                     "archival search use keywords alone until the embedder works again");
}

Result<std::vector<int64_t>> ConversationMemoryImpl::SearchRowsLocked(
    RecallTable table, std::string_view text, RecallMode mode, std::optional<double> start,
    std::optional<double> end) {
  VMLLM_RETURN_IF_ERROR(CatchUpLocked(table));
  const std::string& space = spaces_[static_cast<int>(table)];
  const uint64_t fallbacks = engine_->Stats(space).search_fallbacks;
  std::vector<int64_t> ids;
  for (size_t n = kCandidates;; n = std::min(n * 4, Pager::kMaxSearchResults)) {
    auto hits = engine_->Search(text, n, EngineMode(mode), space);
    if (!hits.ok()) return hits.status();
    std::vector<int64_t> ranked;
    for (const SearchHit& hit : *hits) {
      if (auto id = MemoryRowId(table, space, hit.page_id)) ranked.push_back(*id);
    }
    // Also drops the page of a row deleted by a process that died before deleting the page.
    auto kept = store_->Filter(table, options_.agent_id, ranked, start, end);
    if (!kept.ok()) return kept.status();
    ids = std::move(kept).value();
    if (ids.size() >= kCandidates || hits->size() < n || n == Pager::kMaxSearchResults) break;
  }
  if (ids.size() > kCandidates) ids.resize(kCandidates);
  if (engine_->Stats(space).search_fallbacks != fallbacks) {
    NoteVectorFailureLocked();
  } else if (mode != RecallMode::kKeyword) {
    vectors_failing_ = false;
  }
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

Result<std::vector<int64_t>> ConversationMemoryImpl::SpreadLocked(std::vector<int64_t> ranked,
                                                                  ContextTurns& context) {
  // MMR with position as the similarity: a hit next to a better one is already on the page as
  // its context, so it moves behind every hit that shows something new.
  std::vector<int64_t> spread, later;
  std::unordered_set<int64_t> covered;
  for (int64_t id : ranked) {
    if (covered.count(id)) {
      later.push_back(id);
      continue;
    }
    auto adjacent = store_->AdjacentMessages(options_.agent_id, id, kContextTurns);
    if (!adjacent.ok()) return adjacent.status();
    covered.insert(id);
    covered.insert(adjacent->begin(), adjacent->end());
    // Nearest first: the turn before, the turn after, the one before that...
    auto split = std::lower_bound(adjacent->begin(), adjacent->end(), id);
    std::vector<int64_t> before(adjacent->begin(), split), after(split, adjacent->end());
    std::vector<int64_t>& nearest = context[id];
    for (size_t d = 0; d < before.size() || d < after.size(); ++d) {
      if (d < before.size()) nearest.push_back(before[before.size() - 1 - d]);
      if (d < after.size()) nearest.push_back(after[d]);
    }
    spread.push_back(id);
  }
  spread.insert(spread.end(), later.begin(), later.end());
  return spread;
}

Result<MemorySearchPage> ConversationMemoryImpl::WithContextLocked(MemorySearchPage page,
                                                                   const ContextTurns& context) {
  std::unordered_set<int64_t> hits;
  std::vector<int64_t> wanted;
  for (const MemoryHit& hit : page.hits) hits.insert(hit.id);
  for (const MemoryHit& hit : page.hits) {
    if (auto it = context.find(hit.id); it != context.end()) {
      for (int64_t id : it->second) {
        if (!hits.count(id)) wanted.push_back(id);
      }
    }
  }
  auto turns = store_->Fetch(RecallTable::kMessages, wanted);
  if (!turns.ok()) return turns.status();
  std::unordered_map<int64_t, MemoryHit*> by_id;
  for (MemoryHit& turn : *turns) by_id[turn.id] = &turn;
  // The page must fit in the window with room to spare: context gets a share of it, the
  // nearest turns of the best hits first.
  size_t budget = options_.window_tokens / kContextShare;
  std::set<int64_t> chosen;  // Oldest first.
  for (size_t distance = 0; distance < kContextTurns; ++distance) {
    for (const MemoryHit& hit : page.hits) {
      auto it = context.find(hit.id);
      if (it == context.end()) continue;
      for (size_t i = 2 * distance; i < 2 * distance + 2 && i < it->second.size(); ++i) {
        auto turn = by_id.find(it->second[i]);
        if (turn == by_id.end() || hits.count(turn->first) || chosen.count(turn->first)) {
          continue;
        }
        const size_t tokens =
            options_.tokenizer->Count(turn->second->content) + kContextTurnOverhead;
        if (tokens > budget) continue;
        budget -= tokens;
        chosen.insert(turn->first);
      }
    }
  }
  for (int64_t id : chosen) page.context.push_back(std::move(*by_id[id]));
  return page;
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
  if (q.text.find_first_not_of(" \t\r\n") == std::string::npos) {  // A date listing.
    auto listed = store_->MessagesInRange(options_.agent_id, q.start, q.end, 1000000);
    if (!listed.ok()) return listed.status();
    return PageOfLocked(RecallTable::kMessages, *listed, q.page);
  }
  auto ranked = SearchRowsLocked(RecallTable::kMessages, q.text, q.mode, q.start, q.end);
  if (!ranked.ok()) return ranked.status();
  // A turn without its context rarely answers: each hit comes with the turns on either side.
  ContextTurns context;
  auto spread = SpreadLocked(std::move(ranked).value(), context);
  if (!spread.ok()) return spread.status();
  auto page = PageOfLocked(RecallTable::kMessages, *spread, q.page);
  if (!page.ok()) return page.status();
  return WithContextLocked(std::move(page).value(), context);
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
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  auto id = store_->InsertPassage(options_.agent_id, text, options_.clock->Now());
  Status s = id.ok() ? store_->Commit() : id.status();
  if (!s.ok()) {
    store_->Rollback();
    return s;
  }
  // The row is stored: a failed put is retried by the next catch-up, not reported as a loss.
  CatchUpLocked(RecallTable::kPassages);
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
  if (query.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return PageOfLocked(RecallTable::kPassages, {}, page);  // Nothing to look for.
  }
  auto ranked = SearchRowsLocked(RecallTable::kPassages, query, RecallMode::kHybrid,
                                 std::nullopt, std::nullopt);
  if (!ranked.ok()) return ranked.status();
  return PageOfLocked(RecallTable::kPassages, *ranked, page);
}

}  // namespace vmllm
