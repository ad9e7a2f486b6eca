// Compress-on-evict with an AsyncCompressor and embeddings provided from outside the core. A
// QueuedCompressor stands in for the model: the test takes and completes its jobs, so every
// interleaving is chosen, not timed.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "testing/fake_clock.h"
#include "testing/temp_dir.h"
#include "vmllm/async_compressor.h"
#include "vmllm/pager.h"
#include "vmllm/provided_embedder.h"

namespace vmllm {
namespace {

std::string Document(int n, const std::string& topic = "topic") {
  std::string text;
  for (int i = 0; i < n; ++i) {
    text += "Section " + std::to_string(i) + " about " + topic + " " + std::to_string(i) +
            ". The service retries the request with exponential backoff and a circuit breaker "
            "guards the database named orders_db on port 5432.\n\n";
  }
  return text;
}

class AsyncCompressionTest : public ::testing::Test {
 protected:
  std::unique_ptr<Pager> Open(std::shared_ptr<const Embedder> embedder = nullptr) {
    PagerOptions o;
    o.path = dir_.path();
    o.l1_tokens = 400;
    o.page_tokens = 100;
    o.clock = &clock_;
    o.async_compressor = queue_;
    o.embedder = std::move(embedder);
    auto pager = Pager::Open(std::move(o));
    EXPECT_TRUE(pager.ok()) << pager.status().ToString();
    return pager.ok() ? std::move(pager).value() : nullptr;
  }

  // Pages in the first page, pages it out, and returns its id and full text.
  std::pair<std::string, std::string> EvictFirst(Pager* pager, const std::string& doc = "doc") {
    auto ids = pager->Ingest(doc, Document(6));
    EXPECT_TRUE(ids.ok());
    auto text = pager->RequestPage((*ids)[0], false);
    EXPECT_TRUE(text.ok());
    EXPECT_TRUE(*pager->ReleasePage((*ids)[0], true));
    return {(*ids)[0], *text};
  }

  TempDir dir_;
  FakeClock clock_;
  std::shared_ptr<QueuedCompressor> queue_ = std::make_shared<QueuedCompressor>("test-model");
};

TEST_F(AsyncCompressionTest, EvictionEnqueuesAndTheSummaryArrivesWithTheJob) {
  auto pager = Open();
  auto [id, text] = EvictFirst(pager.get());
  EXPECT_FALSE(pager->GetPageInfo(id)->compressed);
  EXPECT_EQ(pager->Stats().compressions_pending, 1u);
  EXPECT_EQ(*pager->RequestPage(id, false), text);  // No summary yet: the page comes back whole.
  ASSERT_TRUE(*pager->ReleasePage(id, true));
  auto jobs = queue_->Take(10, 0);
  ASSERT_EQ(jobs.size(), 1u);  // One job per page, however often it is evicted meanwhile.
  EXPECT_EQ(jobs[0].text, text);
  queue_->Complete(jobs[0].id, std::string("model summary"));
  PageInfo info = *pager->GetPageInfo(id);
  EXPECT_TRUE(info.compressed);
  EXPECT_EQ(info.summary, "model summary");
  EXPECT_EQ(*pager->RequestPage(id, false), "model summary");
  EXPECT_EQ(*pager->RequestPage(id, true), text);
  PagerStats s = pager->Stats();
  EXPECT_EQ(s.compressions, 1u);
  EXPECT_EQ(s.compressions_pending, 0u);
}

TEST_F(AsyncCompressionTest, AFailedJobFallsBackToTheExtractiveSummary) {
  auto pager = Open();
  auto [id, text] = EvictFirst(pager.get());
  auto jobs = queue_->Take(10, 0);
  ASSERT_EQ(jobs.size(), 1u);
  queue_->Complete(jobs[0].id, Status::BackendUnavailable("HTTP 503"));
  EXPECT_EQ(pager->GetPageInfo(id)->summary, NewExtractiveCompressor()->Compress(text));
  PagerStats s = pager->Stats();
  EXPECT_EQ(s.compression_fallbacks, 1u);
  EXPECT_EQ(s.compressions, 1u);
  EXPECT_EQ(s.last_compression_error, "HTTP 503");
}

TEST_F(AsyncCompressionTest, SummariesAreCachedByContentAndModelAcrossReopens) {
  {
    auto pager = Open();
    EvictFirst(pager.get(), "a");
    auto jobs = queue_->Take(10, 0);
    ASSERT_EQ(jobs.size(), 1u);
    queue_->Complete(jobs[0].id, std::string("cached summary"));
  }
  auto pager = Open();
  auto [id, text] = EvictFirst(pager.get(), "b");  // Same text, another document.
  EXPECT_EQ(pager->GetPageInfo(id)->summary, "cached summary");
  EXPECT_TRUE(queue_->Take(10, 0).empty());
}

TEST_F(AsyncCompressionTest, AJobForAReplacedPageIsDropped) {
  auto pager = Open();
  auto [id, text] = EvictFirst(pager.get());
  auto jobs = queue_->Take(10, 0);
  ASSERT_TRUE(pager->Ingest("doc", Document(6, "other")).ok());  // Same ids, new text.
  queue_->Complete(jobs[0].id, std::string("summary of the old text"));
  EXPECT_FALSE(pager->GetPageInfo(id)->compressed);
  EXPECT_EQ(pager->Stats().compressions, 0u);
}

TEST_F(AsyncCompressionTest, FlushWaitsForPendingJobs) {
  auto pager = Open();
  auto [id, text] = EvictFirst(pager.get());
  std::atomic<bool> flushed{false};
  std::thread flusher([&] {
    EXPECT_TRUE(pager->Flush().ok());
    flushed = true;
  });
  auto jobs = queue_->Take(10, 10);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_FALSE(flushed.load());  // It cannot have returned: the job is still ours.
  queue_->Complete(jobs[0].id, std::string("done"));
  flusher.join();
  EXPECT_EQ(pager->GetPageInfo(id)->summary, "done");
}

TEST_F(AsyncCompressionTest, CloseDropsPendingJobsAndKeepsThePageWhole) {
  std::string id, text;
  {
    auto pager = Open();
    std::tie(id, text) = EvictFirst(pager.get());
    ASSERT_TRUE(pager->Close().ok());
    auto jobs = queue_->Take(10, 0);
    ASSERT_EQ(jobs.size(), 1u);
    queue_->Complete(jobs[0].id, std::string("after close"));  // Dropped, not a crash.
  }
  auto pager = Open();
  EXPECT_FALSE(pager->GetPageInfo(id)->compressed);
  EXPECT_EQ(*pager->ReadPage(id), text);
  EvictFirst(pager.get());
  pager.reset();  // Destroyed with a job still queued.
  queue_->Close();
}

TEST(ProvidedEmbedderTest, EmbedsOnlyWhatWasProvidedAndConsumesIt) {
  ProvidedEmbedder e("python:test", 3);
  std::vector<float> out(6);
  EXPECT_EQ(e.EmbedBatch({"a", "b"}, out.data()).code(), StatusCode::kBackendUnavailable);
  EXPECT_EQ(e.Provide({"a"}, {{1, 2}}).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(e.Provide({"a", "b"}, {{3, 0, 4}, {0, 2, 0}}).ok());
  ASSERT_TRUE(e.EmbedBatch({"a", "b"}, out.data()).ok());
  EXPECT_FLOAT_EQ(out[0], 0.6f);  // Normalised.
  EXPECT_FLOAT_EQ(out[2], 0.8f);
  EXPECT_FLOAT_EQ(out[4], 1.0f);
  EXPECT_EQ(e.size(), 0u);
}

TEST(EmbedBatchTest, TheDefaultMatchesOneTextAtATime) {
  auto e = NewHashingEmbedder(64);
  std::vector<float> batch(128);
  ASSERT_TRUE(e->EmbedBatch({"circuit breaker", "retry backoff"}, batch.data()).ok());
  EXPECT_EQ(std::vector<float>(batch.begin(), batch.begin() + 64), e->Embed("circuit breaker"));
  EXPECT_EQ(std::vector<float>(batch.begin() + 64, batch.end()), e->Embed("retry backoff"));
}

TEST_F(AsyncCompressionTest, TextsToEmbedListsPagesUntilTheirVectorsArrive) {
  auto embedder = std::make_shared<ProvidedEmbedder>("python:test", 64);
  auto pager = Open(embedder);
  auto ids = pager->Ingest("doc", Document(12));
  ASSERT_TRUE(ids.ok());
  ASSERT_GE(ids->size(), 3u);
  auto texts = pager->TextsToEmbed(100);
  ASSERT_TRUE(texts.ok());
  ASSERT_EQ(texts->size(), ids->size());
  for (size_t i = 0; i < ids->size(); ++i) EXPECT_EQ((*texts)[i], *pager->ReadPage((*ids)[i]));
  // Page i gets the i-th unit vector, so a query with the third one must find the third page.
  auto unit = [](size_t i) {
    std::vector<float> v(64, 0.f);
    v[i] = 1.f;
    return v;
  };
  std::vector<std::vector<float>> vectors;
  for (size_t i = 0; i < texts->size(); ++i) vectors.push_back(unit(i));
  ASSERT_TRUE(embedder->Provide(*texts, vectors).ok());
  EXPECT_TRUE(pager->TextsToEmbed(100)->empty());
  std::string query = "which page is the third";
  ASSERT_TRUE(embedder->Provide({query}, {unit(2)}).ok());
  auto hits = pager->Search(query, 1, SearchMode::kVector);
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].page_id, (*ids)[2]);
  // Without the query's vector, vector search reports it; hybrid falls back to keywords.
  EXPECT_EQ(pager->Search("unprovided", 1, SearchMode::kVector).status().code(),
            StatusCode::kBackendUnavailable);
  EXPECT_TRUE(pager->Search("Section 4", 1, SearchMode::kHybrid).ok());
}

}  // namespace
}  // namespace vmllm
