#include "util/rank_fusion.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace vmllm {

std::vector<FusedKey> FuseRanks(const std::vector<RankedList>& lists, double k,
                                const std::function<bool(int64_t)>& keep) {
  std::vector<FusedKey> fused;                    // In order of first appearance.
  std::unordered_map<int64_t, size_t> position;   // Key -> its index in `fused`.
  std::unordered_set<int64_t> seen;               // Keys of the current list so far.
  for (const RankedList& list : lists) {
    seen.clear();
    size_t rank = 0;
    for (int64_t key : list.keys) {
      if (keep && !keep(key)) continue;
      if (!seen.insert(key).second) continue;
      const double contribution = list.weight / (k + static_cast<double>(++rank));
      auto [it, inserted] = position.emplace(key, fused.size());
      if (inserted) {
        fused.push_back(FusedKey{key, contribution});
      } else {
        fused[it->second].score += contribution;
      }
    }
  }
  std::stable_sort(fused.begin(), fused.end(),
                   [](const FusedKey& a, const FusedKey& b) { return a.score > b.score; });
  return fused;
}

HybridFusion DefaultHybridFusion() { return HybridFusion{10.0, 3.0}; }

std::vector<FusedKey> FuseHybrid(std::vector<int64_t> keyword, std::vector<int64_t> vectors,
                                 HybridFusion setting,
                                 const std::function<bool(int64_t)>& keep,
                                 std::vector<int64_t> named) {
  std::vector<RankedList> lists(2);
  lists[0] = RankedList{std::move(keyword), setting.keyword_weight};
  lists[1] = RankedList{std::move(vectors), 1.0};
  if (!named.empty()) lists.push_back(RankedList{std::move(named), setting.name_weight});
  return FuseRanks(lists, setting.k, keep);
}

}  // namespace vmllm
