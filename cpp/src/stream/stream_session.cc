// StreamSession: the thread-safe face of StreamPolicy over the JSON wire formats, keeping its
// pages and state in the engine when it has one.
#include "chat/arguments.h"
#include "chat/wire.h"
#include "stream/stream_policy.h"

#include <mutex>
#include <unordered_map>

#include "vmllm/backend_events.h"

namespace vmllm {
namespace {

// Rewrites that lost the compare-and-swap to another process are planned again from the state
// it wrote; past this many in a row the store is too contended to wait on.
constexpr int kMaxPlanAttempts = 8;
// A request that changed no decision (the same history sent again) skips the store, except that
// counters are written at least this often.
constexpr int kCounterWriteEvery = 16;

}  // namespace

class StreamSession::Impl {
 public:
  Impl(StreamConfig config, Pager* engine, std::string space)
      : policy(config), config(std::move(config)), engine(engine), space(std::move(space)) {}

  // Catches up with the state stored for the session, when another process (or an earlier
  // run of this one) wrote a newer version than this one holds.
  Status Sync();
  // The policy as the stored state `record` makes it.
  StreamPolicy PolicyOf(const SpaceRecord& record) const;
  // A copy of the session's latest policy (caught up with the store), changing nothing.
  Result<StreamPolicy> LatestPolicy() const;
  // Stores the last plan's new pages and the state; false when another writer got in first.
  Result<bool> Commit();
  std::string StoredId(const std::string& page_id) const { return space + "/" + page_id; }

  mutable std::mutex mu;
  WireParser parser;  // Reuses what the session's previous request parsed.
  StreamPolicy policy;
  const StreamConfig config;
  Pager* const engine;        // Null: pages in `pages` below.
  const std::string space;
  int64_t version = 0;        // Of the stored state `policy` holds; -1: unknown, reload.
  uint64_t saved_decisions = 0;  // DecisionFingerprint of the state last stored.
  int unsaved = 0;               // Requests since then that changed no decision.
  std::unordered_map<std::string, std::string> pages;  // Without an engine only.
};

Status StreamSession::Impl::Sync() {
  auto stored = engine->SpaceRecordVersion(space);
  if (!stored.ok()) return stored.status();
  if (*stored == version) return Status();
  auto record = engine->LoadSpaceRecord(space);
  if (!record.ok()) return record.status();
  policy = PolicyOf(*record);
  unsaved = 0;
  version = record->version;
  saved_decisions = policy.DecisionFingerprint();
  return Status();
}

StreamPolicy StreamSession::Impl::PolicyOf(const SpaceRecord& record) const {
  StreamPolicy loaded(config);
  if (record.version == 0) return loaded;
  if (Status s = loaded.LoadState(record.state); !s.ok()) {
    // A damaged record: start the session afresh rather than fail forever.
    PostBackendWarning("stream session '" + space + "': stored state unreadable (" +
                       s.message() + "); starting it afresh");
    return StreamPolicy(config);
  }
  return loaded;
}

Result<StreamPolicy> StreamSession::Impl::LatestPolicy() const {
  if (!engine) return policy;
  auto stored = engine->SpaceRecordVersion(space);
  if (!stored.ok()) return stored.status();
  if (*stored == version) return policy;
  auto record = engine->LoadSpaceRecord(space);
  if (!record.ok()) return record.status();
  return PolicyOf(*record);
}

Result<bool> StreamSession::Impl::Commit() {
  const uint64_t decisions = policy.DecisionFingerprint();
  if (version > 0 && decisions == saved_decisions && ++unsaved < kCounterWriteEvery) {
    return true;  // Nothing new to store: the stubs stay as the stored state makes them.
  }
  std::vector<PageWrite> writes;
  writes.reserve(policy.NewPages().size());
  for (const auto& [id, text] : policy.NewPages()) writes.push_back({StoredId(id), text});
  // One transaction, one durable commit per request.
  auto saved = engine->PutPagesAndRecord(space, writes, version, policy.SaveState());
  if (!saved.ok()) return saved.status();
  if (*saved) {
    ++version;
    saved_decisions = decisions;
    unsaved = 0;
  }
  return *saved;
}

StreamSession::StreamSession(StreamConfig config)
    : impl_(std::make_unique<Impl>(std::move(config), nullptr, "")) {}
StreamSession::StreamSession(StreamConfig config, Pager* engine, std::string space)
    : impl_(std::make_unique<Impl>(std::move(config), engine, std::move(space))) {}
StreamSession::~StreamSession() = default;

Result<std::string> StreamSession::Rewrite(WireFormat wire, const std::string& body,
                                           RewriteReport* report) {
  RewriteReport local;
  RewriteReport& rep = report ? *report : local;
  // One lock for the whole rewrite: the parser and the policy both carry the session's past.
  std::lock_guard<std::mutex> lock(impl_->mu);
  Impl& s = *impl_;
  auto parsed = s.parser.Parse(wire, body);
  if (!parsed.ok()) return parsed.status();
  WireRequest& request = *parsed.value();
  Edits edits;
  if (!s.engine) {
    edits = s.policy.Plan(request.conversation(), &rep);
    for (const auto& [id, text] : s.policy.NewPages()) s.pages.emplace(id, text);
  } else {
    for (int attempt = 0;; ++attempt) {
      Status synced = s.Sync();
      if (!synced.ok()) {
        s.version = -1;  // What `policy` holds is unknown now: reload next time.
        return synced;
      }
      rep = RewriteReport();
      edits = s.policy.Plan(request.conversation(), &rep);
      s.policy.mutable_stats()->bytes_in += body.size();
      auto committed = s.Commit();
      if (!committed.ok()) {
        s.version = -1;
        return committed.status();
      }
      if (*committed) break;
      if (attempt + 1 == kMaxPlanAttempts) {
        s.version = -1;
        return Status::BackendUnavailable("stream session '" + s.space + "' is being "
                                          "rewritten by other processes; try again");
      }
    }
  }
  std::string out = request.Render(edits);
  rep.bytes_before = body.size();
  rep.bytes_after = out.size();
  // With an engine, bytes_out reaches the store with the next rewrite's state.
  if (!s.engine) s.policy.mutable_stats()->bytes_in += body.size();
  s.policy.mutable_stats()->bytes_out += out.size();
  return out;
}

Result<std::string> StreamSession::Preview(WireFormat wire, const std::string& body) const {
  auto parsed = ParseWireRequest(wire, body);
  if (!parsed.ok()) return parsed.status();
  Result<StreamPolicy> policy = Status();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    policy = impl_->LatestPolicy();
  }
  if (!policy.ok()) return policy.status();
  // Planned on a copy: the session, its counters and the store stay as they were.
  const Edits edits = policy->Plan(parsed.value()->conversation(), nullptr);
  return parsed.value()->Render(edits);
}

Status StreamSession::FollowUp(WireFormat wire, const std::string& request,
                               const std::string& response, std::string* extended,
                               std::string* rewritten) {
  extended->clear();
  rewritten->clear();
  auto calls = ParseResponseCalls(wire, response);
  if (!calls.ok()) return calls.status();
  if (calls.value().empty()) return Status();
  std::vector<std::pair<std::string, std::string>> results;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    results = impl_->policy.ServeMemoryCalls(calls.value());
  }
  if (results.empty()) return Status();
  auto appended = AppendToolExchange(wire, request, response, results);
  if (!appended.ok()) return appended.status();
  // Rewriting the extended request makes the calls take effect (a recall restores its pages).
  auto out = Rewrite(wire, appended.value());
  if (!out.ok()) return out.status();
  *extended = std::move(appended).value();
  *rewritten = std::move(out).value();
  return Status();
}

Result<std::string> StreamSession::Page(const std::string& page_id) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Impl& s = *impl_;
  if (!s.policy.HasPage(page_id)) {
    return Status::NotFound("no page " + page_id.substr(0, 200) + " in this session");
  }
  if (!s.engine) return s.pages.at(page_id);
  // Through the tiers: a page read here stays hot in the session's L1, then in L2 (Redis,
  // when configured, where another process sharing the session finds it).
  auto page = s.engine->RequestPage(s.StoredId(page_id), /*full=*/true);
  if (page.ok() || page.status().code() != StatusCode::kResourceExhausted) return page;
  // Larger than the session's whole L1: straight from L4.
  return s.engine->ReadPage(s.StoredId(page_id));
}

bool StreamSession::IsPinned(const std::string& tool, const std::string& arguments_json) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->policy.IsPinned(tool, CanonicalArguments(arguments_json).first);
}

StreamStats StreamSession::Stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->policy.stats();
}

const StreamConfig& StreamSession::config() const { return impl_->config; }

}  // namespace vmllm
