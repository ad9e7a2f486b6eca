// A process killed with SIGKILL at any moment leaves a store that reopens, holding every page
// whose Ingest had returned, byte for byte.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>

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
// Ingest returned, and paging some in so that stats and swap writes are in flight too.
[[noreturn]] void IngestUntilKilled(const std::string& store, const std::string& ack_path,
                                    int first) {
  PagerOptions o;
  o.path = store;
  o.l1_tokens = 2000;
  o.page_tokens = 200;
  o.stats_flush_seconds = 0;  // Write statistics constantly: more to interrupt.
  auto pager = Pager::Open(std::move(o));
  if (!pager.ok()) _exit(3);
  int ack = ::open(ack_path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
  for (int i = first;; ++i) {
    auto ids = (*pager)->Ingest("doc-" + std::to_string(i), DocText(i));
    if (!ids.ok()) _exit(4);
    std::string line = std::to_string(i) + "\n";
    if (::write(ack, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
    for (size_t k = 0; k < ids->size(); k += 3) (*pager)->RequestPage((*ids)[k], false);
  }
}

TEST(CrashRecovery, EveryAcknowledgedPageSurvivesSigkillAtRandomMoments) {
  TempDir dir;
  const std::string store = dir.Sub("store");
  const std::string ack_path = dir.Sub("acks");
  std::mt19937 rng(20261121);
  int next_doc = 0;
  for (int round = 0; round < 8; ++round) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) IngestUntilKilled(store, ack_path, next_doc);
    ::usleep(std::uniform_int_distribution<int>(30000, 250000)(rng));
    ::kill(child, SIGKILL);
    int wstatus = 0;
    ::waitpid(child, &wstatus, 0);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited early with " << WEXITSTATUS(wstatus);

    PagerOptions o;
    o.path = store;
    o.l1_tokens = 2000;
    o.page_tokens = 200;
    auto pager = Pager::Open(std::move(o));
    ASSERT_TRUE(pager.ok()) << pager.status().ToString();
    std::ifstream acks(ack_path);
    int id, acknowledged = 0;
    while (acks >> id) {
      ++acknowledged;
      std::string text;
      for (uint32_t c = 0;; ++c) {
        auto page = (*pager)->ReadPage(MakePageId("doc-" + std::to_string(id), c));
        if (!page.ok()) {
          ASSERT_EQ(page.status().code(), StatusCode::kNotFound);
          break;
        }
        text += *page;
      }
      ASSERT_EQ(text, DocText(id)) << "document " << id << " after round " << round;
      next_doc = std::max(next_doc, id + 1);
    }
    EXPECT_GT(acknowledged, 0);
    auto hits = (*pager)->Search("ledger balanced reconciliation", 3, SearchMode::kHybrid);
    ASSERT_TRUE(hits.ok()) << hits.status().ToString();
    EXPECT_FALSE(hits->empty());
    next_doc += 1000;  // A half-written document from the killed child is simply replaced.
  }
}

}  // namespace
}  // namespace vmllm
