// Trace replay. See vmllm/replay.h for what is measured and how.
#include "vmllm/replay.h"

#include <algorithm>
#include <climits>
#include <memory>
#include <set>
#include <unordered_map>

#include "chat/arguments.h"
#include "chat/wire.h"
#include "engine/fault_monitor.h"
#include "engine/resident_set.h"
#include "stream/stream_policy.h"
#include "stream/supersession.h"
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
  size_t superseded_at = kNeverSuperseded;  // Message that made it obsolete.
  long use = LONG_MAX;           // Turn of its one use: the same call issued again (Belady).
};

// Content classes of the input, in ReplayResult::classes order.
enum ContentClass { kSystemText, kUserText, kAssistantText, kToolInputs, kToolResults, kSchemas,
                    kClasses };
const char* const kClassNames[kClasses] = {"system",       "user text",    "assistant text",
                                           "tool inputs",  "tool results", "schemas"};

// Belady's MIN as an eviction policy: it reads each occurrence's next use from the trace,
// counted from the current turn: a result is used at most once (its use supersedes it), so once
// that turn has passed it is never used again.
class FutureKnowingPolicy : public EvictionPolicy {
 public:
  FutureKnowingPolicy(const std::vector<Occurrence>& occ, const TurnClock& clock)
      : occ_(occ), clock_(clock) {}
  std::string Name() const override { return "belady"; }
  void OnInsert(PageKey key, size_t) override { resident_.insert(key); }
  void OnAccess(PageKey) override {}
  void OnErase(PageKey key) override { resident_.erase(key); }
  size_t size() const override { return resident_.size(); }
  // The page used again furthest in the future (never: first), larger first on a tie.
  std::optional<PageKey> PickVictim(const std::function<bool(PageKey)>& evictable) override {
    std::optional<PageKey> best;
    long best_use = 0;
    for (PageKey o : resident_) {
      if (!evictable(o)) continue;
      const long use = NextUse(o);
      if (!best || use > best_use || (use == best_use && occ_[o].tokens > occ_[*best].tokens)) {
        best = o;
        best_use = use;
      }
    }
    return best;
  }

 private:
  long NextUse(PageKey o) const {
    return occ_[o].use >= static_cast<long>(clock_.now) ? occ_[o].use : LONG_MAX;
  }

  const std::vector<Occurrence>& occ_;
  const TurnClock& clock_;
  std::set<PageKey> resident_;
};

class Replayer {
 public:
  Replayer(const Conversation& conv, const ReplayOptions& options)
      : conv_(conv),
        opt_(options),
        tokenizer_(NewApproxTokenizer()),
        monitor_(FaultMonitorOptions{options.stream.thrash_window_turns,
                                     options.stream.thrash_faults,
                                     options.stream.thrash_growth}) {}

  Result<ReplayResult> Run() {
    const std::string& name = opt_.policy;
    if (name == "tau" || name == "tau-cache" || name == "default") {
      tau_ = std::make_unique<StreamPolicy>(TauConfig());
    } else {
      std::unique_ptr<EvictionPolicy> policy;
      if (name == "belady") {
        policy = std::make_unique<FutureKnowingPolicy>(occ_, clock_);
      } else {
        auto made = NewEvictionPolicy(name, &clock_);
        if (!made.ok()) {
          return Status::InvalidArgument("unknown replay policy '" + name +
                                         "' (use tau, belady or an eviction policy name)");
        }
        policy = std::move(made).value();
      }
      // The engine's own resident set: a policy is replayed exactly as the pager runs it. Its
      // budget is the largest the fault monitor may grow to; MakeRoom keeps the current one.
      resident_ = std::make_unique<ResidentSet>(MaxBudget(), tokenizer_.get(), std::move(policy));
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
    if (opt_.policy == "default") {  // StreamConfig as shipped, at the caller's prices.
      c = StreamConfig();
      c.input_price = opt_.stream.input_price;
      c.cache_write_price = opt_.stream.cache_write_price;
      c.cache_read_price = opt_.stream.cache_read_price;
    } else {
      c.cache_aware = opt_.policy == "tau-cache";
    }
    c.stub_unused_tools = false;  // Replay pages tool results; schemas are reported apart.
    c.inject_memory_tools = false;
    return c;
  }

  size_t MaxBudget() const {
    return static_cast<size_t>(opt_.l1_tokens * monitor_.options().max_scale);
  }
  size_t Budget() const { return static_cast<size_t>(opt_.l1_tokens * monitor_.scale()); }

  static std::string CallKey(const ToolCall& c) {
    return c.name + '\x1f' + CanonicalArguments(c.arguments).first;
  }

  void Prepare() {
    class_tokens_.assign(kClasses, 0);
    base_bytes_ = conv_.system.size();
    class_tokens_[kSystemText] = tokenizer_->Count(conv_.system);
    for (const ToolSchema& t : conv_.tools) {
      base_bytes_ += t.json_bytes;
      class_tokens_[kSchemas] += tokenizer_->Count(t.json);
    }
    base_tokens_ = class_tokens_[kSystemText] + class_tokens_[kSchemas];
    const std::vector<size_t> superseded = SupersededAt(conv_);
    std::unordered_map<std::string, std::pair<std::string, std::string>> calls;  // id -> key, tool
    std::unordered_map<std::string, std::string> human_key;
    msg_bytes_.resize(conv_.msgs.size());
    msg_tokens_.resize(conv_.msgs.size());
    msg_call_tokens_.assign(conv_.msgs.size(), 0);
    msg_turn_.assign(conv_.msgs.size(), 0);
    occ_of_msg_.assign(conv_.msgs.size(), -1);
    long turn = 0;
    for (size_t i = 0; i < conv_.msgs.size(); ++i) {
      const Msg& m = conv_.msgs[i];
      std::string call_text;
      for (const ToolCall& c : m.calls) call_text += c.name + c.arguments;
      msg_bytes_[i] = m.text.size() + m.call_bytes;
      msg_call_tokens_[i] = tokenizer_->Count(call_text);
      msg_tokens_[i] = tokenizer_->Count(m.text) + msg_call_tokens_[i];
      if (m.kind == Msg::kAssistant) {
        ++turn;
        for (const ToolCall& c : m.calls) {
          auto [canonical, key] = CanonicalArguments(c.arguments);
          calls[c.id] = {c.name + '\x1f' + canonical, c.name};
          human_key[c.id] = key;
        }
      }
      msg_turn_[i] = turn;
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
      o.superseded_at = superseded[i];
      occ_of_msg_[i] = static_cast<long>(occ_.size());
      occ_.push_back(std::move(o));
    }
    // A result's one use: the same call issued again, which is also what supersedes it.
    for (Occurrence& o : occ_) {
      if (o.superseded_at == kNeverSuperseded) continue;
      for (const ToolCall& c : conv_.msgs[o.superseded_at].calls) {
        if (IsRepeatableCall(c.name) && !IsMutatingCall(c.name) && CallKey(c) == o.key) {
          o.use = msg_turn_[o.superseded_at];
        }
      }
    }
  }

  bool Superseded(long o, size_t upto) const { return occ_[o].superseded_at < upto; }

  bool Evictable(long o, long k, size_t upto) const {
    const Occurrence& occ = occ_[o];
    return occ.evicted_at < 0 && occ.evictable_kind && occ.turn < k - 1 &&
           (Superseded(o, upto) ||
            (!pinned_.count(occ.key) && !pinned_.count(StreamPolicy::ToolPin(occ.key))));
  }

  void Evict(long o, long k, size_t upto) {
    Occurrence& occ = occ_[o];
    occ.evicted_at = k;
    if (resident_) resident_->Remove(o);
    paged_bytes_ -= occ.bytes - occ.stub_bytes;
    paged_tokens_ -= occ.tokens - occ.stub_tokens;
    ++result_.evictions;
    if (Superseded(o, upto)) ++result_.superseded_evictions;
    ++turn_.evictions;
    first_change_ = std::min(first_change_, occ.msg);
  }

  void EvictByPolicy(size_t upto, long k) {
    auto evictable = [&](PageKey o) { return Evictable(o, k, upto); };
    auto evict = [&](PageKey o) { Evict(o, k, upto); };
    for (PageKey o : resident_->Expired()) {
      if (evictable(o)) evict(o);
    }
    // Superseded results first, largest first: they can never fault.
    if (resident_->used_tokens() > Budget()) {
      std::vector<PageKey> stale;
      for (PageKey o : resident_->Order()) {
        if (Superseded(o, upto) && evictable(o)) stale.push_back(o);
      }
      std::sort(stale.begin(), stale.end(),
                [&](PageKey a, PageKey b) { return occ_[a].tokens > occ_[b].tokens; });
      for (PageKey o : stale) {
        if (resident_->used_tokens() <= Budget()) break;
        evict(o);
      }
    }
    // Down to the budget; when only unevictable pages are left the set stays over it.
    resident_->MakeRoom(MaxBudget() - Budget(), evictable, evict);
  }

  void SendRequest(size_t upto, long k) {
    clock_.now = static_cast<double>(k);
    first_change_ = SIZE_MAX;
    if (tau_) {
      Conversation prefix = conv_;
      prefix.msgs.resize(upto);
      prefix.wire_messages = conv_.msgs[upto].wire_message;
      Edits edits = tau_->Plan(prefix, nullptr);
      for (const auto& [index, text] : edits.result_text) {
        long o = occ_of_msg_[index];
        if (o >= 0 && occ_[o].evicted_at < 0) Evict(o, k, upto);
      }
    } else {
      monitor_.OnTurn(k);
      EvictByPolicy(upto, k);
    }
    // The prompt cache: the prefix this request shares with the previous one.
    const size_t shared = std::min(first_change_, prev_upto_);
    if (first_change_ != SIZE_MAX) {
      ++result_.cache_rewrites;
      result_.cache_rewrite_tokens += PagedTokens(first_change_, upto);
    }
    if (k > 1) {
      turn_.cached_full = prev_tokens_full_;
      turn_.cached_paged = base_tokens_ + PagedTokens(0, shared);
    }
    prev_upto_ = upto;
    turn_.output_tokens = msg_tokens_[upto];
    uint64_t stale = 0;
    for (const Occurrence& o : occ_) {
      if (o.msg < upto && (k - 1) - o.turn >= opt_.stream.tau_turns) stale += o.bytes;
    }
    stale_bytes_ += stale;
    turn_.bytes_full = base_bytes_ + full_bytes_;
    turn_.bytes_paged = base_bytes_ + paged_bytes_;
    turn_.tokens_full = base_tokens_ + full_tokens_;
    turn_.tokens_paged = base_tokens_ + paged_tokens_;
    prev_tokens_full_ = turn_.tokens_full;
    uint64_t others = 0;
    for (int c = 0; c < kClasses; ++c) {
      result_.classes[c].tokens_full += class_tokens_[c];
      if (c != kToolResults) {
        result_.classes[c].tokens_paged += class_tokens_[c];
        others += class_tokens_[c];
      }
    }
    result_.classes[kToolResults].tokens_paged += turn_.tokens_paged - others;
    result_.per_turn.push_back(turn_);
    turn_ = ReplayTurn();
  }

  // Tokens of messages [from, to) as the paged request sends them.
  uint64_t PagedTokens(size_t from, size_t to) const {
    uint64_t n = 0;
    for (size_t i = from; i < to; ++i) {
      long o = occ_of_msg_[i];
      n += o >= 0 && occ_[o].evicted_at >= 0 ? occ_[o].stub_tokens : msg_tokens_[i];
    }
    return n;
  }

  // The model's calls in message i: uses of earlier results, each superseding what it used.
  // Faults are counted here for every policy, "tau" included, by the same rule.
  void Uses(const Msg& m, size_t i, long k) {
    for (const ToolCall& c : m.calls) {
      const std::string key = CallKey(c);
      auto it = latest_.find(key);
      if (it == latest_.end() || !IsRepeatableCall(c.name)) continue;
      const Occurrence& used = occ_[it->second];
      // A retry of a change, or a re-read of something since changed, is no use of the result.
      const bool reread = !IsMutatingCall(c.name) && used.superseded_at >= i;
      if (reread && used.evicted_at >= 0) {
        ++result_.faults;
        ++result_.per_turn.back().faults;
        result_.per_turn.back().fault_tokens += used.tokens;
        if (!tau_ && monitor_.OnFault(k)) {  // Thrashing: keep the key and its tool.
          pinned_.insert(key);
          pinned_.insert(StreamPolicy::ToolPin(key));
        }
        max_level_ = std::max(max_level_, monitor_.level());
      } else if (resident_ && used.evicted_at < 0) {
        resident_->Touch(it->second);
      }
      latest_.erase(it);
    }
  }

  void Walk() {
    result_.classes.resize(kClasses);
    for (int c = 0; c < kClasses; ++c) result_.classes[c].name = kClassNames[c];
    long k = 0;
    for (size_t i = 0; i < conv_.msgs.size(); ++i) {
      const Msg& m = conv_.msgs[i];
      if (m.kind == Msg::kAssistant) {
        ++k;
        SendRequest(i, k);
        Uses(m, i, k);
      }
      full_bytes_ += msg_bytes_[i];
      paged_bytes_ += msg_bytes_[i];
      full_tokens_ += msg_tokens_[i];
      paged_tokens_ += msg_tokens_[i];
      switch (m.kind) {
        case Msg::kSystem: class_tokens_[kSystemText] += msg_tokens_[i]; break;
        case Msg::kUser: class_tokens_[kUserText] += msg_tokens_[i]; break;
        case Msg::kToolResult: class_tokens_[kToolResults] += msg_tokens_[i]; break;
        case Msg::kAssistant:
          class_tokens_[kAssistantText] += msg_tokens_[i] - msg_call_tokens_[i];
          class_tokens_[kToolInputs] += msg_call_tokens_[i];
          break;
      }
      const long o = occ_of_msg_[i];
      if (o >= 0) {
        ++result_.tool_results;
        latest_[occ_[o].key] = o;
        if (resident_) {
          const size_t weight = opt_.equal_page_tokens ? opt_.equal_page_tokens : occ_[o].tokens;
          resident_->Admit(o, "", weight, false);
        }
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
    if (tau_) {
      result_.pinned_keys = tau_->stats().pinned_keys;
      result_.max_growth_level = tau_->max_growth_level();
    } else {
      result_.pinned_keys = pinned_.size();
      result_.max_growth_level = max_level_;
    }
  }

  const Conversation& conv_;
  const ReplayOptions& opt_;
  std::unique_ptr<Tokenizer> tokenizer_;
  TurnClock clock_;
  FaultMonitor monitor_;                   // Budgeted policies; tau's runs inside StreamPolicy.
  std::set<std::string> pinned_;           // Call keys the monitor pinned.
  int max_level_ = 0;
  std::unique_ptr<ResidentSet> resident_;  // Every policy but tau's.
  std::unique_ptr<StreamPolicy> tau_;
  ReplayResult result_;
  ReplayTurn turn_;
  std::vector<Occurrence> occ_;
  std::vector<long> occ_of_msg_, msg_turn_;
  std::vector<uint64_t> msg_bytes_, msg_tokens_, msg_call_tokens_;
  std::vector<uint64_t> class_tokens_;  // Per class, of the messages so far (unpaged).
  std::unordered_map<std::string, long> latest_;  // Call key -> newest unused occurrence.
  uint64_t base_bytes_ = 0, base_tokens_ = 0;
  uint64_t full_bytes_ = 0, paged_bytes_ = 0, full_tokens_ = 0, paged_tokens_ = 0;
  uint64_t stale_bytes_ = 0, prev_tokens_full_ = 0;
  size_t first_change_ = SIZE_MAX, prev_upto_ = 0;
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
  std::vector<std::string> names{"default", "tau", "tau-cache"};
  for (const std::string& n : EvictionPolicyNames()) names.push_back(n);
  names.push_back("belady");
  return names;
}

}  // namespace vmllm
