#include "util/rank_fusion.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace vmllm {
namespace {

std::vector<int64_t> Keys(const std::vector<FusedKey>& fused) {
  std::vector<int64_t> out;
  for (const FusedKey& f : fused) out.push_back(f.key);
  return out;
}

TEST(RankFusion, ScoresAreWeightOverKPlusRankSummedOverLists) {
  auto fused = FuseRanks({{{1, 2, 3}, 1.0}, {{3, 1}, 1.0}}, 60);
  ASSERT_EQ(fused.size(), 3u);
  EXPECT_EQ(Keys(fused), (std::vector<int64_t>{1, 3, 2}));
  EXPECT_DOUBLE_EQ(fused[0].score, 1.0 / 61 + 1.0 / 62);  // 1: rank 1, then rank 2.
  EXPECT_DOUBLE_EQ(fused[1].score, 1.0 / 63 + 1.0 / 61);  // 3: rank 3, then rank 1.
  EXPECT_DOUBLE_EQ(fused[2].score, 1.0 / 62);
}

TEST(RankFusion, AWeightedListWinsWhatEqualWeightsWouldTie) {
  // 1 is first in A only, 2 first in B only: a tie at equal weights, B's at 3:1.
  EXPECT_EQ(Keys(FuseRanks({{{1}, 1.0}, {{2}, 1.0}}, 10)), (std::vector<int64_t>{1, 2}));
  auto fused = FuseRanks({{{1}, 1.0}, {{2}, 3.0}}, 10);
  EXPECT_EQ(Keys(fused), (std::vector<int64_t>{2, 1}));
  EXPECT_DOUBLE_EQ(fused[0].score, 3.0 / 11);
  EXPECT_DOUBLE_EQ(fused[1].score, 1.0 / 11);
  // A zero weight leaves a list's keys in the result, ranked last.
  EXPECT_EQ(Keys(FuseRanks({{{1, 2}, 0.0}, {{3}, 1.0}}, 10)), (std::vector<int64_t>{3, 1, 2}));
}

TEST(RankFusion, KDecidesBetweenOneTopRankAndTwoMiddleOnes) {
  // 7 is first in A and absent from B; 8 is third in both. 1/(k+1) vs 2/(k+3):
  // k = 0 favours the single top rank, k = 60 the agreement of two lists.
  const std::vector<RankedList> lists = {{{7, 5, 8}, 1.0}, {{6, 4, 8}, 1.0}};
  EXPECT_EQ(FuseRanks(lists, 0)[0].key, 7);
  EXPECT_EQ(FuseRanks(lists, 60)[0].key, 8);
  EXPECT_DOUBLE_EQ(FuseRanks(lists, 60)[0].score, 2.0 / 63);
}

TEST(RankFusion, TiesKeepTheOrderOfFirstAppearance) {
  // All four at rank 2 or 1 of one list each: pairs of equal scores.
  auto fused = FuseRanks({{{40, 10}, 1.0}, {{30, 20}, 1.0}}, 60);
  EXPECT_EQ(Keys(fused), (std::vector<int64_t>{40, 30, 10, 20}));
  // Swapped ranks in two lists tie too; the first list's order decides.
  EXPECT_EQ(Keys(FuseRanks({{{5, 9}, 1.0}, {{9, 5}, 1.0}}, 10)), (std::vector<int64_t>{5, 9}));
  EXPECT_EQ(Keys(FuseRanks({{{9, 5}, 1.0}, {{5, 9}, 1.0}}, 10)), (std::vector<int64_t>{9, 5}));
}

TEST(RankFusion, AFilteredKeyIsDroppedAndTakesNoRank) {
  auto keep = [](int64_t key) { return key != 2; };
  auto fused = FuseRanks({{{2, 1, 3}, 1.0}, {{4, 2}, 1.0}}, 10, keep);
  EXPECT_EQ(Keys(fused), (std::vector<int64_t>{1, 4, 3}));
  EXPECT_DOUBLE_EQ(fused[0].score, 1.0 / 11);  // 1 moved up to rank 1.
  EXPECT_DOUBLE_EQ(fused[2].score, 1.0 / 12);
  EXPECT_TRUE(FuseRanks({{{2, 2}, 1.0}}, 10, keep).empty());
}

TEST(RankFusion, ARepeatWithinOneListCountsOnce) {
  auto fused = FuseRanks({{{1, 1, 2}, 1.0}}, 10);
  EXPECT_EQ(Keys(fused), (std::vector<int64_t>{1, 2}));
  EXPECT_DOUBLE_EQ(fused[0].score, 1.0 / 11);
  EXPECT_DOUBLE_EQ(fused[1].score, 1.0 / 12);
}

TEST(RankFusion, EmptyListsGiveWhatTheOthersHold) {
  EXPECT_TRUE(FuseRanks({}, 60).empty());
  EXPECT_TRUE(FuseRanks({{{}, 1.0}, {{}, 3.0}}, 60).empty());
  auto fused = FuseRanks({{{}, 3.0}, {{5, 6}, 1.0}}, 60);
  EXPECT_EQ(Keys(fused), (std::vector<int64_t>{5, 6}));
  EXPECT_DOUBLE_EQ(fused[0].score, 1.0 / 61);
}

}  // namespace
}  // namespace vmllm
