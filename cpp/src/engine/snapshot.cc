#include "engine/snapshot.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "vmllm/json_limits.h"

namespace vmllm {

using nlohmann::json;

Status ValidateJson(std::string_view text) {
  VMLLM_RETURN_IF_ERROR(CheckJsonLimits(text, "task state", kMaxTaskStateBytes));
  if (!json::accept(text.begin(), text.end())) {
    return Status::InvalidArgument("task state is not valid JSON");
  }
  return Status();
}

std::string SnapshotToJson(const Snapshot& s) {
  json j;
  j["format"] = "vmllm.snapshot/1";
  j["snapshot_id"] = s.snapshot_id;
  j["created_at"] = s.created_at;
  j["task_state"] = json::parse(s.task_state_json);
  j["active_page_ids"] = s.active_page_ids;
  j["summary_page_ids"] = s.summary_page_ids;
  j["swap_page_ids"] = s.swap_page_ids;
  j["compressed_summaries"] = s.compressed_summaries;
  j["metadata"] = json::object();
  // Replace, not throw, on bytes that are not UTF-8: ids and summaries were validated on the way
  // in, so this only guards against a future caller.
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

Result<Snapshot> SnapshotFromJson(std::string_view text) {
  // Before parsing: nlohmann recurses once per level.
  VMLLM_RETURN_IF_ERROR(
      CheckJsonLimits(text, "hand-off snapshot", kMaxHandOffBytes, kMaxHandOffDepth));
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("hand-off snapshot is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("hand-off snapshot is not a JSON object");
  Snapshot s;
  try {
    if (!j.contains("active_page_ids") || !j["active_page_ids"].is_array()) {
      return Status::InvalidArgument("hand-off snapshot lacks the list 'active_page_ids'");
    }
    s.active_page_ids = j["active_page_ids"].get<std::vector<std::string>>();
    if (j.contains("summary_page_ids")) {
      s.summary_page_ids = j["summary_page_ids"].get<std::vector<std::string>>();
    }
    if (j.contains("swap_page_ids")) {
      s.swap_page_ids = j["swap_page_ids"].get<std::vector<std::string>>();
    }
    if (j.contains("compressed_summaries")) {
      s.compressed_summaries =
          j["compressed_summaries"].get<std::map<std::string, std::string>>();
    }
    s.snapshot_id = j.value("snapshot_id", std::string());
    s.created_at = j.value("created_at", 0.0);
    s.task_state_json = j.contains("task_state") ? j["task_state"].dump() : "{}";
    // Its depth is within kMaxJsonDepth (the snapshot's, less the envelope); its size is not.
    if (s.task_state_json.size() > kMaxTaskStateBytes) {
      return CheckJsonLimits(s.task_state_json, "the snapshot's task state", kMaxTaskStateBytes);
    }
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("hand-off snapshot has a field of the wrong type: ") +
                                   e.what());
  }
  return s;
}

std::string NewSnapshotId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buf;
}

}  // namespace vmllm
