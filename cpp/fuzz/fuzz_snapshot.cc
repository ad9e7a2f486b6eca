// Fuzzes the hand-off snapshot parser (engine/snapshot.h): any bytes either parse or give
// InvalidArgument, never a crash or an escaping exception; a snapshot that parses survives
// SnapshotToJson -> SnapshotFromJson unchanged.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "engine/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = vmllm::SnapshotFromJson(text);
  if (!parsed.ok()) {
    if (parsed.status().code() != vmllm::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  auto again = vmllm::SnapshotFromJson(vmllm::SnapshotToJson(*parsed));
  if (!again.ok()) {
    std::fprintf(stderr, "round trip failed: %s\n", again.status().ToString().c_str());
    std::abort();
  }
  const vmllm::Snapshot& a = *parsed;
  const vmllm::Snapshot& b = *again;
  if (a.active_page_ids != b.active_page_ids || a.summary_page_ids != b.summary_page_ids ||
      a.swap_page_ids != b.swap_page_ids || a.compressed_summaries != b.compressed_summaries ||
      a.snapshot_id != b.snapshot_id || a.task_state_json != b.task_state_json) {
    std::fprintf(stderr, "round trip changed the snapshot\n");
    std::abort();
  }
  return 0;
}
