// The libcurl adapter: the only file in vmllm that includes curl. One multi handle per PostJson
// call drives its transfers; a share handle keeps the connection cache, DNS and TLS sessions
// across calls and threads, so consecutive requests reuse connections.
#include "net/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>

#include <unistd.h>

#include "vmllm/json_limits.h"

namespace vmllm {
namespace {

// The transfer stops here, so an endless reply never fills memory; the JSON check after it
// would refuse a longer one anyway.
constexpr size_t kMaxReplyBytes = kMaxLlmReplyBytes;
constexpr long kPollMillis = 50;  // Bounds how long a cancellation waits to be noticed.

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double Jitter() {  // Uniform in [0.5, 1): spreads retries of many clients apart.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.5, 1.0)(rng);
}

// Read once: every transfer of the process trusts the same bundle.
const std::string& CaBundle() {
  static const std::string path = FindCaBundle(
      [](const char* name) { return std::getenv(name); },
      [](const std::string& file) { return access(file.c_str(), R_OK) == 0; });
  return path;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Connection errors worth another attempt; a malformed URL or an unsupported scheme is not.
bool RetryableCurlError(CURLcode rc) {
  switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_WRITE_ERROR:  // Our own size cap.
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return false;
    default:
      return true;
  }
}

struct Transfer {
  size_t index = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string reply;
  std::optional<double> retry_after;
  int attempts = 0;
  double next_at = 0;
  bool in_flight = false;
  bool done = false;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->reply.size() + size * n > kMaxReplyBytes) return 0;
  t->reply.append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  constexpr char kName[] = "retry-after:";
  if (line.size() > sizeof kName - 1) {
    std::string head = line.substr(0, sizeof kName - 1);
    std::transform(head.begin(), head.end(), head.begin(), ::tolower);
    if (head == kName) {
      // Seconds only; an HTTP date falls back to our own backoff.
      char* end = nullptr;
      const char* value = line.c_str() + sizeof kName - 1;
      double seconds = std::strtod(value, &end);
      if (end != value && std::isfinite(seconds) && seconds >= 0) t->retry_after = seconds;
    }
  }
  return size * n;
}

}  // namespace

std::string FindCaBundle(const std::function<const char*(const char*)>& getenv,
                         const std::function<bool(const std::string&)>& readable) {
  for (const char* name : {"SSL_CERT_FILE", "CURL_CA_BUNDLE"}) {
    const char* value = getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  for (const char* file : {"/etc/ssl/certs/ca-certificates.crt",  // Debian, Ubuntu, Arch.
                           "/etc/pki/tls/certs/ca-bundle.crt",    // Fedora, RHEL.
                           "/etc/ssl/ca-bundle.pem",              // openSUSE.
                           "/etc/pki/tls/cacert.pem",             // OpenELEC.
                           "/etc/ssl/cert.pem"}) {                // Alpine, macOS.
    if (readable(file)) return file;
  }
  return "";
}

struct HttpClient::Impl {
  HttpClientOptions options;
  CURLSH* share = nullptr;
  std::mutex locks[CURL_LOCK_DATA_LAST];
  mutable std::mutex counters_mu;
  HttpCounters counters;

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Impl*>(user)->locks[data].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Impl*>(user)->locks[data].unlock();
  }

  void Count(uint64_t HttpCounters::*field) {
    std::lock_guard<std::mutex> lock(counters_mu);
    ++(counters.*field);
  }

  void Start(CURLM* multi, const std::string& url, const std::string& body, Transfer* t) {
    t->easy = curl_easy_init();
    t->reply.clear();
    t->retry_after.reset();
    t->headers = curl_slist_append(nullptr, "Content-Type: application/json");
    // No "Expect: 100-continue" round trip before bodies over 1 KiB: the server reads them anyway.
    t->headers = curl_slist_append(t->headers, "Expect:");
    if (!options.bearer_token.empty()) {
      t->headers = curl_slist_append(t->headers,
                                     ("Authorization: Bearer " + options.bearer_token).c_str());
    }
    CURL* e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SHARE, share);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options.connect_timeout_seconds * 1000));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout_seconds * 1000));
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    if (!CaBundle().empty()) curl_easy_setopt(e, CURLOPT_CAINFO, CaBundle().c_str());
    curl_multi_add_handle(multi, e);
    t->in_flight = true;
    ++t->attempts;
    Count(&HttpCounters::requests);
  }

  void Finish(CURLM* multi, Transfer* t) {
    curl_multi_remove_handle(multi, t->easy);
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    t->easy = nullptr;
    t->headers = nullptr;
    t->in_flight = false;
  }

  std::string Scrub(std::string text) const {
    const std::string& token = options.bearer_token;
    if (token.empty()) return text;
    for (size_t at; (at = text.find(token)) != std::string::npos;) {
      text.replace(at, token.size(), "[redacted]");
    }
    return text;
  }
};

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_unique<Impl>()) {
  GlobalInit();
  impl_->options = std::move(options);
  impl_->share = curl_share_init();
  curl_share_setopt(impl_->share, CURLSHOPT_LOCKFUNC, &Impl::Lock);
  curl_share_setopt(impl_->share, CURLSHOPT_UNLOCKFUNC, &Impl::Unlock);
  curl_share_setopt(impl_->share, CURLSHOPT_USERDATA, impl_.get());
  curl_share_setopt(impl_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  curl_share_setopt(impl_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(impl_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

HttpClient::~HttpClient() { curl_share_cleanup(impl_->share); }

HttpCounters HttpClient::counters() const {
  std::lock_guard<std::mutex> lock(impl_->counters_mu);
  return impl_->counters;
}

std::string HttpClient::Scrub(std::string text) const { return impl_->Scrub(std::move(text)); }

std::vector<Result<std::string>> HttpClient::PostJson(const std::string& url,
                                                      const std::vector<std::string>& bodies,
                                                      const std::atomic<bool>* cancel) {
  const HttpClientOptions& o = impl_->options;
  std::vector<std::optional<Result<std::string>>> results(bodies.size());
  std::vector<Transfer> transfers(bodies.size());
  for (size_t i = 0; i < bodies.size(); ++i) transfers[i].index = i;
  size_t remaining = bodies.size(), in_flight = 0;
  CURLM* multi = curl_multi_init();
  auto fail = [&](Transfer* t, std::string why) {
    results[t->index] = Status::BackendUnavailable(impl_->Scrub("POST " + url + ": " + why));
    t->done = true;
    --remaining;
    impl_->Count(&HttpCounters::failures);
  };

  while (remaining > 0) {
    if (cancel && cancel->load()) {
      for (Transfer& t : transfers) {
        if (t.in_flight) impl_->Finish(multi, &t);
        if (!t.done) fail(&t, "cancelled");
      }
      break;
    }
    double now = NowSeconds();
    double next_due = now + kPollMillis / 1000.0;
    for (Transfer& t : transfers) {
      if (t.done || t.in_flight) continue;
      if (t.next_at <= now && in_flight < std::max<size_t>(1, o.max_in_flight)) {
        impl_->Start(multi, url, bodies[t.index], &t);
        ++in_flight;
      } else {
        next_due = std::min(next_due, t.next_at);
      }
    }
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      CURLcode rc = msg->data.result;
      long code = 0;
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
      impl_->Finish(multi, t);
      --in_flight;
      if (rc == CURLE_OK && code >= 200 && code < 300) {
        results[t->index] = std::move(t->reply);
        t->done = true;
        --remaining;
        continue;
      }
      std::string why = rc != CURLE_OK
                            ? std::string(curl_easy_strerror(rc))
                            : "HTTP " + std::to_string(code) + ": " + t->reply.substr(0, 300);
      bool retryable = rc != CURLE_OK ? RetryableCurlError(rc) : (code == 429 || code >= 500);
      if (!retryable || t->attempts > o.max_retries) {
        fail(t, why + (retryable ? " (after " + std::to_string(t->attempts) + " attempts)" : ""));
        continue;
      }
      double delay = t->retry_after
                         ? *t->retry_after
                         : o.backoff_seconds * std::pow(2.0, t->attempts - 1) * Jitter();
      t->next_at = NowSeconds() + std::min(delay, o.max_backoff_seconds);
      impl_->Count(&HttpCounters::retries);
    }
    if (remaining == 0) break;
    long wait_ms = in_flight > 0 ? kPollMillis
                                 : std::clamp<long>(static_cast<long>((next_due - now) * 1000),
                                                    0, kPollMillis);
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait_ms), nullptr);
  }
  curl_multi_cleanup(multi);

  std::vector<Result<std::string>> out;
  out.reserve(results.size());
  for (auto& r : results) out.push_back(std::move(*r));
  return out;
}

}  // namespace vmllm
