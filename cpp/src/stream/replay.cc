// Trace replay. See vmllm/replay.h for what is measured and how.
#include "vmllm/replay.h"

#include <algorithm>
#include <climits>
#include <memory>
#include <set>
#include <unordered_map>

#include "chat/arguments.h"
#include "chat/wire.h"
#include "engine/resident_set.h"
#include "stream/stream_policy.h"
#include "vmllm/eviction_policy.h"
#include "vmllm/tokenizer.h"

namespace vmllm {
namespace {

// The replay's clock reads turns, so time-based policies (working-set's τ) count turns.
class TurnClock : public Clock {
 public:
  double Now() const override { return now; }
  double now = 0;
};

struct Occurrence {
  size_t msg = 0;
  size_t wire = 0;
  long turn = 0;  // Number of model calls before the result: its call's turn.
  std::string key;
  uint64_t bytes = 0, tokens = 0, stub_bytes = 0, stub_tokens = 0;
  bool evictable_kind = false;  // Not an error and above s_min.
  long evicted_at = -1;          // Turn whose request first carried the stub.
  long next_use = LONG_MAX;      // Turn of the next call with the same key (Belady).
};

// Belady's MIN as an eviction policy: it reads each occurrence's next use from the trace.
class FutureKnowingPolicy : public EvictionPolicy {
 public:
  explicit FutureKnowingPolicy(const std::vector<Occurrence>& occ) : occ_(occ) {}
  std::string Name() const override { return "belady"; }
  void OnInsert(PageKey key, size_t) override { resident_.insert(key); }
  void OnAccess(PageKey) override {}
  void OnErase(PageKey key) override { resident_.erase(key); }
  size_t size() const override { return resident_.size(); }
  // The page used again furthest in the future (never: first), larger first on a tie.
  std::optional<PageKey> PickVictim(const std::function<bool(PageKey)>& evictable) override {
    std::optional<PageKey> best;
    for (PageKey o : resident_) {
      if (!evictable(o)) continue;
      if (!best || occ_[o].next_use > occ_[*best].next_use ||
          (occ_[o].next_use == occ_[*best].next_use && occ_[o].tokens > occ_[*best].tokens)) {
        best = o;
      }
    }
    return best;
  }

 private:
  const std::vector<Occurrence>& occ_;
  std::set<PageKey> resident_;
};

class Replayer {
 public:
  Replayer(const Conversation& conv, const ReplayOptions& options)
      : conv_(conv), opt_(options), tokenizer_(NewApproxTokenizer()) {}

  Result<ReplayResult> Run() {
    const std::string& name = opt_.policy;
    if (name == "tau" || name == "tau-cache") {
      tau_ = std::make_unique<StreamPolicy>(TauConfig());
    } else {
      std::unique_ptr<EvictionPolicy> policy;
      if (name == "belady") {
        policy = std::make_unique<FutureKnowingPolicy>(occ_);
      } else {
        auto made = NewEvictionPolicy(name, &clock_);
        if (!made.ok()) {
          return Status::InvalidArgument("unknown replay policy '" + name +
                                         "' (use tau, belady or an eviction policy name)");
        }
        policy = std::move(made).value();
      }
      // The engine's own resident set: a policy is replayed exactly as the pager runs it.
      resident_ = std::make_unique<ResidentSet>(opt_.l1_tokens, tokenizer_.get(),
                                                std::move(policy));
    }
    result_.policy = name;
    Prepare();
    Walk();
    Summarise();
    return result_;
  }

 private:
  StreamConfig TauConfig() const {
    StreamConfig c = opt_.stream;
    c.stub_unused_tools = false;  // Replay pages tool results; schemas are reported apart.
    c.inject_memory_tools = false;
    c.cache_aware = opt_.policy == "tau-cache";
    return c;
  }

  void Prepare() {
    base_bytes_ = conv_.system.size();
    base_tokens_ = tokenizer_->Count(conv_.system);
    for (const ToolSchema& t : conv_.tools) {
      base_bytes_ += t.json_bytes;
      base_tokens_ += tokenizer_->Count(t.json);
    }
    std::unordered_map<std::string, std::pair<std::string, std::string>> calls;  // id -> key, tool
    std::unordered_map<std::string, std::string> human_key;
    msg_bytes_.resize(conv_.msgs.size());
    msg_tokens_.resize(conv_.msgs.size());
    occ_of_msg_.assign(conv_.msgs.size(), -1);
    long turn = 0;
    for (size_t i = 0; i < conv_.msgs.size(); ++i) {
      const Msg& m = conv_.msgs[i];
      std::string call_text;
      for (const ToolCall& c : m.calls) call_text += c.name + c.arguments;
      msg_bytes_[i] = m.text.size() + m.call_bytes;
      msg_tokens_[i] = tokenizer_->Count(m.text) + tokenizer_->Count(call_text);
      if (m.kind == Msg::kAssistant) {
        ++turn;
        for (const ToolCall& c : m.calls) {
          auto [canonical, key] = CanonicalArguments(c.arguments);
          calls[c.id] = {c.name + '\x1f' + canonical, c.name};
          human_key[c.id] = key;
          call_turns_[c.name + '\x1f' + canonical].push_back(turn);
        }
      }
      if (m.kind != Msg::kToolResult) continue;
      Occurrence o;
      o.msg = i;
      o.wire = m.wire_message;
      o.turn = turn;
      auto it = calls.find(m.tool_call_id);
      std::string tool = it == calls.end() ? "tool" : it->second.second;
      o.key = it == calls.end() ? "?\x1f" + std::to_string(i) : it->second.first;
      o.bytes = m.text.size();
      o.tokens = msg_tokens_[i];
      const std::string stub =
          MakeStub(StreamPageId(m.text),
                   StreamPageMeta{tool, it == calls.end() ? "?" : human_key[m.tool_call_id],
                                  m.text.size(), CountLines(m.text)});
      o.stub_bytes = stub.size();
      o.stub_tokens = tokenizer_->Count(stub);
      o.evictable_kind = !m.is_error && m.text.size() > opt_.stream.min_evict_bytes;
      occ_of_msg_[i] = static_cast<long>(occ_.size());
      occ_.push_back(std::move(o));
    }
    // Next use: the first call with the same key in a later turn than the result's.
    for (Occurrence& o : occ_) {
      const auto& turns = call_turns_[o.key];
      auto next = std::upper_bound(turns.begin(), turns.end(), o.turn);
      o.next_use = next == turns.end() ? LONG_MAX : *next;
    }
  }

  bool Evictable(long o, long k) const {
    const Occurrence& occ = occ_[o];
    return occ.evicted_at < 0 && occ.evictable_kind && occ.turn < k - 1;
  }

  void Evict(long o, long k) {
    Occurrence& occ = occ_[o];
    occ.evicted_at = k;
    if (resident_) resident_->Remove(o);
    paged_bytes_ -= occ.bytes - occ.stub_bytes;
    paged_tokens_ -= occ.tokens - occ.stub_tokens;
    ++result_.evictions;
    ++turn_.evictions;
    first_change_ = std::min(first_change_, occ.msg);
  }

  void SendRequest(size_t upto, long k) {
    clock_.now = static_cast<double>(k);
    first_change_ = SIZE_MAX;
    if (tau_) {
      Conversation prefix = conv_;
      prefix.msgs.resize(upto);
      prefix.wire_messages = conv_.msgs[upto].wire_message;
      const uint64_t faults_before = tau_->stats().faults;
      Edits edits = tau_->Plan(prefix, nullptr);
      for (const auto& [index, text] : edits.result_text) {
        long o = occ_of_msg_[index];
        if (o >= 0 && occ_[o].evicted_at < 0) Evict(o, k);
      }
      turn_.faults += tau_->stats().faults - faults_before;
      result_.faults += tau_->stats().faults - faults_before;
    } else {
      for (PageKey o : resident_->Expired()) {
        if (Evictable(o, k)) Evict(o, k);
      }
      // Down to the budget; when only unevictable pages are left the set stays over it.
      resident_->MakeRoom(
          0, [&](PageKey o) { return Evictable(o, k); }, [&](PageKey o) { Evict(o, k); });
    }
    if (first_change_ != SIZE_MAX) {
      ++result_.cache_rewrites;
      uint64_t tail = 0;
      for (size_t i = first_change_; i < upto; ++i) {
        long o = occ_of_msg_[i];
        tail += o >= 0 && occ_[o].evicted_at >= 0 ? occ_[o].stub_tokens : msg_tokens_[i];
      }
      result_.cache_rewrite_tokens += tail;
    }
    uint64_t stale = 0;
    for (const Occurrence& o : occ_) {
      if (o.msg < upto && (k - 1) - o.turn >= opt_.stream.tau_turns) stale += o.bytes;
    }
    stale_bytes_ += stale;
    turn_.bytes_full = base_bytes_ + full_bytes_;
    turn_.bytes_paged = base_bytes_ + paged_bytes_;
    turn_.tokens_full = base_tokens_ + full_tokens_;
    turn_.tokens_paged = base_tokens_ + paged_tokens_;
    result_.per_turn.push_back(turn_);
    turn_ = ReplayTurn();
  }

  void Walk() {
    long k = 0;
    std::unordered_map<std::string, long> latest;  // Key -> newest occurrence.
    for (size_t i = 0; i < conv_.msgs.size(); ++i) {
      const Msg& m = conv_.msgs[i];
      if (m.kind == Msg::kAssistant) {
        ++k;
        SendRequest(i, k);
        if (!tau_) {  // The model's calls: uses of earlier results.
          for (const ToolCall& c : m.calls) {
            const std::string key = c.name + '\x1f' + CanonicalArguments(c.arguments).first;
            auto it = latest.find(key);
            if (it == latest.end()) continue;
            if (occ_[it->second].evicted_at >= 0) {
              ++result_.faults;
              ++result_.per_turn.back().faults;
            } else {
              resident_->Touch(it->second);
            }
          }
        }
      }
      full_bytes_ += msg_bytes_[i];
      paged_bytes_ += msg_bytes_[i];
      full_tokens_ += msg_tokens_[i];
      paged_tokens_ += msg_tokens_[i];
      const long o = occ_of_msg_[i];
      if (o >= 0) {
        ++result_.tool_results;
        latest[occ_[o].key] = o;
        if (resident_) resident_->Admit(o, "", occ_[o].tokens, false);
      }
    }
  }

  void Summarise() {
    result_.turns = result_.per_turn.size();
    for (const ReplayTurn& t : result_.per_turn) {
      result_.bytes_full += t.bytes_full;
      result_.bytes_paged += t.bytes_paged;
      result_.tokens_full += t.tokens_full;
      result_.tokens_paged += t.tokens_paged;
    }
    result_.structural_waste =
        result_.bytes_full ? static_cast<double>(stale_bytes_) / result_.bytes_full : 0.0;
    double size = 0, full = 0, paged = 0;
    const long last = static_cast<long>(result_.turns);
    for (const Occurrence& o : occ_) {
      if (o.turn >= last) continue;  // Never sent: no request after it.
      size += o.bytes;
      full += static_cast<double>(o.bytes) * (last - o.turn);
      const long until = o.evicted_at >= 0 ? o.evicted_at - 1 : last;
      paged += static_cast<double>(o.bytes) * std::max(0L, until - o.turn);
    }
    result_.amplification_full = size > 0 ? full / size : 0;
    result_.amplification_paged = size > 0 ? paged / size : 0;
  }

  const Conversation& conv_;
  const ReplayOptions& opt_;
  std::unique_ptr<Tokenizer> tokenizer_;
  TurnClock clock_;
  std::unique_ptr<ResidentSet> resident_;  // Every policy but tau's.
  std::unique_ptr<StreamPolicy> tau_;
  ReplayResult result_;
  ReplayTurn turn_;
  std::vector<Occurrence> occ_;
  std::vector<long> occ_of_msg_;
  std::vector<uint64_t> msg_bytes_, msg_tokens_;
  std::unordered_map<std::string, std::vector<long>> call_turns_;
  uint64_t base_bytes_ = 0, base_tokens_ = 0;
  uint64_t full_bytes_ = 0, paged_bytes_ = 0, full_tokens_ = 0, paged_tokens_ = 0;
  uint64_t stale_bytes_ = 0;
  size_t first_change_ = SIZE_MAX;
};

}  // namespace

Result<ReplayResult> ReplayTrace(WireFormat wire, const std::string& body,
                                 const ReplayOptions& options) {
  auto parsed = ParseWireRequest(wire, body);
  if (!parsed.ok()) return parsed.status();
  Replayer replayer(parsed.value()->conversation(), options);
  return replayer.Run();
}

std::vector<std::string> ReplayPolicyNames() {
  std::vector<std::string> names{"tau", "tau-cache"};
  for (const std::string& n : EvictionPolicyNames()) names.push_back(n);
  names.push_back("belady");
  return names;
}

}  // namespace vmllm
