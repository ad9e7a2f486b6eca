// PageTable: where every page is, and what the policies need to know about it.
//
// In memory, lookups by page id and by key are O(1) hash lookups, and so are touches and tier
// moves. The table also keeps per-tier totals (pages, bytes, tokens) current on every move, so
// stats never scan. Durability is the pager's job: registrations and tier moves go to the
// DiskStore at once, access statistics are collected here as dirty keys and written behind.
//
// Thread safety: none; the pager serialises calls.
#ifndef VMLLM_STORE_PAGE_TABLE_H_
#define VMLLM_STORE_PAGE_TABLE_H_

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "store/disk_store.h"
#include "vmllm/page.h"

namespace vmllm {

class PageTable {
 public:
  struct Totals {
    uint64_t pages = 0;
    uint64_t bytes = 0;
    uint64_t tokens = 0;
  };

  PageInfo* Find(std::string_view page_id);
  PageInfo* FindKey(PageKey key);
  // Adds the entry for a stored record.
  // REQUIRES: no entry has the record's key or page id. A page id whose document was replaced
  // keeps a stale entry (and maybe an L1 view) under its old key: the pager must forget that
  // entry everywhere first, so that nothing is left pointing at a removed entry.
  PageInfo* Insert(const PageRecord& record);
  void Remove(PageKey key);

  void SetTier(PageInfo* page, TierId tier);
  // Records an access at time `now`.
  void Touch(PageInfo* page, double now);
  // Queues the page's access statistics for the next write-behind batch.
  void MarkDirty(const PageInfo* page) { dirty_.insert(page->key); }
  std::vector<PageStatsUpdate> TakeDirty();
  size_t dirty_count() const { return dirty_.size(); }

  const Totals& totals(TierId tier) const { return totals_[static_cast<int>(tier) - 1]; }
  size_t size() const { return by_key_.size(); }
  std::vector<PageKey> Keys() const;  // Ascending.

  // The same, for the pages of one space.
  const Totals& totals(TierId tier, std::string_view space) const;
  size_t size(std::string_view space) const;
  std::vector<PageKey> Keys(std::string_view space) const;  // Ascending.
  std::vector<std::string> Spaces() const;  // Every space with a page, sorted.

  // A document's name, as a search word finds it: the doc id's last path component, lower
  // case, without its extension ("lib/ArgParse.py" -> "argparse"); empty for none.
  static std::string DocName(std::string_view doc_id);
  // The pages of the documents whose DocName is `name` (lower case), ascending; empty if none.
  std::vector<PageKey> KeysNamed(std::string_view name) const;

 private:
  void Count(const PageInfo& page, TierId tier, int sign);

  std::unordered_map<PageKey, std::unique_ptr<PageInfo>> by_key_;
  std::unordered_map<std::string_view, PageInfo*> by_id_;  // Views into PageInfo::page_id.
  struct Space {
    std::set<PageKey> keys;
    Totals totals[4];
  };

  std::unordered_set<PageKey> dirty_;
  Totals totals_[4];
  std::unordered_map<std::string, Space> spaces_;
  std::unordered_map<std::string, std::set<PageKey>> by_name_;  // DocName -> its pages.
};

}  // namespace vmllm

#endif  // VMLLM_STORE_PAGE_TABLE_H_
