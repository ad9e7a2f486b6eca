// Snapshot: the hand-off record one agent gives another — task state plus pointers to pages,
// never their text. This file and snapshot.cc are the only engine code that touches JSON.
#ifndef VMLLM_ENGINE_SNAPSHOT_H_
#define VMLLM_ENGINE_SNAPSHOT_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vmllm/status.h"

namespace vmllm {

struct Snapshot {
  std::string snapshot_id;
  double created_at = 0;
  std::string task_state_json = "{}";  // Any JSON value, kept as text.
  std::vector<std::string> active_page_ids;
  std::vector<std::string> summary_page_ids;  // Active pages the sender held as summaries.
  std::vector<std::string> swap_page_ids;
  std::map<std::string, std::string> compressed_summaries;
};

// InvalidArgument when `json` is not valid JSON or exceeds kMaxTaskStateBytes or kMaxJsonDepth
// (vmllm/json_limits.h).
Status ValidateJson(std::string_view json);
std::string SnapshotToJson(const Snapshot& snapshot);
// InvalidArgument when `json` is malformed, lacks the snapshot's fields, exceeds kMaxHandOffBytes
// or kMaxHandOffDepth, or holds a task state over kMaxTaskStateBytes.
Result<Snapshot> SnapshotFromJson(std::string_view json);
// A random 128-bit id in UUID text form.
std::string NewSnapshotId();

}  // namespace vmllm

#endif  // VMLLM_ENGINE_SNAPSHOT_H_
