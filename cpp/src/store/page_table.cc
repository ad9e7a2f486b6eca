#include "store/page_table.h"

#include <algorithm>
#include <cassert>
#include <cctype>

namespace vmllm {

PageInfo* PageTable::Find(std::string_view page_id) {
  auto it = by_id_.find(page_id);
  return it == by_id_.end() ? nullptr : it->second;
}

PageInfo* PageTable::FindKey(PageKey key) {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : it->second.get();
}

PageInfo* PageTable::Insert(const PageRecord& r) {
  auto page = std::make_unique<PageInfo>();
  page->key = r.key;
  page->space = r.space;
  page->page_id = r.page_id;
  page->doc_id = r.doc_id;
  page->chunk_index = r.chunk_index;
  page->tokens = r.tokens;
  page->bytes = r.bytes;
  page->content_hash = r.content_hash;
  page->created = r.created;
  page->last_accessed = r.last_accessed;
  page->access_count = r.access_count;
  page->fault_count = r.fault_count;
  page->pinned = false;  // Pins belong to a context (L1); a reopened store starts unpinned.
  page->tier = r.durable_tier;
  page->durable_tier = r.durable_tier;
  page->compressed = r.summary.has_value();
  if (r.summary) page->summary = *r.summary;
  PageInfo* raw = page.get();
  assert(!by_key_.count(raw->key) && !by_id_.count(raw->page_id));
  by_id_[std::string_view(raw->page_id)] = raw;
  by_key_[raw->key] = std::move(page);
  spaces_[raw->space].keys.insert(raw->key);
  if (std::string name = DocName(raw->doc_id); !name.empty()) by_name_[name].insert(raw->key);
  Count(*raw, raw->tier, +1);
  return raw;
}

void PageTable::Remove(PageKey key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  Count(*it->second, it->second->tier, -1);
  auto space = spaces_.find(it->second->space);
  space->second.keys.erase(key);
  if (space->second.keys.empty()) spaces_.erase(space);
  if (auto named = by_name_.find(DocName(it->second->doc_id)); named != by_name_.end()) {
    named->second.erase(key);
    if (named->second.empty()) by_name_.erase(named);
  }
  by_id_.erase(std::string_view(it->second->page_id));
  dirty_.erase(key);
  by_key_.erase(it);
}

std::string PageTable::DocName(std::string_view doc_id) {
  const size_t slash = doc_id.find_last_of("/\\");
  std::string_view base = slash == std::string_view::npos ? doc_id : doc_id.substr(slash + 1);
  // "argparse.py" -> "argparse"; a leading dot (".bashrc") is the name, not an extension.
  if (const size_t dot = base.rfind('.'); dot != std::string_view::npos && dot > 0) {
    base = base.substr(0, dot);
  }
  std::string name(base);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::vector<PageKey> PageTable::KeysNamed(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return {};
  return std::vector<PageKey>(it->second.begin(), it->second.end());
}

void PageTable::SetTier(PageInfo* page, TierId tier) {
  if (page->tier == tier) return;
  Count(*page, page->tier, -1);
  page->tier = tier;
  Count(*page, tier, +1);
}

void PageTable::Touch(PageInfo* page, double now) {
  page->last_accessed = now;
  ++page->access_count;
  dirty_.insert(page->key);
}

std::vector<PageStatsUpdate> PageTable::TakeDirty() {
  std::vector<PageStatsUpdate> updates;
  updates.reserve(dirty_.size());
  for (PageKey key : dirty_) {
    const PageInfo* p = FindKey(key);
    if (p) updates.push_back({key, p->last_accessed, p->access_count, p->fault_count, p->pinned});
  }
  dirty_.clear();
  return updates;
}

std::vector<PageKey> PageTable::Keys() const {
  std::vector<PageKey> keys;
  keys.reserve(by_key_.size());
  for (const auto& entry : by_key_) keys.push_back(entry.first);
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<PageKey> PageTable::Keys(std::string_view space) const {
  auto it = spaces_.find(std::string(space));
  if (it == spaces_.end()) return {};
  return {it->second.keys.begin(), it->second.keys.end()};
}

size_t PageTable::size(std::string_view space) const {
  auto it = spaces_.find(std::string(space));
  return it == spaces_.end() ? 0 : it->second.keys.size();
}

const PageTable::Totals& PageTable::totals(TierId tier, std::string_view space) const {
  static const Totals kNone;
  auto it = spaces_.find(std::string(space));
  return it == spaces_.end() ? kNone : it->second.totals[static_cast<int>(tier) - 1];
}

std::vector<std::string> PageTable::Spaces() const {
  std::vector<std::string> names;
  for (const auto& entry : spaces_) names.push_back(entry.first);
  std::sort(names.begin(), names.end());
  return names;
}

void PageTable::Count(const PageInfo& page, TierId tier, int sign) {
  for (Totals* t : {&totals_[static_cast<int>(tier) - 1],
                    &spaces_[page.space].totals[static_cast<int>(tier) - 1]}) {
    t->pages += sign;
    t->bytes += sign * static_cast<int64_t>(page.bytes);
    t->tokens += sign * static_cast<int64_t>(page.tokens);
  }
}

}  // namespace vmllm
