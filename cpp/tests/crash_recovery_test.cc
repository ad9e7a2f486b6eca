// A process killed with SIGKILL at any moment of ingest or paging leaves a store that reopens,
// holding every page whose Ingest had returned, byte for byte, with a consistent page table.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "testing/store_checks.h"
#include "testing/temp_dir.h"
#include "vmllm/pager.h"

namespace vmllm {
namespace {

std::string DocText(int i) {
  std::string text;
  for (int p = 0; p < 40 + i % 17; ++p) {
    text += "Document " + std::to_string(i) + " paragraph " + std::to_string(p) +
            " records that the ledger balanced at " + std::to_string(i * 1000 + p) +
            " units after reconciliation.\n\n";
  }
  return text;
}

// Child: ingests documents forever, appending each acknowledged id to `ack_path` only after
// Ingest returned (one write(2) of a whole line, so a kill never leaves half a number), and
// pages in between: requests, compressing releases and pins, so that page-table statistics,
// summaries and L3 swap writes are in flight when the kill lands.
[[noreturn]] void IngestAndPageUntilKilled(const std::string& store, const std::string& ack_path,
                                           int first, unsigned seed) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // Never outlive a parent that failed before killing us.
  if (::getppid() == 1) _exit(6);
  PagerOptions o;
  o.path = store;
  o.l1_tokens = 2000;
  o.page_tokens = 200;
  o.stats_flush_seconds = 0;  // Write statistics constantly: more to interrupt.
  auto pager = Pager::Open(std::move(o));
  if (!pager.ok()) _exit(3);
  int ack = ::open(ack_path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
  std::mt19937 rng(seed);
  std::vector<std::string> seen;
  for (int i = first;; ++i) {
    auto ids = (*pager)->Ingest("doc-" + std::to_string(i), DocText(i));
    if (!ids.ok()) _exit(4);
    std::string line = std::to_string(i) + "\n";
    if (::write(ack, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
    seen.insert(seen.end(), ids->begin(), ids->end());
    for (int k = 0; k < 12; ++k) {
      const std::string& id = seen[rng() % seen.size()];
      switch (rng() % 4) {
        case 0:
          (*pager)->ReleasePage(id, /*compress=*/true);
          break;
        case 1:
          if ((*pager)->Pin(id).ok()) (*pager)->Unpin(id);
          break;
        default:
          (*pager)->RequestPage(id, rng() % 2);
      }
    }
    if (i % 5 == 0) (*pager)->Flush();  // Vector snapshots too.
  }
}

// Reopens the store and checks every acknowledged document, byte for byte, and the page table.
void ExpectAcknowledgedDocumentsIntact(const std::string& store, const std::string& ack_path,
                                       int round, int* next_doc) {
  PagerOptions o;
  o.path = store;
  o.l1_tokens = 2000;
  o.page_tokens = 200;
  auto pager = Pager::Open(std::move(o));
  ASSERT_TRUE(pager.ok()) << pager.status().ToString();
  std::ifstream acks(ack_path);
  ExpectedPages expected;
  int id;
  while (acks >> id) {
    std::string text;
    for (uint32_t c = 0;; ++c) {
      std::string page_id = MakePageId("doc-" + std::to_string(id), c);
      auto page = (*pager)->ReadPage(page_id);
      if (!page.ok()) {
        ASSERT_EQ(page.status().code(), StatusCode::kNotFound);
        break;
      }
      expected[page_id] = *page;
      text += *page;
    }
    ASSERT_EQ(text, DocText(id)) << "document " << id << " after round " << round;
    *next_doc = std::max(*next_doc, id + 1);
  }
  ASSERT_FALSE(expected.empty()) << "round " << round;
  ASSERT_TRUE(ExpectStoreConsistent(pager->get(), expected, /*strict_ids=*/false))
      << "round " << round;
}

TEST(CrashRecovery, FiftySigkillsDuringIngestAndPagingLoseNoAcknowledgedPage) {
  TempDir dir;
  const std::string store = dir.Sub("store");
  const std::string ack_path = dir.Sub("acks");
  std::mt19937 rng(20261121);
  int next_doc = 0;
  int killed = 0;
  for (int round = 0; round < 50; ++round) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) IngestAndPageUntilKilled(store, ack_path, next_doc, rng());
    // The first round waits for at least one acknowledgement; later ones may kill the child
    // anywhere, including while it opens the store.
    ::usleep(round == 0 ? 300000 : std::uniform_int_distribution<int>(5000, 120000)(rng));
    ::kill(child, SIGKILL);
    int wstatus = 0;
    ::waitpid(child, &wstatus, 0);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited early with " << WEXITSTATUS(wstatus);
    ++killed;
    ExpectAcknowledgedDocumentsIntact(store, ack_path, round, &next_doc);
    if (::testing::Test::HasFatalFailure()) return;
    next_doc += 1000;  // A document the killed child wrote but never acknowledged is skipped.
  }
  EXPECT_EQ(killed, 50);
}

}  // namespace
}  // namespace vmllm
