// Reciprocal-rank fusion (Cormack, Clarke and Buettcher 2009): the one way vmllm merges ranked
// lists (BM25 and vector hits of document search, of conversation recall and of archival
// search). A key's fused score is the sum, over the lists it is in, of weight / (k + rank),
// rank counted from 1. A small k lets the first few ranks of each list dominate; a large one
// flattens the curve.
//
// Thread safety: a pure function.
#ifndef VMLLM_UTIL_RANK_FUSION_H_
#define VMLLM_UTIL_RANK_FUSION_H_

#include <cstdint>
#include <functional>
#include <vector>

namespace vmllm {

// One ranked list: keys best first, and the weight of its ranks against the other lists'.
struct RankedList {
  std::vector<int64_t> keys;
  double weight = 1.0;
};

struct FusedKey {
  int64_t key;
  double score;
};

// The keys of all `lists`, best fused score first. Ties keep the order of first appearance,
// scanning the lists in the order given, each best first, so the result is deterministic.
// `keep`, when set, filters: a key it rejects is dropped and takes no rank (the next kept key
// of that list moves up). A key repeated within one list counts at its first rank only, and
// the repeat takes no rank either. Empty lists, or none, give an empty result.
// `k` must be >= 0 and the weights >= 0.
std::vector<FusedKey> FuseRanks(const std::vector<RankedList>& lists, double k,
                                const std::function<bool(int64_t)>& keep = nullptr);

// The setting of a hybrid search: BM25's ranks against the vector index's.
struct HybridFusion {
  double k;
  double keyword_weight;  // The vector list's weight is 1.
  // The pages of documents a query word names ("argparse" -> argparse.py), as a third list:
  // the doc id is a boosted field, so a name finds its file.
  double name_weight = 3.0;
};

// The one setting of vmllm's hybrid searches (documents: pager.cc; conversation recall and
// archival: memory_search.cc), whatever the embedder: k = 10, BM25's ranks 3:1, a named
// document's pages 3:1. Measured (BENCHMARKS.md, "Recall search on LoCoMo" and "Retrieval
// (issue 16)"): with the hashing embedder BM25 is the stronger ranker (LoCoMo hit@5 0.534 vs
// 0.417 at k = 60 1:1); with a static word-embedding model (wordllama) 3:1 beats 1:1 too on
// the tuning half of the stdlib questions (hit@3 0.747 vs 0.627) and ties on LoCoMo's
// document path (0.870 both), so one setting serves every embedder.
HybridFusion DefaultHybridFusion();

// FuseRanks over the BM25 list (first, so it wins ties), the vector list and the list of
// pages whose document the query names (often empty), with `setting`.
std::vector<FusedKey> FuseHybrid(std::vector<int64_t> keyword, std::vector<int64_t> vectors,
                                 HybridFusion setting,
                                 const std::function<bool(int64_t)>& keep = nullptr,
                                 std::vector<int64_t> named = {});

}  // namespace vmllm

#endif  // VMLLM_UTIL_RANK_FUSION_H_
