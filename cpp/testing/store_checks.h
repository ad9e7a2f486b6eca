// Store consistency checks shared by the reliability tests (crash recovery, fault injection):
// after whatever a test did to a store, its page table must still describe it exactly.
#ifndef VMLLM_TESTING_STORE_CHECKS_H_
#define VMLLM_TESTING_STORE_CHECKS_H_

#include <map>
#include <string>

#include "vmllm/pager.h"

namespace vmllm {

// Every page id → its full text, as the test expects the store to hold it.
using ExpectedPages = std::map<std::string, std::string>;

// Adds a GoogleTest failure (and returns false) unless:
//   * every page in `expected` reads back byte for byte (ReadPage and a full RequestPage);
//   * every page the store lists has page-table metadata that matches its text (bytes), and a
//     compressed page has a non-empty summary;
//   * the per-tier page totals in Stats() add up to the page count, and agree with the tier of
//     each page as GetPageInfo reports it;
//   * a search finds pages.
// `strict_ids`: the store must hold exactly the pages in `expected`, no more.
bool ExpectStoreConsistent(Pager* pager, const ExpectedPages& expected, bool strict_ids);

}  // namespace vmllm

#endif  // VMLLM_TESTING_STORE_CHECKS_H_
