#include "store/disk_tiers.h"

namespace vmllm {
namespace {

class SwapTier : public Tier {
 public:
  explicit SwapTier(DiskStore* store) : store_(store) {}
  TierId id() const override { return TierId::kL3; }
  Status Put(PageKey key, std::string_view text) override { return store_->SwapPut(key, text); }
  Result<std::string> Get(PageKey key) override { return store_->SwapGet(key); }
  Status Erase(PageKey key) override { return store_->SwapErase(key); }
  Result<bool> Contains(PageKey key) override { return store_->SwapContains(key); }
  TierUsage Usage() const override {
    auto u = store_->SwapUsage();
    return u.ok() ? TierUsage{u->pages, u->bytes} : TierUsage{};
  }

 private:
  DiskStore* store_;
};

class DiskTier : public Tier {
 public:
  explicit DiskTier(DiskStore* store) : store_(store) {}
  TierId id() const override { return TierId::kL4; }
  Status Put(PageKey key, std::string_view text) override {
    return Status::InvalidArgument("L4 is written by ingest only");
  }
  Result<std::string> Get(PageKey key) override { return store_->ReadText(key); }
  Status Erase(PageKey key) override {
    return Status::InvalidArgument("L4 pages are removed by re-ingesting their document");
  }
  Result<bool> Contains(PageKey key) override {
    auto text = store_->ReadText(key);
    if (text.ok()) return true;
    if (text.status().code() == StatusCode::kNotFound) return false;
    return text.status();
  }
  TierUsage Usage() const override { return TierUsage{}; }  // The pager knows it from the table.

 private:
  DiskStore* store_;
};

}  // namespace

std::unique_ptr<Tier> NewSwapTier(DiskStore* store) { return std::make_unique<SwapTier>(store); }
std::unique_ptr<Tier> NewDiskTier(DiskStore* store) { return std::make_unique<DiskTier>(store); }

}  // namespace vmllm
