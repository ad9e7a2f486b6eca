#include "store/vector_index.h"

#include <dirent.h>
#include <signal.h>
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
#include <fstream>
#include <mutex>

#include "store/disk_store.h"
#include "util/checksum.h"
#include "util/hash.h"
#include "vmllm/backend_events.h"

namespace vmllm {
namespace {

constexpr size_t kInitialCapacity = 1024;
constexpr size_t kGraphM = 16;
constexpr size_t kEfConstruction = 100;
constexpr size_t kCatchUpBatch = 256;

// "index-<embedder hash>-<store id>-<watermark>-<checksum>.hnsw": only hex digits and numbers,
// never user text. The store id ties a snapshot to the store.db it was made from (a store.db
// deleted and made anew restarts its page keys, and must not inherit the old vectors); the
// checksum of the file's bytes detects a damaged or torn snapshot before hnswlib reads it.
struct SnapshotName {
  uint64_t embedder_hash = 0;
  std::string store_id;
  PageKey watermark = 0;
  uint64_t checksum = 0;

  std::string Format() const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, embedder_hash);
    std::string name = "index-" + std::string(buf) + "-" + store_id + "-";
    std::snprintf(buf, sizeof buf, "%" PRId64 "-%016" PRIx64 ".hnsw",
                  static_cast<int64_t>(watermark), checksum);
    return name + buf;
  }

  // False for anything that is not a snapshot name of this format.
  bool Parse(const std::string& name) {
    const std::string kPrefix = "index-", kSuffix = ".hnsw";
    if (name.size() < kPrefix.size() + kSuffix.size() || name.compare(0, 6, kPrefix) != 0 ||
        name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
      return false;
    }
    std::vector<std::string> fields;
    std::string body = name.substr(6, name.size() - 6 - kSuffix.size());
    for (size_t start = 0;;) {
      size_t dash = body.find('-', start);
      fields.push_back(body.substr(start, dash - start));
      if (dash == std::string::npos) break;
      start = dash + 1;
    }
    auto all_of = [](const std::string& f, const char* chars) {
      return !f.empty() && f.find_first_not_of(chars) == std::string::npos;
    };
    const char* kHex = "0123456789abcdef";
    if (fields.size() != 4 || fields[0].size() != 16 || !all_of(fields[0], kHex) ||
        fields[1].size() > 64 || !all_of(fields[1], kHex) || fields[2].size() > 18 ||
        !all_of(fields[2], "0123456789") || fields[3].size() != 16 || !all_of(fields[3], kHex)) {
      return false;
    }
    embedder_hash = std::stoull(fields[0], nullptr, 16);
    store_id = fields[1];
    watermark = std::stoll(fields[2]);
    checksum = std::stoull(fields[3], nullptr, 16);
    return true;
  }
};

// "tmp-<pid>-<n>.part" left by a writer that died before its rename: true when that process
// is gone, so the file can never be finished.
bool IsAbandonedTempFile(const std::string& name) {
  unsigned long pid = 0;
  char rest[32];
  if (std::sscanf(name.c_str(), "tmp-%lu-%31s", &pid, rest) != 2) return false;
  if (name.size() < 5 || name.compare(name.size() - 5, 5, ".part") != 0) return false;
  if (pid == 0 || pid > 0x7fffffff || pid == static_cast<unsigned long>(::getpid())) return false;
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
    ::closedir(d);
  }
  return names;
}

using Graph = hnswlib::HierarchicalNSW<float>;

template <typename T>
bool ReadPod(std::ifstream& in, T* value) {
  return static_cast<bool>(in.read(reinterpret_cast<char*>(value), sizeof(T)));
}

// The element count a snapshot file declares, after checking that its header describes a graph
// of this dimension and of the shape this index builds, so that hnswlib's loader (which trusts
// the header) never allocates or reads by a size the file made up.
Status CheckSnapshotHeader(const std::string& path, size_t dim, size_t* element_count) {
  std::ifstream in(path, std::ios::binary);
  size_t offset_level0, max_elements, count, per_element, label_offset, offset_data, max_m,
      max_m0, m, ef_construction;
  int max_level;
  hnswlib::tableint entry_point;
  double mult;
  if (!ReadPod(in, &offset_level0) || !ReadPod(in, &max_elements) || !ReadPod(in, &count) ||
      !ReadPod(in, &per_element) || !ReadPod(in, &label_offset) || !ReadPod(in, &offset_data) ||
      !ReadPod(in, &max_level) || !ReadPod(in, &entry_point) || !ReadPod(in, &max_m) ||
      !ReadPod(in, &max_m0) || !ReadPod(in, &m) || !ReadPod(in, &mult) ||
      !ReadPod(in, &ef_construction)) {
    return Status::StorageError("truncated header");
  }
  const size_t links0 = max_m0 * sizeof(hnswlib::tableint) + sizeof(hnswlib::linklistsizeint);
  const size_t data = dim * sizeof(float);
  if (offset_level0 != 0 || m != kGraphM || max_m != m || max_m0 != 2 * m ||
      offset_data != links0 || label_offset != offset_data + data ||
      per_element != label_offset + sizeof(hnswlib::labeltype) || count > max_elements ||
      count > (size_t{1} << 32) || max_level < -1 || max_level > 64 ||
      (count > 0 && entry_point >= count) ||
      (count == 0 && (max_level != -1 || entry_point != static_cast<hnswlib::tableint>(-1))) ||
      !(mult > 0 && mult < 10) ||
      ef_construction > 100000) {  // Levels of new points are drawn with `mult`.
    return Status::StorageError("header does not describe a graph of this index");
  }
  *element_count = count;
  return Status();
}

// Every neighbour id in range and present on the level it is linked at, so that a search
// never follows a link out of the graph.
Status CheckGraph(const Graph& g) {
  const size_t n = g.cur_element_count;
  if (n == 0) {  // hnswlib would follow the entry point into memory it never set up.
    return g.maxlevel_ == -1 ? Status() : Status::StorageError("empty graph with levels");
  }
  if (g.enterpoint_node_ >= n || g.element_levels_[g.enterpoint_node_] != g.maxlevel_) {
    return Status::StorageError("bad entry point");
  }
  for (hnswlib::tableint i = 0; i < n; ++i) {
    const int level = g.element_levels_[i];
    if (level < 0 || level > g.maxlevel_ || (level > 0 && g.linkLists_[i] == nullptr)) {
      return Status::StorageError("bad level of element " + std::to_string(i));
    }
    for (int l = 0; l <= level; ++l) {
      hnswlib::linklistsizeint* list = l == 0 ? g.get_linklist0(i) : g.get_linklist(i, l);
      const size_t links = g.getListCount(list);
      if (links > (l == 0 ? g.maxM0_ : g.maxM_)) {
        return Status::StorageError("too many links at element " + std::to_string(i));
      }
      const auto* ids = reinterpret_cast<const hnswlib::tableint*>(list + 1);
      for (size_t j = 0; j < links; ++j) {
        if (ids[j] >= n || g.element_levels_[ids[j]] < l) {
          return Status::StorageError("link out of the graph at element " + std::to_string(i));
        }
      }
    }
  }
  return Status();
}

}  // namespace

struct VectorIndex::Impl {
  const Embedder* embedder;
  std::string dir;
  std::string store_id;
  uint64_t embedder_hash = 0;
  std::unique_ptr<hnswlib::InnerProductSpace> space;
  std::unique_ptr<Graph> graph;  // Null until the embedder's dimension is known (Ready).
  // What Retain and Forget asked before the graph existed, applied once it loads.
  std::function<bool(PageKey)> pending_retain;
  std::vector<PageKey> pending_forgets;
  PageKey watermark = 0;
  PageKey saved_watermark = -1;
  size_t forgotten_since_save = 0;
  mutable std::mutex mu;  // hnswlib keeps search width (ef) as shared state.

  Impl(const Embedder* e, std::string d, std::string id)
      : embedder(e), dir(std::move(d)), store_id(std::move(id)) {}

  // Loads the graph once the embedder knows its dimension; a remote embedder may have to ask
  // its server first, so this runs at first use, not at open. Requires `mu`.
  Status Ready() {
    if (graph) return Status();
    VMLLM_RETURN_IF_ERROR(embedder->Prepare());
    const size_t dim = embedder->Dimension();
    if (dim < 2) return Status::InvalidArgument("embedding dimension must be at least 2");
    embedder_hash = Fnv1a64(embedder->Name() + "/" + std::to_string(dim));
    space = std::make_unique<hnswlib::InnerProductSpace>(dim);
    try {
      LoadNewest();
    } catch (const std::exception& e) {
      graph.reset();
      return Status::StorageError(std::string("vector index: ") + e.what());
    }
    if (pending_retain) RetainLoaded(pending_retain);
    for (PageKey key : pending_forgets) ForgetLoaded(key);
    pending_retain = nullptr;
    pending_forgets.clear();
    return Status();
  }

  void RetainLoaded(const std::function<bool(PageKey)>& live) {
    Graph& g = *graph;
    for (hnswlib::tableint i = 0; i < g.cur_element_count; ++i) {
      if (g.isMarkedDeleted(i)) continue;
      const auto label = g.getExternalLabel(i);
      if (live(static_cast<PageKey>(label))) continue;
      g.markDelete(label);
      ++forgotten_since_save;
    }
  }

  void ForgetLoaded(PageKey key) {
    try {
      graph->markDelete(static_cast<hnswlib::labeltype>(key));
      ++forgotten_since_save;
    } catch (const std::exception&) {
      // Not indexed yet, or already forgotten: nothing to drop.
    }
  }

  void Fresh() {
    graph = std::make_unique<Graph>(space.get(), kInitialCapacity, kGraphM, kEfConstruction);
    watermark = 0;
  }

  // Loads `name` only after its checksum, header and links check out.
  Status Load(const SnapshotName& name) {
    const std::string path = dir + "/" + name.Format();
    auto sum = ChecksumFile(path);
    if (!sum.ok()) return sum.status();
    if (*sum != name.checksum) return Status::StorageError("checksum mismatch");
    size_t count = 0;
    VMLLM_RETURN_IF_ERROR(CheckSnapshotHeader(path, embedder->Dimension(), &count));
    std::unique_ptr<Graph> loaded;
    try {
      // Capacity from the element count, not from the header: AddBatch grows it as needed.
      loaded = std::make_unique<Graph>(space.get(), path, false,
                                       std::max(count, kInitialCapacity));
    } catch (const std::exception& e) {
      return Status::StorageError(e.what());
    }
    VMLLM_RETURN_IF_ERROR(CheckGraph(*loaded));
    // hnswlib 0.6's loading constructor counts deletions on top of an uninitialised counter.
    size_t deleted = 0;
    for (hnswlib::tableint i = 0; i < loaded->cur_element_count; ++i) {
      deleted += loaded->isMarkedDeleted(i) ? 1 : 0;
    }
    loaded->num_deleted_ = deleted;
    graph = std::move(loaded);
    watermark = saved_watermark = name.watermark;
    return Status();
  }

  // Loads the newest intact snapshot of this store and embedder. Removes what can never be
  // used: snapshots of another store (or of the old name format), damaged ones (with a
  // warning: the index is rebuilt from the store), superseded ones, and temporary files whose
  // writer died.
  void LoadNewest() {
    std::vector<SnapshotName> mine;
    for (const auto& file : ListDir(dir)) {
      SnapshotName name;
      if (name.Parse(file)) {
        if (name.store_id != store_id) {
          ::unlink((dir + "/" + file).c_str());
        } else if (name.embedder_hash == embedder_hash) {
          mine.push_back(name);
        }
      } else if (file.compare(0, 6, "index-") == 0 && file.size() > 5 &&
                 file.compare(file.size() - 5, 5, ".hnsw") == 0) {
        ::unlink((dir + "/" + file).c_str());  // Made before snapshots named their store.
      } else if (IsAbandonedTempFile(file)) {
        ::unlink((dir + "/" + file).c_str());
      }
    }
    std::sort(mine.begin(), mine.end(), [](const SnapshotName& a, const SnapshotName& b) {
      return a.watermark > b.watermark;
    });
    for (const SnapshotName& name : mine) {
      Status loaded = Load(name);
      if (loaded.ok()) return;
      PostBackendWarning("vector snapshot '" + dir + "/" + name.Format() + "' is damaged (" +
                         loaded.message() + "); it is removed and the index is rebuilt from "
                         "the store");
      ::unlink((dir + "/" + name.Format()).c_str());
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
    // Never resize to 0: hnswlib's realloc(p, 0) frees p and then throws, and its destructor
    // frees p again.
    size_t capacity = std::max(graph->max_elements_, kInitialCapacity);
    while (graph->cur_element_count + keys.size() > capacity) capacity *= 2;
    if (capacity != graph->max_elements_) graph->resizeIndex(capacity);
    for (size_t i = 0; i < keys.size(); ++i) {
      graph->addPoint(vectors.data() + i * dim, static_cast<hnswlib::labeltype>(keys[i]));
    }
    return Status();
  }
};

VectorIndex::VectorIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VectorIndex::~VectorIndex() = default;

Result<std::unique_ptr<VectorIndex>> VectorIndex::Open(const std::string& store_dir,
                                                       const std::string& store_id,
                                                       const Embedder* embedder) {
  auto impl = std::make_unique<Impl>(embedder, store_dir + "/vectors", store_id);
  if (::mkdir(impl->dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::StorageError("cannot create '" + impl->dir + "': " + std::strerror(errno));
  }
  // An embedder that must still learn its dimension (from a server) loads at first use.
  if (embedder->Dimension() > 0) VMLLM_RETURN_IF_ERROR(impl->Ready());
  return std::unique_ptr<VectorIndex>(new VectorIndex(std::move(impl)));
}

Status VectorIndex::CatchUp(DiskStore* store) {
  auto max_key = store->MaxKey();
  if (!max_key.ok()) return max_key.status();
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (*max_key <= impl_->watermark) return Status();
  VMLLM_RETURN_IF_ERROR(impl_->Ready());
  if (*max_key <= impl_->watermark) return Status();  // The snapshot just loaded covers it.
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

Result<std::vector<std::pair<PageKey, double>>> VectorIndex::Search(
    std::string_view query, size_t k, const std::function<bool(PageKey)>& keep) {
  std::vector<std::pair<PageKey, double>> hits;
  if (k == 0) return hits;
  VMLLM_RETURN_IF_ERROR(impl_->embedder->Prepare());
  std::vector<float> q(impl_->embedder->Dimension());
  VMLLM_RETURN_IF_ERROR(impl_->embedder->EmbedBatch({query}, q.data()));
  std::lock_guard<std::mutex> lock(impl_->mu);
  VMLLM_RETURN_IF_ERROR(impl_->Ready());
  const size_t live = impl_->graph->cur_element_count;
  if (live == 0) return hits;
  try {
    // hnswlib 0.6 has no search-time filter: widen the search (4x per round) until enough
    // kept keys come back, so a small space in a big store still gets its k best.
    for (size_t want = std::min(k, live);; want = std::min(live, want * 4)) {
      // hnswlib's ef is shared state; a search-time ef wide enough for `want` keeps recall high.
      impl_->graph->setEf(std::max<size_t>(64, 2 * want));
      auto heap = impl_->graph->searchKnn(q.data(), want);
      std::vector<std::pair<PageKey, double>> found(heap.size());
      for (size_t i = heap.size(); i-- > 0;) {
        found[i] = {static_cast<PageKey>(heap.top().second), 1.0 - heap.top().first};
        heap.pop();
      }
      hits.clear();
      for (const auto& hit : found) {
        if (!keep || keep(hit.first)) hits.push_back(hit);
        if (hits.size() == k) break;
      }
      if (hits.size() == k || want >= live || found.size() < want) break;
    }
  } catch (const std::exception& e) {
    return Status::StorageError(std::string("vector search: ") + e.what());
  }
  return hits;
}

void VectorIndex::Forget(PageKey key) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->graph) {
    impl_->ForgetLoaded(key);
  } else {
    impl_->pending_forgets.push_back(key);
  }
}

void VectorIndex::Retain(const std::function<bool(PageKey)>& live) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->graph) {
    impl_->RetainLoaded(live);
  } else {
    impl_->pending_retain = live;  // Applied to the snapshot once it loads.
  }
}

Status VectorIndex::Save() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->graph) return Status();  // Never loaded: nothing new to save.
  if (impl_->watermark == impl_->saved_watermark && impl_->forgotten_since_save == 0) {
    return Status();
  }
  static std::atomic<uint64_t> counter{0};
  std::string tmp = impl_->dir + "/tmp-" + std::to_string(::getpid()) + "-" +
                    std::to_string(counter++) + ".part";
  try {
    impl_->graph->saveIndex(tmp);
  } catch (const std::exception& e) {
    ::unlink(tmp.c_str());
    return Status::StorageError(std::string("vector snapshot: ") + e.what());
  }
  auto checksum = ChecksumFile(tmp);
  if (!checksum.ok()) {
    ::unlink(tmp.c_str());
    return checksum.status();
  }
  SnapshotName name{impl_->embedder_hash, impl_->store_id, impl_->watermark, *checksum};
  const std::string final_name = name.Format();
  if (::rename(tmp.c_str(), (impl_->dir + "/" + final_name).c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::StorageError("vector snapshot rename: " + std::string(std::strerror(errno)));
  }
  impl_->saved_watermark = impl_->watermark;
  impl_->forgotten_since_save = 0;
  // Older snapshots of this store and embedder are superseded.
  for (const auto& file : ListDir(impl_->dir)) {
    SnapshotName other;
    if (other.Parse(file) && file != final_name && other.store_id == impl_->store_id &&
        other.embedder_hash == impl_->embedder_hash && other.watermark <= impl_->watermark) {
      ::unlink((impl_->dir + "/" + file).c_str());
    }
  }
  return Status();
}

size_t VectorIndex::size() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->graph) return 0;
  return impl_->graph->cur_element_count - impl_->graph->num_deleted_;
}

PageKey VectorIndex::watermark() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->watermark;
}

}  // namespace vmllm
