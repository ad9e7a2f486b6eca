// The two durable tiers, both views of the store's SQLite database:
//   L3 swap: copies of pages that have been paged in at least once (the seed's swap space);
//   L4 disk: every page's original text, written by ingest and never by Put.
// Keeping them behind the Tier interface lets a test wrap either to inject faults, and lets a
// later backend (object storage, a vector database) replace one without touching the pager.
#ifndef VMLLM_STORE_DISK_TIERS_H_
#define VMLLM_STORE_DISK_TIERS_H_

#include <memory>

#include "store/disk_store.h"
#include "vmllm/tier.h"

namespace vmllm {

// `store` must outlive the tier.
std::unique_ptr<Tier> NewSwapTier(DiskStore* store);
std::unique_ptr<Tier> NewDiskTier(DiskStore* store);

}  // namespace vmllm

#endif  // VMLLM_STORE_DISK_TIERS_H_
