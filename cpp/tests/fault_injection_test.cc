// A long seeded random workload with L2, L3 and L4 failing at random. While the faults last,
// every call either answers correctly or returns a typed Status (never a wrong page, never a
// crash); once they stop, every page is whole and the page table adds up.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "testing/fake_clock.h"
#include "testing/fault_injecting_tier.h"
#include "testing/store_checks.h"
#include "testing/temp_dir.h"
#include "vmllm/pager.h"

namespace vmllm {
namespace {

std::string Paragraphs(int doc, int version, int n) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    text += "Document " + std::to_string(doc) + " version " + std::to_string(version) +
            " paragraph " + std::to_string(i) + ": the scheduler moved shard " +
            std::to_string(doc * 100 + i) + " to node " + std::to_string(i % 7) +
            " after the health check failed twice.\n\n";
  }
  return text;
}

// Codes a failing tier may surface: the injected backend failure itself, or a budget that the
// workload's pins exhausted. Anything else (NotFound for a known page, StorageError, a wrong
// text) is a bug.
bool IsAcceptableError(const Status& s) {
  return s.code() == StatusCode::kBackendUnavailable || s.code() == StatusCode::kResourceExhausted;
}

class FaultWorkload {
 public:
  FaultWorkload(const std::string& path, uint64_t seed, double rate) : rng_(seed) {
    PagerOptions o;
    o.path = path;
    o.l1_tokens = 600;
    o.page_tokens = 120;
    o.clock = &clock_;
    o.l2.byte_cap = 6000;  // Small: L2 drops pages on its own as well.
    auto l2 = std::make_unique<FaultInjectingTier>(NewMemoryTier(o.l2, &clock_), rate, seed + 1);
    l2_ = l2.get();
    o.l2_tier = std::move(l2);
    o.wrap_l3 = [this, rate, seed](std::unique_ptr<Tier> t) {
      auto w = std::make_unique<FaultInjectingTier>(std::move(t), rate, seed + 2);
      l3_ = w.get();
      return std::unique_ptr<Tier>(std::move(w));
    };
    o.wrap_l4 = [this, rate, seed](std::unique_ptr<Tier> t) {
      auto w = std::make_unique<FaultInjectingTier>(std::move(t), rate, seed + 3);
      l4_ = w.get();
      return std::unique_ptr<Tier>(std::move(w));
    };
    auto pager = Pager::Open(std::move(o));
    EXPECT_TRUE(pager.ok()) << pager.status().ToString();
    if (pager.ok()) pager_ = std::move(pager).value();
  }

  Pager* pager() { return pager_.get(); }
  const ExpectedPages& expected() const { return expected_; }
  uint64_t typed_errors() const { return typed_errors_; }
  uint64_t injected() const { return l2_->injected() + l3_->injected() + l4_->injected(); }

  void StopFaults() {
    for (FaultInjectingTier* t : {l2_, l3_, l4_}) t->set_failure_rate(0);
  }

  // One random operation, checked against the model.
  void Step() {
    clock_.Advance(1);
    int op = std::uniform_int_distribution<int>(0, 99)(rng_);
    if (op < 6 || expected_.empty()) return Ingest();
    const std::string id = RandomId();
    if (op < 45) return Request(id, op % 3 == 0);
    if (op < 65) return Release(id, op % 2 == 0);
    if (op < 72) return Pin(id);
    if (op < 78) return Check(pager_->Unpin(id));
    if (op < 86) return Read(id);
    if (op < 93) return Search();
    Fault();
  }

 private:
  std::string RandomId() {
    auto it = expected_.begin();
    std::advance(it, std::uniform_int_distribution<size_t>(0, expected_.size() - 1)(rng_));
    return it->first;
  }

  void Check(const Status& s) {
    if (s.ok()) return;
    ASSERT_TRUE(IsAcceptableError(s)) << s.ToString();
    ++typed_errors_;
  }

  // A view of `id` is right if it is the full text, or the page's current summary.
  void CheckView(const std::string& id, const std::string& view, bool full) {
    const std::string& text = expected_.at(id);
    if (view == text) return;
    ASSERT_FALSE(full) << "full request for " << id << " returned other text";
    auto info = pager_->GetPageInfo(id);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    ASSERT_TRUE(info->compressed) << id << " returned text that is neither page nor summary";
    ASSERT_EQ(view, info->summary);
  }

  void Ingest() {
    int doc = std::uniform_int_distribution<int>(0, 11)(rng_);
    int version = ++versions_[doc];
    std::string text = Paragraphs(doc, version, 4 + doc % 9);
    std::string doc_id = "doc-" + std::to_string(doc);
    auto ids = pager_->Ingest(doc_id, text);  // Writes the store directly: no tier faults.
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    for (auto it = expected_.begin(); it != expected_.end();) {
      it = it->first.rfind(doc_id + "::", 0) == 0 ? expected_.erase(it) : std::next(it);
    }
    // Rebuild the expected pages from the chunk boundaries the store reports.
    size_t offset = 0;
    for (const std::string& id : *ids) {
      auto info = pager_->GetPageInfo(id);
      ASSERT_TRUE(info.ok()) << info.status().ToString();
      expected_[id] = text.substr(offset, info->bytes);
      offset += info->bytes;
    }
    ASSERT_EQ(offset, text.size());
  }

  void Request(const std::string& id, bool full) {
    auto view = pager_->RequestPage(id, full);
    if (!view.ok()) return Check(view.status());
    CheckView(id, *view, full);
  }

  void Release(const std::string& id, bool compress) {
    auto released = pager_->ReleasePage(id, compress);
    if (!released.ok()) {
      // Releasing a pinned page is refused with InvalidArgument by contract.
      if (released.status().code() == StatusCode::kInvalidArgument) {
        auto info = pager_->GetPageInfo(id);
        ASSERT_TRUE(info.ok() && info->pinned) << released.status().ToString();
        return;
      }
      return Check(released.status());
    }
  }

  void Pin(const std::string& id) {
    Status s = pager_->Pin(id);
    Check(s);
    if (s.ok()) pinned_.insert(id);
  }

  void Read(const std::string& id) {
    auto text = pager_->ReadPage(id);
    if (!text.ok()) return Check(text.status());
    ASSERT_EQ(*text, expected_.at(id));
  }

  void Search() {
    auto hits = pager_->Search("scheduler moved shard health check", 5, SearchMode::kHybrid);
    if (!hits.ok()) return Check(hits.status());
    ASSERT_FALSE(hits->empty());
    for (const SearchHit& hit : *hits) ASSERT_TRUE(expected_.count(hit.page_id)) << hit.page_id;
  }

  void Fault() {
    auto resident = pager_->Fault("node health check failed twice", 3);
    if (!resident.ok()) return Check(resident.status());
    for (const std::string& id : *resident) ASSERT_TRUE(expected_.count(id)) << id;
    ASSERT_LE(pager_->ContextTokens(), 600u);
  }

  FakeClock clock_;
  std::mt19937_64 rng_;
  std::unique_ptr<Pager> pager_;
  FaultInjectingTier* l2_ = nullptr;
  FaultInjectingTier* l3_ = nullptr;
  FaultInjectingTier* l4_ = nullptr;
  ExpectedPages expected_;
  std::map<int, int> versions_;
  std::set<std::string> pinned_;
  uint64_t typed_errors_ = 0;
};

class FaultInjection : public ::testing::TestWithParam<uint64_t> {};

TEST_P(FaultInjection, RandomWorkloadWithFailingTiersLosesNoPageAndReportsEveryError) {
  TempDir dir;
  FaultWorkload w(dir.path(), GetParam(), /*rate=*/0.2);
  ASSERT_NE(w.pager(), nullptr);
  for (int i = 0; i < 3000; ++i) {
    w.Step();
    if (::testing::Test::HasFatalFailure()) FAIL() << "at step " << i << ", seed " << GetParam();
  }
  EXPECT_GT(w.injected(), 100u);
  EXPECT_GT(w.typed_errors(), 0u);  // Some failures reached the caller, typed.
  PagerStats s = w.pager()->Stats();
  EXPECT_GT(s.tiers[1].errors + s.tiers[2].errors + s.tiers[3].errors, 0u);
  EXPECT_LE(s.l1_used, 600u);

  w.StopFaults();
  EXPECT_TRUE(ExpectStoreConsistent(w.pager(), w.expected(), /*strict_ids=*/true));
  for (const auto& [id, text] : w.expected()) {
    auto full = w.pager()->RequestPage(id, /*full=*/true);
    if (!full.ok()) {  // Only a pinned-full L1 may refuse, and then by ResourceExhausted.
      ASSERT_EQ(full.status().code(), StatusCode::kResourceExhausted) << full.status().ToString();
      continue;
    }
    ASSERT_EQ(*full, text) << id;
  }
  // Reopened from disk, with no faults, the store holds the same pages.
  ASSERT_TRUE(w.pager()->Close().ok());
  PagerOptions o;
  o.path = dir.path();
  o.l1_tokens = 600;
  o.page_tokens = 120;
  auto reopened = Pager::Open(std::move(o));
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_TRUE(ExpectStoreConsistent(reopened->get(), w.expected(), /*strict_ids=*/true));
}

INSTANTIATE_TEST_SUITE_P(Seeds, FaultInjection, ::testing::Values(1u, 2u, 3u));

}  // namespace
}  // namespace vmllm
