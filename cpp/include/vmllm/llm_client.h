// LlmClient: an OpenAI-compatible HTTP client for chat completions and embeddings, and the
// compressor and embedder built on it.
//
// Configuration comes from LlmClientOptions, then the environment: `OPENAI_BASE_URL` (default
// https://api.openai.com/v1) and `OPENAI_API_KEY`. The key is sent only in the Authorization
// header; it is never logged and never appears in a Status message.
//
// Requests time out (connect and total, per attempt) and are retried with exponential backoff and
// jitter on 429, 5xx and connection errors, waiting `Retry-After` seconds when the server says
// so. Embedding requests go in batches, several in flight at once, over reused connections.
// Failures are BackendUnavailable (after the retries) or InvalidArgument (a reply that is not
// the OpenAI wire format).
//
// Thread safety: an LlmClient and everything made from it may be shared between threads.
#ifndef VMLLM_LLM_CLIENT_H_
#define VMLLM_LLM_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vmllm/async_compressor.h"
#include "vmllm/embedder.h"
#include "vmllm/status.h"

namespace vmllm {

struct LlmClientOptions {
  std::string base_url;                // Empty: $OPENAI_BASE_URL, else the OpenAI API.
  std::string api_key;                 // Empty: $OPENAI_API_KEY (may stay empty for local servers).
  double connect_timeout_seconds = 10;
  double timeout_seconds = 60;         // Per attempt.
  int max_retries = 4;                 // Attempts after the first.
  double backoff_seconds = 0.5;        // First retry delay; doubles per attempt, with jitter.
  double max_backoff_seconds = 30;     // Caps the backoff and Retry-After.
  size_t max_in_flight = 8;            // Concurrent requests of one batch call.
  size_t embedding_batch_size = 64;    // Texts per embeddings request.
};

struct ChatMessage {
  std::string role;  // "system", "user", "assistant".
  std::string content;
};

struct LlmClientStats {
  uint64_t requests = 0;  // HTTP attempts sent.
  uint64_t retries = 0;
  uint64_t failures = 0;  // Requests that failed for good.
};

class LlmClient {
 public:
  // InvalidArgument for a base URL that is not http(s) or a negative timeout.
  static Result<std::shared_ptr<LlmClient>> Create(LlmClientOptions options);
  virtual ~LlmClient() = default;

  virtual const std::string& base_url() const = 0;
  virtual LlmClientStats Stats() const = 0;

  // POST {base_url}/chat/completions; returns the first choice's message content. Stops early
  // with BackendUnavailable when `*cancel` becomes true.
  virtual Result<std::string> Chat(const std::string& model,
                                   const std::vector<ChatMessage>& messages,
                                   const std::atomic<bool>* cancel = nullptr) = 0;

  // POST {base_url}/chat/completions with a request body the caller built (tools, tool
  // results, sampling options: any field of the OpenAI wire format), through the same timeouts
  // and retries as Chat. Returns the reply body, checked to be a JSON object. InvalidArgument
  // when `request_json` is not a JSON object.
  virtual Result<std::string> Complete(std::string_view request_json,
                                       const std::atomic<bool>* cancel = nullptr) = 0;

  // POST {base_url}/embeddings, one request per `embedding_batch_size` texts, several at once.
  // Returns one vector per text, in order, each of the same length. `dimensions` > 0 is sent
  // as the request's "dimensions" field (models that can shorten their vectors honour it).
  virtual Result<std::vector<std::vector<float>>> Embed(
      const std::string& model, const std::vector<std::string>& texts,
      const std::atomic<bool>* cancel = nullptr, size_t dimensions = 0) = 0;
};

// The instruction an LLM compressor gives the model (the system message).
const char* CompressionPrompt();

// Compress-on-evict through `model` on `threads` background threads. Name() is "openai:<model>".
// Destroying it cancels queued and running jobs (each still gets its `done`).
std::shared_ptr<AsyncCompressor> NewLlmCompressor(std::shared_ptr<LlmClient> client,
                                                  std::string model, size_t threads = 4);

// An embedder over `model`. `requested_dimensions` > 0 is sent with every request (the OpenAI
// "dimensions" field) and is the dimension. Otherwise `dimension` is the model's known size, or
// 0: then it is learned by embedding one probe text at first use (Prepare), never here, so that
// constructing the embedder needs no server. Vectors of any other size are refused with
// InvalidArgument naming both sizes. Name() is "openai:<model>:<base_url>", so another
// server's vectors never mix with these.
Result<std::shared_ptr<Embedder>> NewLlmEmbedder(std::shared_ptr<LlmClient> client,
                                                 std::string model, size_t dimension = 0,
                                                 size_t requested_dimensions = 0);

}  // namespace vmllm

#endif  // VMLLM_LLM_CLIENT_H_
