#include "vmllm/embedder.h"

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace vmllm {
namespace {

double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

double Cosine(const Embedder& e, const std::string& a, const std::string& b) {
  return Dot(e.Embed(a), e.Embed(b));  // Vectors are unit length.
}

TEST(HashingEmbedder, NameAndDimensionIdentifyTheSpace) {
  auto e = NewHashingEmbedder();
  EXPECT_EQ(e->Name(), "hashing-384-v1");
  EXPECT_EQ(e->Dimension(), 384u);
  auto small = NewHashingEmbedder(64);
  EXPECT_EQ(small->Name(), "hashing-64-v1");
  EXPECT_EQ(small->Embed("anything").size(), 64u);
}

TEST(HashingEmbedder, VectorsHaveUnitNorm) {
  auto e = NewHashingEmbedder();
  for (const char* text : {"virtual memory for language models", "x = parse_config(path)",
                           "caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9\x65"}) {
    const auto v = e->Embed(text);
    EXPECT_NEAR(Dot(v, v), 1.0, 1e-5) << text;
  }
}

TEST(HashingEmbedder, IdenticalTextHasCosineOne) {
  auto e = NewHashingEmbedder();
  const std::string text = "The page table maps virtual pages to physical frames.";
  EXPECT_NEAR(Cosine(*e, text, text), 1.0, 1e-5);
}

TEST(HashingEmbedder, SimilarTextsScoreHigherThanUnrelated) {
  auto e = NewHashingEmbedder();
  const std::string query = "how does the page table map virtual memory pages";
  const std::string similar = "The page table maps each virtual memory page to a frame.";
  const std::string unrelated = "Bake the bread at high heat until the crust turns golden.";
  const double sim = Cosine(*e, query, similar);
  const double unrel = Cosine(*e, query, unrelated);
  EXPECT_GT(sim, 0.3);
  EXPECT_GT(sim, unrel + 0.2);
}

TEST(HashingEmbedder, CompoundIdentifiersShareTheirParts) {
  auto e = NewHashingEmbedder();
  EXPECT_GT(Cosine(*e, "parse_config_file", "parseConfigFile"), 0.5);
  EXPECT_GT(Cosine(*e, "loadHTTPHeader", "http header"), 0.3);
  EXPECT_NEAR(Cosine(*e, "Memory PAGES", "memory pages"), 1.0, 1e-5);
}

TEST(HashingEmbedder, TextWithoutFeaturesIsAllZeros) {
  auto e = NewHashingEmbedder();
  for (const char* text : {"", "   ", "a the of and", "!!! ... ???"}) {
    for (float x : e->Embed(text)) EXPECT_EQ(x, 0.0f) << text;
  }
}

TEST(HashingEmbedder, IsDeterministicAcrossInstancesAndThreads) {
  const std::string text = "Deterministic hashing: parse_config(path) returns 42 pages.";
  const auto expected = NewHashingEmbedder()->Embed(text);
  auto e = NewHashingEmbedder();
  std::vector<std::vector<float>> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 100; ++k) results[t] = e->Embed(text);
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& r : results) EXPECT_EQ(r, expected);
}

}  // namespace
}  // namespace vmllm
