// HttpClient: the one adapter around libcurl. It POSTs JSON bodies to an HTTP(S) endpoint with
// connect and total timeouts, retries with exponential backoff and jitter on 429, 5xx and
// connection errors (honouring a `Retry-After` header given in seconds), and runs a batch of
// requests with several in flight at once over reused connections.
//
// The bearer token is sent in a header and never appears in a Status message: every message this
// class builds is scrubbed of it.
//
// Thread safety: safe to share between threads; each Post call runs its own transfers, and
// connections are shared through a locked connection cache.
#ifndef VMLLM_NET_HTTP_CLIENT_H_
#define VMLLM_NET_HTTP_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vmllm/status.h"

namespace vmllm {

struct HttpClientOptions {
  std::string bearer_token;            // Sent as "Authorization: Bearer ..." when non-empty.
  double connect_timeout_seconds = 10;
  double timeout_seconds = 60;         // Per attempt, the whole transfer.
  int max_retries = 4;                 // Attempts after the first.
  double backoff_seconds = 0.5;        // Delay before the first retry; doubles each time.
  double max_backoff_seconds = 30;     // Caps backoff and Retry-After.
  size_t max_in_flight = 8;
};

struct HttpCounters {
  uint64_t requests = 0;  // Attempts sent.
  uint64_t retries = 0;
  uint64_t failures = 0;  // Requests that failed after every retry.
};

// The CA bundle TLS should trust: $SSL_CERT_FILE or $CURL_CA_BUNDLE when set, else the first of
// the distributions' usual bundle files that `readable` says exists; "" leaves libcurl's own
// default. The binary wheel carries Debian's libcurl, whose built-in path is Debian's only.
std::string FindCaBundle(const std::function<const char*(const char*)>& getenv,
                         const std::function<bool(const std::string&)>& readable);

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs each of `bodies` (JSON) to `url`, at most max_in_flight at once, and returns each
  // reply body (2xx) or why it failed: BackendUnavailable after the retries (429, 5xx, connection
  // errors, timeouts) or for any other HTTP status, which is not retried. Stops early with
  // BackendUnavailable("cancelled") when `*cancel` becomes true.
  std::vector<Result<std::string>> PostJson(const std::string& url,
                                            const std::vector<std::string>& bodies,
                                            const std::atomic<bool>* cancel = nullptr);

  HttpCounters counters() const;
  // `text` with the bearer token replaced by "[redacted]".
  std::string Scrub(std::string text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmllm

#endif  // VMLLM_NET_HTTP_CLIENT_H_
