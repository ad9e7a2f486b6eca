#include "store/vector_index.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <exception>
#include <hnswlib/hnswlib.h>
#include <algorithm>
#include <mutex>

#include "store/disk_store.h"

namespace vmllm {
namespace {

constexpr size_t kInitialCapacity = 1024;
constexpr size_t kGraphM = 16;
constexpr size_t kEfConstruction = 100;
constexpr size_t kCatchUpBatch = 256;

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// "index-<embedder hash>-<watermark>.hnsw": only numbers, never user text.
std::string SnapshotName(uint64_t embedder_hash, PageKey watermark) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "index-%016" PRIx64 "-%" PRId64 ".hnsw", embedder_hash,
                static_cast<int64_t>(watermark));
  return buf;
}

bool ParseSnapshotName(const std::string& name, uint64_t embedder_hash, PageKey* watermark) {
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "index-%016" PRIx64 "-", embedder_hash);
  size_t n = std::strlen(prefix);
  if (name.compare(0, n, prefix) != 0 || name.size() < n + 6) return false;
  if (name.compare(name.size() - 5, 5, ".hnsw") != 0) return false;
  std::string digits = name.substr(n, name.size() - n - 5);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  *watermark = std::stoll(digits);
  return true;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
    ::closedir(d);
  }
  return names;
}

}  // namespace

struct VectorIndex::Impl {
  const Embedder* embedder;
  std::string dir;
  uint64_t embedder_hash;
  hnswlib::InnerProductSpace space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
  PageKey watermark = 0;
  PageKey saved_watermark = -1;
  size_t forgotten_since_save = 0;
  mutable std::mutex mu;  // hnswlib keeps search width (ef) as shared state.

  Impl(const Embedder* e, std::string d)
      : embedder(e),
        dir(std::move(d)),
        embedder_hash(Fnv1a(e->Name() + "/" + std::to_string(e->Dimension()))),
        space(e->Dimension()) {}

  void Fresh() {
    graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(&space, kInitialCapacity, kGraphM,
                                                              kEfConstruction);
    watermark = 0;
  }

  // Loads the newest readable snapshot; removes the unreadable and the superseded.
  void LoadNewest() {
    std::vector<std::pair<PageKey, std::string>> snapshots;
    for (const auto& name : ListDir(dir)) {
      PageKey w;
      if (ParseSnapshotName(name, embedder_hash, &w)) snapshots.emplace_back(w, name);
    }
    std::sort(snapshots.rbegin(), snapshots.rend());
    for (const auto& [w, name] : snapshots) {
      try {
        graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(&space, dir + "/" + name);
        watermark = saved_watermark = w;
        return;
      } catch (const std::exception&) {
        ::unlink((dir + "/" + name).c_str());  // Corrupt: a cache, so drop it and rebuild.
      }
    }
    Fresh();
  }

  // Embeds a batch in one EmbedBatch call (a remote embedder sends it as batched requests) and
  // adds it; on failure nothing is added and the watermark stays put.
  Status AddBatch(const std::vector<PageKey>& keys, const std::vector<std::string>& texts) {
    const size_t dim = embedder->Dimension();
    std::vector<float> vectors(keys.size() * dim);
    std::vector<std::string_view> views(texts.begin(), texts.end());
    VMLLM_RETURN_IF_ERROR(embedder->EmbedBatch(views, vectors.data()));
    while (graph->cur_element_count + keys.size() > graph->max_elements_) {
      graph->resizeIndex(graph->max_elements_ * 2);
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      graph->addPoint(vectors.data() + i * dim, static_cast<hnswlib::labeltype>(keys[i]));
    }
    return Status();
  }
};

VectorIndex::VectorIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VectorIndex::~VectorIndex() = default;

Result<std::unique_ptr<VectorIndex>> VectorIndex::Open(const std::string& store_dir,
                                                       const Embedder* embedder) {
  auto impl = std::make_unique<Impl>(embedder, store_dir + "/vectors");
  if (::mkdir(impl->dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::StorageError("cannot create '" + impl->dir + "': " + std::strerror(errno));
  }
  try {
    impl->LoadNewest();
  } catch (const std::exception& e) {
    return Status::StorageError(std::string("vector index: ") + e.what());
  }
  return std::unique_ptr<VectorIndex>(new VectorIndex(std::move(impl)));
}

Status VectorIndex::CatchUp(DiskStore* store) {
  auto max_key = store->MaxKey();
  if (!max_key.ok()) return max_key.status();
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (*max_key <= impl_->watermark) return Status();
  try {
    while (impl_->watermark < *max_key) {
      std::vector<PageKey> keys;
      std::vector<std::string> texts;
      Status s = store->ScanTexts(impl_->watermark, kCatchUpBatch,
                                  [&](PageKey key, std::string_view text) {
                                    keys.push_back(key);
                                    texts.emplace_back(text);
                                  });
      VMLLM_RETURN_IF_ERROR(s);
      if (keys.empty()) {  // Keys above the watermark were deleted meanwhile.
        impl_->watermark = *max_key;
        break;
      }
      VMLLM_RETURN_IF_ERROR(impl_->AddBatch(keys, texts));
      impl_->watermark = keys.back();
    }
  } catch (const std::exception& e) {
    return Status::StorageError(std::string("vector index insert: ") + e.what());
  }
  return Status();
}

Result<std::vector<std::pair<PageKey, double>>> VectorIndex::Search(std::string_view query,
                                                                    size_t k) {
  std::vector<std::pair<PageKey, double>> hits;
  if (k == 0) return hits;
  std::vector<float> q(impl_->embedder->Dimension());
  VMLLM_RETURN_IF_ERROR(impl_->embedder->EmbedBatch({query}, q.data()));
  std::lock_guard<std::mutex> lock(impl_->mu);
  size_t live = impl_->graph->cur_element_count;
  if (live == 0) return hits;
  try {
    // hnswlib's ef is shared state; a search-time ef wide enough for k keeps recall high.
    impl_->graph->setEf(std::max<size_t>(64, 2 * k));
    auto heap = impl_->graph->searchKnn(q.data(), std::min(k, live));
    hits.resize(heap.size());
    for (size_t i = heap.size(); i-- > 0;) {
      hits[i] = {static_cast<PageKey>(heap.top().second), 1.0 - heap.top().first};
      heap.pop();
    }
  } catch (const std::exception& e) {
    return Status::StorageError(std::string("vector search: ") + e.what());
  }
  return hits;
}

void VectorIndex::Forget(PageKey key) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  try {
    impl_->graph->markDelete(static_cast<hnswlib::labeltype>(key));
    ++impl_->forgotten_since_save;
  } catch (const std::exception&) {
    // Not indexed yet, or already forgotten: nothing to drop.
  }
}

Status VectorIndex::Save() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->watermark == impl_->saved_watermark && impl_->forgotten_since_save == 0) {
    return Status();
  }
  static std::atomic<uint64_t> counter{0};
  std::string final_name = SnapshotName(impl_->embedder_hash, impl_->watermark);
  std::string tmp = impl_->dir + "/tmp-" + std::to_string(::getpid()) + "-" +
                    std::to_string(counter++) + ".part";
  try {
    impl_->graph->saveIndex(tmp);
  } catch (const std::exception& e) {
    ::unlink(tmp.c_str());
    return Status::StorageError(std::string("vector snapshot: ") + e.what());
  }
  if (::rename(tmp.c_str(), (impl_->dir + "/" + final_name).c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::StorageError("vector snapshot rename: " + std::string(std::strerror(errno)));
  }
  impl_->saved_watermark = impl_->watermark;
  impl_->forgotten_since_save = 0;
  // Older snapshots of this embedder are superseded.
  for (const auto& name : ListDir(impl_->dir)) {
    PageKey w;
    if (ParseSnapshotName(name, impl_->embedder_hash, &w) && name != final_name &&
        w <= impl_->watermark) {
      ::unlink((impl_->dir + "/" + name).c_str());
    }
  }
  return Status();
}

size_t VectorIndex::size() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->graph->cur_element_count - impl_->graph->num_deleted_;
}

PageKey VectorIndex::watermark() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->watermark;
}

}  // namespace vmllm
