// VectorIndex: L3's semantic half, an hnswlib graph over page embeddings keyed by PageKey.
//
// The index is a cache derived from the store: snapshots live in `<store>/vectors/` under names
// made of the embedder's hash, the store's id, the highest key they cover (the watermark) and a
// checksum of the file, written to a temporary file and renamed, so a crash leaves either the
// old snapshot or the new one. On open the newest snapshot of this store and embedder loads,
// once its checksum, header and every graph link check out (hnswlib itself trusts the file);
// CatchUp then embeds every page written since its watermark, by this process or another. A
// missing, foreign or damaged snapshot means a rebuild from the store, the damaged one with a
// backend warning. An embedder that learns its dimension from a server (Embedder::Prepare)
// defers all of this to the first CatchUp or Search, so a store opens while the server is down.
//
// Keys of deleted pages may linger in a snapshot; callers drop hits whose key no longer exists.
//
// Thread safety: internally synchronised.
#ifndef VMLLM_STORE_VECTOR_INDEX_H_
#define VMLLM_STORE_VECTOR_INDEX_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vmllm/embedder.h"
#include "vmllm/page.h"
#include "vmllm/status.h"

namespace vmllm {

class DiskStore;

class VectorIndex {
 public:
  // `embedder` must outlive the index. `store_id` is the DiskStore's id (DiskStore::store_id).
  static Result<std::unique_ptr<VectorIndex>> Open(const std::string& store_dir,
                                                   const std::string& store_id,
                                                   const Embedder* embedder);
  ~VectorIndex();

  // Embeds and indexes every page of `store` with a key above the watermark.
  Status CatchUp(DiskStore* store);
  // Up to `k` keys nearest to `query`, best first, with cosine similarity; only keys `keep`
  // accepts when it is set (a space's pages: the graph is searched ever wider until `k` such
  // keys are found or the whole graph was searched).
  Result<std::vector<std::pair<PageKey, double>>> Search(
      std::string_view query, size_t k, const std::function<bool(PageKey)>& keep = nullptr);
  // Drops `key` from results (a deleted or replaced page).
  void Forget(PageKey key);
  // Drops from results every indexed key for which `live` is false.
  void Retain(const std::function<bool(PageKey)>& live);
  // Writes a snapshot when anything changed since the last one.
  Status Save();

  size_t size() const;
  PageKey watermark() const;

 private:
  struct Impl;
  explicit VectorIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmllm

#endif  // VMLLM_STORE_VECTOR_INDEX_H_
