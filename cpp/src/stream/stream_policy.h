// StreamPolicy: the state and decisions of message-stream paging, free of any wire format.
//
// Given a Conversation (the whole history an agent sent), Plan() decides which tool results
// become stubs, which schemas are stubbed, which faults happened and which compactions apply,
// and returns them as Edits. It remembers across requests what it stubbed, what faulted, what
// is pinned and each page's provenance, so a later request with a longer history gets the same
// stubs for the same results. It keeps no page text: the pages new in a plan are handed out by
// NewPages for the engine to store, and the whole state saves to (and loads from) JSON, so a
// session lives in the store and survives a restart. StreamSession wraps it for the proxy;
// replay drives it directly.
//
// Thread safety: none; StreamSession serialises calls.
#ifndef VMLLM_STREAM_STREAM_POLICY_H_
#define VMLLM_STREAM_STREAM_POLICY_H_

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/message.h"
#include "engine/fault_monitor.h"
#include "stream/schema_policy.h"
#include "vmllm/stream.h"

namespace vmllm {

// A page's provenance, for its stub.
struct StreamPageMeta {
  std::string tool;
  std::string key;  // Short human key: a path, a query, a command.
  size_t bytes = 0;
  size_t lines = 0;
};

// The stub that replaces page `page_id` with provenance `meta`.
std::string MakeStub(const std::string& page_id, const StreamPageMeta& meta);
size_t CountLines(const std::string& text);

class StreamPolicy {
 public:
  explicit StreamPolicy(StreamConfig config)
      : cfg_(std::move(config)),
        monitor_(FaultMonitorOptions{cfg_.thrash_window_turns, cfg_.thrash_faults,
                                     cfg_.thrash_growth}) {}

  // Decides the edits for `conv` and updates the session state and counters.
  Edits Plan(const Conversation& conv, RewriteReport* report);

  // Pages (id, text) first seen by the last Plan.
  const std::vector<std::pair<std::string, std::string>>& NewPages() const { return new_pages_; }
  bool HasPage(const std::string& id) const { return meta_.count(id) > 0; }

  // Changes whenever a decision the state holds changes (a page, stub, pin, release, recall,
  // compaction, schema stub); counters aside. Equal fingerprints: the same stubs on replay.
  uint64_t DecisionFingerprint() const;

  // The whole state as JSON, and back (stream_state.cc). LoadState replaces every part of the
  // state; InvalidArgument (state unchanged) for JSON that is not a saved state.
  std::string SaveState() const;
  Status LoadState(std::string_view json);

  // The results the session serves for memory-tool calls in an upstream response.
  std::vector<std::pair<std::string, std::string>> ServeMemoryCalls(
      const std::vector<ToolCall>& calls);

  bool IsPinned(const std::string& tool, const std::string& canonical_args) const;
  const StreamStats& stats() const { return stats_; }
  StreamStats* mutable_stats() { return &stats_; }
  const StreamConfig& config() const { return cfg_; }
  // The pin that keeps every result of the tool of call key `key` (set while thrashing), and
  // the number of pins that are of one key rather than a whole tool.
  static std::string ToolPin(const std::string& key);
  static size_t CountKeyPins(const std::map<std::string, std::string>& pinned);
  // The highest working-set growth step the fault monitor reached (τ × growth^level).
  int max_growth_level() const { return max_growth_level_; }
  // The stub that replaces a page; a function of the page and its call only.
  std::string Stub(const std::string& page_id) const;

 private:
  struct CallInfo {
    std::string name, args, key;
  };
  struct Compaction {
    long from = 0, to = 0;
    std::string summary;
  };
  void Recall(const std::vector<std::string>& ids);
  void Release(const std::vector<std::string>& ids);
  std::string Confirm(const ToolCall& call) const;
  // Registers a page seen for the first time: its provenance, and its text in NewPages.
  void AddPage(const std::string& id, const std::string& text, StreamPageMeta meta);
  // A re-issued call whose earlier result was paged out: pin it, and tell the fault monitor.
  void Fault(const std::string& key, const std::string& page, long turn);

  StreamConfig cfg_;
  StreamStats stats_;
  std::unordered_map<std::string, StreamPageMeta> meta_;  // Every page the session has seen.
  std::vector<std::pair<std::string, std::string>> new_pages_;
  std::unordered_map<std::string, std::string> page_call_key_;  // Page id -> call key.
  std::set<std::string> stubbed_;   // Result occurrences stubbed on some earlier request.
  std::set<std::string> restored_;  // Pages recalled: shown in full wherever they occur.
  std::set<std::string> released_;  // Pages the model let go.
  std::map<std::string, std::string> pinned_;  // Call key -> page id pinned for it.
  std::set<std::string> seen_;      // Calls and results whose effects were already counted.
  std::vector<Compaction> compactions_;
  std::set<std::string> prev_stubbed_tools_;
  SchemaState schemas_;
  bool first_request_ = true;
  FaultMonitor monitor_;
  int max_growth_level_ = 0;
};

}  // namespace vmllm

#endif  // VMLLM_STREAM_STREAM_POLICY_H_
