// The paging policy for message streams. See stream_policy.h and vmllm/stream.h.
//
// Cache-aware batching, the cost model, is in cache_gate.h.
#include "stream/stream_policy.h"

#include <algorithm>
#include <climits>

#include "chat/arguments.h"
#include "chat/tool_registry.h"
#include "stream/cache_gate.h"
#include "stream/supersession.h"
#include "util/hash.h"

namespace vmllm {
namespace {

std::string WithCommas(size_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

size_t CountLines(const std::string& text) {
  if (text.empty()) return 0;
  size_t n = std::count(text.begin(), text.end(), '\n');
  return text.back() == '\n' ? n : n + 1;
}

// Short (about 42 tokens against 77 before issue 13): the recall tool's schema says how to
// call it, so the stub names the page once and carries only what tells the model whether it
// needs the page back: which call made it, and how big it is.
std::string MakeStub(const std::string& page_id, const StreamPageMeta& m) {
  return "[vmllm: paged out " + page_id + ": " + m.tool + " " + m.key + ", " +
         WithCommas(m.bytes) + " bytes. vmllm_recall brings it back.]";
}

namespace {

// "p-" + the 16 hex digits of a content hash.
std::string PageIdOfHash(uint64_t h) {
  static const char kHex[] = "0123456789abcdef";
  std::string id = "p-";
  for (int shift = 60; shift >= 0; shift -= 4) id += kHex[(h >> shift) & 0xf];
  return id;
}

}  // namespace

std::string StreamPageId(const std::string& content) { return PageIdOfHash(Fnv1a64(content)); }

void StreamPolicy::AddPage(const std::string& id, const std::string& text, StreamPageMeta meta) {
  if (meta_.count(id)) return;
  meta_.emplace(id, std::move(meta));
  new_pages_.emplace_back(id, text);
}

bool StreamPolicy::IsPinned(const std::string& tool, const std::string& canonical_args) const {
  return pinned_.count(tool + '\x1f' + canonical_args) > 0;
}

std::string StreamPolicy::Stub(const std::string& page_id) const {
  return MakeStub(page_id, meta_.at(page_id));
}

void StreamPolicy::Recall(const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    if (!meta_.count(id)) continue;
    restored_.insert(id);
    released_.erase(id);
    ++stats_.faults;
    ++stats_.recall_faults;
    auto key = page_call_key_.find(id);
    if (key != page_call_key_.end()) pinned_[key->second] = id;
  }
}

void StreamPolicy::Release(const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    if (!meta_.count(id)) continue;
    released_.insert(id);
    restored_.erase(id);
    auto key = page_call_key_.find(id);
    if (key != page_call_key_.end() && pinned_.count(key->second) &&
        pinned_[key->second] == id) {
      pinned_.erase(key->second);
    }
    ++stats_.releases;
  }
}

size_t StreamPolicy::CountKeyPins(const std::map<std::string, std::string>& pinned) {
  return std::count_if(pinned.begin(), pinned.end(),
                       [](const auto& pin) { return pin.second != "*"; });
}

std::string StreamPolicy::ToolPin(const std::string& key) {
  return key.substr(0, key.find('\x1f')) + "\x1f*";
}

void StreamPolicy::Fault(const std::string& key, const std::string& page, long turn) {
  ++stats_.faults;
  ++stats_.reissue_faults;
  pinned_[key] = page;
  // Thrashing: the tool's later results stay too (the model re-reads by kind, not by key).
  if (monitor_.OnFault(turn)) pinned_[ToolPin(key)] = "*";
  max_growth_level_ = std::max(max_growth_level_, monitor_.level());
}

std::string StreamPolicy::Confirm(const ToolCall& call) const {
  if (call.name == kStreamRecallTool) {
    std::string out = "[vmllm: restored in full where they were:";
    for (const std::string& id : StringListArgument(call.arguments, "page_ids")) {
      out += " " + id + (meta_.count(id) ? "" : " (unknown)");
    }
    return out + "]";
  }
  if (call.name == kStreamReleaseTool) return "[vmllm: released; recallable by page id]";
  return "[vmllm: compacted turns " + std::to_string(IntArgument(call.arguments, "from_turn", 0)) +
         "-" + std::to_string(IntArgument(call.arguments, "to_turn", 0)) + "]";
}

std::vector<std::pair<std::string, std::string>> StreamPolicy::ServeMemoryCalls(
    const std::vector<ToolCall>& calls) {
  std::vector<std::pair<std::string, std::string>> results;
  for (const ToolCall& call : calls) {
    if (!IsStreamMemoryTool(call.name)) return {};  // The client must see this response.
  }
  for (const ToolCall& call : calls) results.emplace_back(call.id, Confirm(call));
  return results;
}

Edits StreamPolicy::Plan(const Conversation& conv, RewriteReport* report) {
  Edits edits;
  RewriteReport local;
  RewriteReport& rep = report ? *report : local;
  ++stats_.requests;
  new_pages_.clear();

  // Turns, and which call each result answers.
  std::vector<long> turn_of(conv.msgs.size(), 0);
  std::vector<size_t> turn_start;  // Wire message where turn t+1 starts.
  long turn = 0;
  std::unordered_map<std::string, CallInfo> calls;
  size_t total_bytes = conv.system.size();
  for (const ToolSchema& t : conv.tools) total_bytes += t.json_bytes;
  for (size_t i = 0; i < conv.msgs.size(); ++i) {
    const Msg& m = conv.msgs[i];
    total_bytes += m.text.size() + m.call_bytes;
    const bool starts_turn = cfg_.count_user_messages_only ? m.kind == Msg::kUser
                                                           : m.kind == Msg::kAssistant;
    if (starts_turn) {
      ++turn;
      turn_start.push_back(m.wire_message);
    }
    turn_of[i] = turn;
    for (const ToolCall& c : m.calls) {
      auto [canonical, key] = CanonicalArguments(c.arguments);
      calls[c.id] = CallInfo{c.name, canonical, key};
    }
  }
  const long current = turn;
  stats_.turns = current;
  // Results the conversation made obsolete may go below τ, and re-reading them is no fault.
  const std::vector<size_t> superseded = SupersededAt(conv);
  monitor_.OnTurn(current);
  const double tau = cfg_.tau_turns * monitor_.scale();  // Grown while the session thrashes.

  // Pressure, from the request as received.
  const double fraction = cfg_.window_tokens == 0
                              ? 0.0
                              : (total_bytes / 4.0) / static_cast<double>(cfg_.window_tokens);
  int level = 0;
  if (cfg_.window_tokens > 0) {
    if (fraction >= cfg_.aggressive) level = 3;
    else if (fraction >= cfg_.involuntary) level = 2;
    else if (fraction >= cfg_.advisory) level = 1;
  }
  static const char* kLevels[] = {"none", "advisory", "involuntary", "aggressive"};
  stats_.pressure = kLevels[level];

  size_t changed = SIZE_MAX;
  const size_t faults_before = stats_.faults;
  std::unordered_map<std::string, std::string> last_result;  // Call key -> occurrence.
  std::unordered_map<std::string, size_t> last_result_msg;  // Call key -> its message.
  std::unordered_map<std::string, int> result_id_uses;     // Call id -> results so far.
  std::unordered_map<std::string, std::string> occurrence_page;
  struct Candidate {
    size_t index;
    std::string occurrence, page;
  };
  std::vector<Candidate> candidates;
  bool forced = false;  // A release forces its pages out regardless of the cache gate.

  // Every tool result is a page, registered before any memory call refers to it.
  std::vector<std::string> page_of(conv.msgs.size());
  for (size_t i = 0; i < conv.msgs.size(); ++i) {
    const Msg& m = conv.msgs[i];
    if (m.kind != Msg::kToolResult) continue;
    auto call_it = calls.find(m.tool_call_id);
    const CallInfo info = call_it != calls.end() ? call_it->second : CallInfo{"tool", "{}", "?"};
    if (IsStreamMemoryTool(info.name)) continue;
    page_of[i] = m.text_hashed ? PageIdOfHash(m.text_hash) : StreamPageId(m.text);
    if (!meta_.count(page_of[i])) {
      AddPage(page_of[i], m.text,
              StreamPageMeta{info.name, info.key, m.text.size(), CountLines(m.text)});
      page_call_key_[page_of[i]] = info.name + '\x1f' + info.args;
    }
  }

  // Memory-tool calls first: a recall restores pages wherever they occur, even earlier.
  for (const Msg& m : conv.msgs) {
    for (size_t c = 0; c < m.calls.size(); ++c) {
      const ToolCall& call = m.calls[c];
      if (!IsStreamMemoryTool(call.name)) continue;
      const std::string occ =
          call.id.empty() ? "c" + std::to_string(m.wire_message) + ":" + std::to_string(c) : call.id;
      if (!seen_.insert("call:" + occ).second) continue;
      if (call.name == kStreamRecallTool) {
        const size_t before = restored_.size();
        Recall(StringListArgument(call.arguments, "page_ids"));
        if (restored_.size() != before) changed = 0;  // Conservative: restorations move bytes.
      } else if (call.name == kStreamReleaseTool) {
        Release(StringListArgument(call.arguments, "page_ids"));
      } else if (call.name == kStreamCompactTool) {
        compactions_.push_back({IntArgument(call.arguments, "from_turn", 0),
                                IntArgument(call.arguments, "to_turn", 0),
                                StringArgument(call.arguments, "summary")});
        ++stats_.compactions;
      }
    }
  }

  for (size_t i = 0; i < conv.msgs.size(); ++i) {
    const Msg& m = conv.msgs[i];
    for (size_t c = 0; c < m.calls.size(); ++c) {
      const ToolCall& call = m.calls[c];
      const std::string occ =
          call.id.empty() ? "c" + std::to_string(m.wire_message) + ":" + std::to_string(c) : call.id;
      if (IsStreamMemoryTool(call.name) || !seen_.insert("call:" + occ).second) continue;
      {
        const CallInfo& info = calls[call.id];
        const std::string key = info.name + '\x1f' + info.args;
        auto prev = last_result.find(key);
        if (prev != last_result.end() && stubbed_.count(prev->second) &&
            !restored_.count(occurrence_page[prev->second]) &&
            superseded[last_result_msg[key]] >= i &&  // Stale by an edit: a read, no fault.
            !IsMutatingCall(info.name)) {              // A retry, not a re-read.
          Fault(key, occurrence_page[prev->second], turn_of[i]);
        }
      }
    }
    if (m.kind != Msg::kToolResult) continue;

    auto call_it = calls.find(m.tool_call_id);
    const CallInfo info = call_it != calls.end() ? call_it->second : CallInfo{"tool", "{}", "?"};
    if (IsStreamMemoryTool(info.name)) {
      edits.result_text[i] = Confirm(ToolCall{m.tool_call_id, info.name, info.args});
      continue;
    }
    // Some agents reuse call ids; a reused id's later results are occurrences of their own.
    const int reuse = m.tool_call_id.empty() ? 0 : result_id_uses[m.tool_call_id]++;
    const std::string occ = m.tool_call_id.empty() ? "r" + std::to_string(m.wire_message) + ":" +
                                                         std::to_string(i)
                            : reuse == 0 ? m.tool_call_id
                                         : m.tool_call_id + "#" + std::to_string(reuse);
    const std::string& page = page_of[i];
    const std::string key = info.name + '\x1f' + info.args;
    occurrence_page[occ] = page;
    if (seen_.insert("result:" + occ).second) {
      auto pin = pinned_.find(key);
      if (pin != pinned_.end() && pin->second != page) {  // Fresh content: the pin is stale.
        pinned_.erase(pin);
        ++stats_.unpins;
      }
    }
    last_result[key] = occ;
    last_result_msg[key] = i;

    const bool restored = restored_.count(page) > 0;
    if (stubbed_.count(occ) && !restored) {
      edits.result_text[i] = Stub(page);
      ++rep.stubbed_results;
      continue;
    }
    const long age = current - turn_of[i];
    auto pin = pinned_.find(key);
    const bool obsolete = superseded[i] != kNeverSuperseded;
    const bool key_pinned = pin != pinned_.end() && pin->second == page;
    const bool pinned = (key_pinned || pinned_.count(ToolPin(key))) && !obsolete;
    if (m.is_error || age < 1 || pinned || restored || m.text.size() <= cfg_.min_evict_bytes) {
      continue;
    }
    const bool released = released_.count(page) > 0;
    if (released || obsolete || age >= tau || level >= 3) {
      candidates.push_back({i, occ, page});
      forced = forced || released;
    }
  }

  // The cache gate (cache_gate.h): only the suffix of the batch worth its rewrite goes now.
  if (!candidates.empty() && cfg_.cache_aware && !forced && level < 2) {
    std::vector<GateCandidate> gate;
    for (const Candidate& c : candidates) {
      gate.push_back({conv.msgs[c.index].wire_message,
                      static_cast<double>(conv.msgs[c.index].text.size()) - Stub(c.page).size()});
    }
    const size_t first = FirstWorthEvicting(conv, gate, cfg_, current, changed);
    if (first > 0) ++stats_.deferred_by_cache;
    candidates.erase(candidates.begin(), candidates.begin() + first);
  }
  for (const Candidate& c : candidates) {
    stubbed_.insert(c.occurrence);
    edits.result_text[c.index] = Stub(c.page);
    ++stats_.evictions;
    ++rep.new_evictions;
    ++rep.stubbed_results;
    changed = std::min(changed, conv.msgs[c.index].wire_message);
  }

  // Tool schemas: pages too; stubbed and offered by the schema rules (schema_policy.h).
  for (const ToolSchema& schema : conv.tools) {
    AddPage(StreamPageId(schema.json), schema.json,
            StreamPageMeta{"tool schema", schema.name, schema.json.size(), 1});
  }
  const SchemaPlan schemas = PlanSchemas(cfg_, conv, turn_of, current, level, &schemas_, &edits);
  rep.stubbed_schemas = schemas.stubbed.size();
  stats_.schema_stubs = schemas.stubbed.size();
  // The tools array leads the cached prefix: a different one re-writes all of it.
  if (!first_request_ && (schemas.stubbed != prev_stubbed_tools_ || schemas.offered_more)) {
    changed = 0;
  }
  prev_stubbed_tools_ = schemas.stubbed;

  // Compactions the model asked for: whole turns, never the newest.
  size_t folded_until = 0;
  std::vector<Compaction> ordered = compactions_;
  std::sort(ordered.begin(), ordered.end(),
            [](const Compaction& a, const Compaction& b) { return a.from < b.from; });
  for (const Compaction& c : ordered) {
    if (c.from < 1 || c.to < c.from || c.to >= current) continue;
    const size_t from = turn_start[c.from - 1], to = turn_start[c.to];
    if (from < folded_until || from >= to) continue;
    std::string originals;
    for (const Msg& m : conv.msgs) {
      if (m.wire_message >= from && m.wire_message < to) originals += m.text + "\n";
    }
    const std::string page = StreamPageId(originals);
    AddPage(page, originals,
            StreamPageMeta{"compaction", "turns " + std::to_string(c.from) + "-" +
                                             std::to_string(c.to),
                           originals.size(), CountLines(originals)});
    edits.folds.push_back({from, to,
                           "[vmllm: turns " + std::to_string(c.from) + "-" + std::to_string(c.to) +
                               " compacted by the model; originals in page " + page +
                               ". Summary: " + c.summary + "]"});
    folded_until = to;
  }

  first_request_ = false;
  stats_.pages = meta_.size();
  stats_.pinned_keys = CountKeyPins(pinned_);
  rep.new_faults = stats_.faults - faults_before;
  rep.first_changed_message = changed;
  return edits;
}

}  // namespace vmllm
