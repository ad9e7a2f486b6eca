// Page-table micro-benchmarks: lookup, touch and tier update on the in-memory PageTable at 10k
// and 1M entries, the same operations through a Pager (with its lock and L1), and the memory one
// entry costs at 1M pages (counter "bytes_per_entry", measured with mallinfo2).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "store/page_table.h"
#include "testing/temp_dir.h"
#include "vmllm/pager.h"

namespace vmllm {
namespace {

PageRecord Record(int64_t i) {
  PageRecord r;
  r.key = i + 1;
  r.doc_id = "stdlib/module_" + std::to_string(i / 16) + ".py";
  r.chunk_index = static_cast<uint32_t>(i % 16);
  r.page_id = MakePageId(r.doc_id, r.chunk_index);
  r.tokens = 500;
  r.bytes = 2000;
  r.created = r.last_accessed = 1.7e9;
  return r;
}

std::vector<std::string> Fill(PageTable* table, int64_t n) {
  std::vector<std::string> ids;
  ids.reserve(n);
  for (int64_t i = 0; i < n; ++i) ids.push_back(table->Insert(Record(i))->page_id);
  return ids;
}

// Ids visited in a random order, so lookups miss the cache as a real workload would.
std::vector<const std::string*> Shuffled(const std::vector<std::string>& ids) {
  std::vector<const std::string*> order;
  for (const auto& id : ids) order.push_back(&id);
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  return order;
}

void BM_PageTableLookup(benchmark::State& state) {
  PageTable table;
  auto ids = Fill(&table, state.range(0));
  auto order = Shuffled(ids);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.Find(*order[i++ % order.size()]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PageTableLookup)->Arg(10000)->Arg(1000000);

void BM_PageTableTouch(benchmark::State& state) {
  PageTable table;
  auto ids = Fill(&table, state.range(0));
  auto order = Shuffled(ids);
  size_t i = 0;
  double now = 1.7e9;
  for (auto _ : state) {
    table.Touch(table.Find(*order[i++ % order.size()]), now += 0.001);
    if (table.dirty_count() > 4096) table.TakeDirty();  // As the pager's write-behind does.
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PageTableTouch)->Arg(10000)->Arg(1000000);

void BM_PageTableUpdateTier(benchmark::State& state) {
  PageTable table;
  auto ids = Fill(&table, state.range(0));
  auto order = Shuffled(ids);
  size_t i = 0;
  for (auto _ : state) {
    PageInfo* page = table.Find(*order[i++ % order.size()]);
    table.SetTier(page, page->tier == TierId::kL4 ? TierId::kL3 : TierId::kL4);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PageTableUpdateTier)->Arg(10000)->Arg(1000000);

// Heap bytes per entry: everything Insert allocates (the entry, its strings, both hash maps).
void BM_PageTableMemoryPerEntry(benchmark::State& state) {
  const int64_t n = state.range(0);
  double per_entry = 0;
  for (auto _ : state) {
    malloc_trim(0);
    const size_t before = mallinfo2().uordblks;
    auto* table = new PageTable;
    Fill(table, n);
    const size_t after = mallinfo2().uordblks;
    per_entry = static_cast<double>(after - before) / n;
    delete table;
  }
  state.counters["bytes_per_entry"] = per_entry;
}
BENCHMARK(BM_PageTableMemoryPerEntry)->Arg(1000000)->Iterations(1)->Unit(benchmark::kMillisecond);

// Through the Pager: GetPageInfo (lookup, copies the entry out) and RequestPage on a resident
// page (an L1 hit: lock, lookup, policy update, touch).
struct PagerFixture {
  TempDir dir;
  std::unique_ptr<Pager> pager;
  std::vector<std::string> ids;
  PagerFixture() {
    PagerOptions o;
    o.path = dir.path();
    o.l1_tokens = 100000;
    o.page_tokens = 50;
    pager = std::move(Pager::Open(std::move(o))).value();
    std::string text;
    for (int i = 0; i < 2000; ++i) {
      text += "Paragraph " + std::to_string(i) + " of the benchmark document.\n\n";
    }
    ids = std::move(pager->Ingest("bench", text)).value();
    for (const auto& id : ids) (void)pager->RequestPage(id, true);
  }
};

void BM_PagerGetPageInfo(benchmark::State& state) {
  PagerFixture f;
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(f.pager->GetPageInfo(f.ids[i++ % f.ids.size()]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PagerGetPageInfo);

void BM_PagerTouchResident(benchmark::State& state) {
  PagerFixture f;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.pager->RequestPage(f.ids[i++ % f.ids.size()], false));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PagerTouchResident);

void BM_PagerUnpin(benchmark::State& state) {
  PagerFixture f;
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(f.pager->Unpin(f.ids[i++ % f.ids.size()]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PagerUnpin);

}  // namespace
}  // namespace vmllm

BENCHMARK_MAIN();
