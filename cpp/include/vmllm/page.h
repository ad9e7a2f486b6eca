// Page: the unit vmllm moves between tiers, and the facts the page table keeps about it.
//
// A page is a contiguous byte range of a document, at most `page_tokens` tokens long. Its id is
// "{doc_id}::chunk_{index:04d}". Inside the store a page is known by its key, an integer the
// store assigns and never reuses, so no file name or cache key is ever built from a user's string.
//
// Life of a page:
//   ingest ──> L4 (durable original, searchable in L3's indexes)
//   L4/L3 ──request──> L1 (resident; a first page-in also copies it into the L3 swap store)
//   L1 ──release/evict──> L2 (hot copy with TTL) and L3 (swap copy); summary kept if compressed
//   L2 ──TTL or byte cap──> L3
// `tier` in PageInfo is the fastest tier holding a copy. L1 and L2 are local to a process, so the
// store records only the durable part of that (L3 or L4); reopening a store starts with an empty
// L1 and L2.
#ifndef VMLLM_PAGE_H_
#define VMLLM_PAGE_H_

#include <cstdint>
#include <string>

namespace vmllm {

using PageKey = int64_t;

enum class TierId : uint8_t { kL1 = 1, kL2 = 2, kL3 = 3, kL4 = 4 };

// "L1".."L4".
const char* TierName(TierId tier);

struct PageInfo {
  PageKey key = 0;
  std::string space;            // The set of pages it belongs to: "doc", "stream:<session>", ...
  std::string page_id;
  std::string doc_id;
  uint32_t chunk_index = 0;
  uint32_t tokens = 0;          // Tokens of the full page.
  uint64_t bytes = 0;           // UTF-8 bytes of the full page.
  uint64_t content_hash = 0;    // 64-bit hash of the full text.
  double created = 0;           // Seconds since the epoch.
  double last_accessed = 0;
  uint64_t access_count = 0;
  uint64_t fault_count = 0;
  bool pinned = false;
  TierId tier = TierId::kL4;          // Fastest tier holding a copy.
  TierId durable_tier = TierId::kL4;  // Fastest durable copy: L3 (swap) or L4.
  bool compressed = false;      // Has a summary view.
  bool resident_as_summary = false;  // In L1 as its summary rather than in full.
  std::string summary;          // Empty unless compressed.
};

// Page id for chunk `index` of `doc_id`.
std::string MakePageId(const std::string& doc_id, uint32_t index);

}  // namespace vmllm

#endif  // VMLLM_PAGE_H_
