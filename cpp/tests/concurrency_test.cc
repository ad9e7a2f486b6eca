// Many threads sharing one Pager, and two Pagers sharing one store, doing every kind of call at
// once. Run under ThreadSanitizer in CI (.ci/sanitizers), where a data race fails the build;
// in a plain build these tests prove the results stay consistent.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "testing/store_checks.h"
#include "testing/temp_dir.h"
#include "vmllm/pager.h"

namespace vmllm {
namespace {

std::string Text(int doc, int n) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    text += "Report " + std::to_string(doc) + " item " + std::to_string(i) +
            ": the cache warmed in " + std::to_string(10 + i) +
            " ms and the queue drained before the deadline.\n\n";
  }
  return text;
}

std::unique_ptr<Pager> OpenPager(const std::string& path) {
  PagerOptions o;
  o.path = path;
  o.l1_tokens = 500;
  o.page_tokens = 100;
  o.stats_flush_seconds = 0;  // Write-behind on every access: more shared state in motion.
  auto pager = Pager::Open(std::move(o));
  EXPECT_TRUE(pager.ok()) << pager.status().ToString();
  return pager.ok() ? std::move(pager).value() : nullptr;
}

// Ingests `doc` and records its pages in `expected` (under `mu`). False on failure.
bool IngestInto(Pager* pager, int doc, std::mutex* mu, ExpectedPages* expected) {
  std::string text = Text(doc, 6 + doc % 5);
  auto ids = pager->Ingest("report-" + std::to_string(doc), text);
  if (!ids.ok()) return false;
  size_t offset = 0;
  std::lock_guard<std::mutex> lock(*mu);
  for (const std::string& id : *ids) {
    auto info = pager->GetPageInfo(id);
    if (!info.ok()) return false;
    (*expected)[id] = text.substr(offset, info->bytes);
    offset += info->bytes;
  }
  return offset == text.size();
}

TEST(Concurrency, EightThreadsMixingEveryCallOnOnePagerStayConsistent) {
  TempDir dir;
  auto pager = OpenPager(dir.path());
  ASSERT_NE(pager, nullptr);
  std::mutex mu;
  ExpectedPages expected;
  for (int doc = 0; doc < 4; ++doc) ASSERT_TRUE(IngestInto(pager.get(), doc, &mu, &expected));
  std::vector<std::string> seed_ids;
  for (const auto& entry : expected) seed_ids.push_back(entry.first);

  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 120; ++i) {
        const std::string& id = seed_ids[rng() % seed_ids.size()];
        switch (rng() % 9) {
          case 0:
            if (!IngestInto(pager.get(), 100 + t * 1000 + i, &mu, &expected)) ++wrong;
            break;
          case 1:
            if (!pager->Search("cache warmed queue drained", 3, SearchMode::kHybrid).ok()) ++wrong;
            break;
          case 2:
            if (!pager->ReleasePage(id, rng() % 2).ok()) ++wrong;
            break;
          case 3:
            if (!pager->Fault("deadline queue", 2).ok()) ++wrong;
            break;
          case 4:
            pager->Stats();
            pager->BuildContext();
            pager->ActivePages();
            break;
          default: {
            // Seed documents are never re-ingested, so their text is fixed.
            auto text = pager->RequestPage(id, /*full=*/true);
            std::lock_guard<std::mutex> lock(mu);
            if (!text.ok() || *text != expected[id]) ++wrong;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(pager->ContextTokens(), 500u);
  EXPECT_TRUE(ExpectStoreConsistent(pager.get(), expected, /*strict_ids=*/true));
}

TEST(Concurrency, TwoPagersOnOneStoreInParallelThreadsSeeEachOthersPages) {
  TempDir dir;
  auto a = OpenPager(dir.path());
  auto b = OpenPager(dir.path());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::mutex mu;
  ExpectedPages expected;
  std::atomic<int> failures{0};
  auto work = [&](Pager* pager, int first) {
    for (int doc = first; doc < first + 15; ++doc) {
      if (!IngestInto(pager, doc, &mu, &expected)) ++failures;
      if (!pager->Search("queue drained", 2, SearchMode::kVector).ok()) ++failures;
    }
  };
  std::thread ta(work, a.get(), 0);
  std::thread tb(work, b.get(), 1000);
  ta.join();
  tb.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(ExpectStoreConsistent(a.get(), expected, /*strict_ids=*/true));
  EXPECT_TRUE(ExpectStoreConsistent(b.get(), expected, /*strict_ids=*/true));
}

}  // namespace
}  // namespace vmllm
