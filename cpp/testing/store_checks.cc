#include "testing/store_checks.h"

#include <gtest/gtest.h>

namespace vmllm {

bool ExpectStoreConsistent(Pager* pager, const ExpectedPages& expected, bool strict_ids) {
  bool ok = true;
  auto fail = [&ok](const std::string& what) {
    ADD_FAILURE() << what;
    ok = false;
  };
  for (const auto& [id, text] : expected) {
    auto read = pager->ReadPage(id);
    if (!read.ok()) {
      fail("page " + id + " is unreadable: " + read.status().ToString());
      continue;
    }
    if (*read != text) fail("page " + id + " reads back different text");
  }
  auto ids = pager->PageIds();
  if (strict_ids && ids.size() != expected.size()) {
    fail("the store lists " + std::to_string(ids.size()) + " pages; expected " +
         std::to_string(expected.size()));
  }
  uint64_t per_tier[4] = {0, 0, 0, 0};
  for (const std::string& id : ids) {
    if (strict_ids && !expected.count(id)) fail("unexpected page " + id);
    auto info = pager->GetPageInfo(id);
    if (!info.ok()) {
      fail("page " + id + " has no page-table entry: " + info.status().ToString());
      continue;
    }
    ++per_tier[static_cast<int>(info->tier) - 1];
    auto text = pager->ReadPage(id);
    if (!text.ok()) {
      fail("page " + id + " is listed but unreadable: " + text.status().ToString());
      continue;
    }
    if (info->bytes != text->size()) fail("page " + id + ": page table bytes disagree");
    if (info->compressed && info->summary.empty()) fail("page " + id + ": empty summary");
  }
  PagerStats stats = pager->Stats();
  uint64_t total = 0;
  for (int t = 0; t < 4; ++t) {
    total += stats.tiers[t].pages;
    if (stats.tiers[t].pages != per_tier[t]) {
      fail("L" + std::to_string(t + 1) + " totals say " + std::to_string(stats.tiers[t].pages) +
           " pages; the entries say " + std::to_string(per_tier[t]));
    }
  }
  if (total != ids.size() || stats.total_pages != ids.size()) {
    fail("per-tier totals (" + std::to_string(total) + ") and page count (" +
         std::to_string(stats.total_pages) + ") disagree with " + std::to_string(ids.size()) +
         " listed pages");
  }
  if (!ids.empty()) {
    auto hits = pager->Search("the", 3, SearchMode::kHybrid);
    if (!hits.ok()) {
      fail("search failed: " + hits.status().ToString());
    } else if (hits->empty()) {
      fail("search found nothing in a store of " + std::to_string(ids.size()) + " pages");
    }
  }
  return ok;
}

}  // namespace vmllm
