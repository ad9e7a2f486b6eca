// StreamSession: the thread-safe face of StreamPolicy over the JSON wire formats.
#include "stream/conversation.h"
#include "stream/stream_policy.h"

#include <mutex>

namespace vmllm {

class StreamSession::Impl {
 public:
  explicit Impl(StreamConfig config) : policy(std::move(config)) {}
  mutable std::mutex mu;
  StreamPolicy policy;
};

StreamSession::StreamSession(StreamConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {}
StreamSession::~StreamSession() = default;

Result<std::string> StreamSession::Rewrite(WireFormat wire, const std::string& body,
                                           RewriteReport* report) {
  auto parsed = ParseWireRequest(wire, body);  // Outside the lock: parsing is the slow part.
  if (!parsed.ok()) return parsed.status();
  WireRequest& request = *parsed.value();
  RewriteReport local;
  RewriteReport& rep = report ? *report : local;
  Edits edits;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    edits = impl_->policy.Plan(request.conversation(), &rep);
  }
  std::string out = request.Render(edits);
  rep.bytes_before = body.size();
  rep.bytes_after = out.size();
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->policy.mutable_stats()->bytes_in += body.size();
  impl_->policy.mutable_stats()->bytes_out += out.size();
  return out;
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
  const std::string* page = impl_->policy.Page(page_id);
  if (!page) return Status::NotFound("no page " + page_id + " in this session");
  return *page;
}

bool StreamSession::IsPinned(const std::string& tool, const std::string& arguments_json) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->policy.IsPinned(tool, CanonicalArguments(arguments_json).first);
}

StreamStats StreamSession::Stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->policy.stats();
}

const StreamConfig& StreamSession::config() const { return impl_->policy.config(); }

}  // namespace vmllm
