// A name finds its file: a query word that is a document's name ("argparse", "argparse.py",
// "lib/argparse.py") makes that document's pages a ranked list of their own, fused with BM25's
// and the vectors' (util/rank_fusion.h), so the doc id acts as a boosted field.
//
// Thread safety: none; the pager serialises calls.
#ifndef VMLLM_ENGINE_NAMED_PAGES_H_
#define VMLLM_ENGINE_NAMED_PAGES_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "store/page_table.h"

namespace vmllm {

// The pages of the documents `query` names, best first: those on BM25's list `keyword` in its
// order (the page of the file that matches the words), then the rest in key order (a file's
// first pages first), at most `limit`. Question words never name a document.
std::vector<PageKey> NamedPages(const PageTable& table, std::string_view query,
                                const std::vector<PageKey>& keyword, size_t limit);

}  // namespace vmllm

#endif  // VMLLM_ENGINE_NAMED_PAGES_H_
