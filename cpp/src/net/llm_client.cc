// The OpenAI wire format over HttpClient: request bodies and reply parsing with nlohmann/json,
// which stays inside this file.
#include "vmllm/llm_client.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "net/http_client.h"
#include "vmllm/json_limits.h"

namespace vmllm {
namespace {

using nlohmann::json;

constexpr const char* kDefaultBaseUrl = "https://api.openai.com/v1";

std::string FromEnv(const std::string& given, const char* name, const char* fallback) {
  if (!given.empty()) return given;
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

// Serialises with invalid UTF-8 replaced, so a bad byte can never make the request fail.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

class LlmClientImpl : public LlmClient {
 public:
  LlmClientImpl(std::string base_url, LlmClientOptions options, HttpClientOptions http)
      : base_url_(std::move(base_url)), options_(std::move(options)), http_(std::move(http)) {}

  const std::string& base_url() const override { return base_url_; }

  LlmClientStats Stats() const override {
    HttpCounters c = http_.counters();
    return LlmClientStats{c.requests, c.retries, c.failures};
  }

  Result<std::string> Chat(const std::string& model, const std::vector<ChatMessage>& messages,
                           const std::atomic<bool>* cancel) override {
    // No sampling parameters: reasoning models reject "temperature".
    json body = {{"model", model}, {"messages", json::array()}};
    for (const ChatMessage& m : messages) {
      body["messages"].push_back({{"role", m.role}, {"content", m.content}});
    }
    const std::string url = base_url_ + "/chat/completions";
    auto replies = http_.PostJson(url, {Dump(body)}, cancel);
    if (!replies[0].ok()) return replies[0].status();
    VMLLM_RETURN_IF_ERROR(CheckReply(url, *replies[0]));
    json reply = json::parse(*replies[0], nullptr, /*allow_exceptions=*/false);
    if (reply.is_discarded()) return Malformed(url, "the reply is not JSON", *replies[0]);
    const json* content = nullptr;
    if (reply.is_object() && reply.contains("choices") && reply["choices"].is_array() &&
        !reply["choices"].empty() && reply["choices"][0].is_object()) {
      const json& choice = reply["choices"][0];
      if (choice.contains("message") && choice["message"].is_object() &&
          choice["message"].contains("content")) {
        content = &choice["message"]["content"];
      }
    }
    if (!content || !content->is_string()) {
      return Malformed(url, "no choices[0].message.content string", *replies[0]);
    }
    return content->get<std::string>();
  }

  Result<std::string> Complete(std::string_view request_json,
                               const std::atomic<bool>* cancel) override {
    VMLLM_RETURN_IF_ERROR(
        CheckJsonLimits(request_json, "a chat completion request", kMaxRequestBodyBytes));
    json body = json::parse(request_json.begin(), request_json.end(), nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return Status::InvalidArgument("a chat completion request must be a JSON object");
    }
    const std::string url = base_url_ + "/chat/completions";
    auto replies = http_.PostJson(url, {std::string(request_json)}, cancel);
    if (!replies[0].ok()) return replies[0].status();
    VMLLM_RETURN_IF_ERROR(CheckReply(url, *replies[0]));
    json reply = json::parse(*replies[0], nullptr, /*allow_exceptions=*/false);
    if (reply.is_discarded() || !reply.is_object()) {
      return Malformed(url, "the reply is not a JSON object", *replies[0]);
    }
    return std::move(replies[0]).value();
  }

  Result<std::vector<std::vector<float>>> Embed(const std::string& model,
                                                const std::vector<std::string>& texts,
                                                const std::atomic<bool>* cancel,
                                                size_t dimensions) override {
    std::vector<std::vector<float>> vectors;
    if (texts.empty()) return vectors;
    const size_t batch = std::max<size_t>(1, options_.embedding_batch_size);
    std::vector<std::string> bodies;
    for (size_t start = 0; start < texts.size(); start += batch) {
      json input = json::array();
      for (size_t i = start; i < std::min(texts.size(), start + batch); ++i) {
        input.push_back(texts[i]);
      }
      json body = {{"model", model}, {"input", std::move(input)}};
      if (dimensions > 0) body["dimensions"] = dimensions;
      bodies.push_back(Dump(body));
    }
    const std::string url = base_url_ + "/embeddings";
    auto replies = http_.PostJson(url, bodies, cancel);
    vectors.resize(texts.size());
    for (size_t b = 0; b < replies.size(); ++b) {
      if (!replies[b].ok()) return replies[b].status();
      const size_t first = b * batch, count = std::min(batch, texts.size() - first);
      Status s = ParseEmbeddings(url, *replies[b], count, &vectors[first]);
      if (!s.ok()) return s;
    }
    for (const auto& v : vectors) {
      if (v.size() != vectors[0].size()) {
        return Status::InvalidArgument("embeddings from " + url +
                                       " have different lengths within one call");
      }
    }
    return vectors;
  }

 private:
  // A server's reply is untrusted input too: limited before it is parsed.
  Status CheckReply(const std::string& url, const std::string& reply) {
    Status s = CheckJsonLimits(reply, "the reply", kMaxLlmReplyBytes);
    return s.ok() ? s : Malformed(url, s.message(), reply);
  }

  Status Malformed(const std::string& url, const std::string& why, const std::string& reply) {
    return Status::InvalidArgument(http_.Scrub("malformed reply from " + url + ": " + why +
                                               " (reply begins: " + reply.substr(0, 200) + ")"));
  }

  // Fills out[0..count) from {"data": [{"index": i, "embedding": [...]}, ...]}.
  Status ParseEmbeddings(const std::string& url, const std::string& text, size_t count,
                         std::vector<float>* out) {
    VMLLM_RETURN_IF_ERROR(CheckReply(url, text));
    json reply = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (reply.is_discarded()) return Malformed(url, "the reply is not JSON", text);
    if (!reply.is_object() || !reply.contains("data") || !reply["data"].is_array()) {
      return Malformed(url, "no \"data\" array", text);
    }
    const json& data = reply["data"];
    if (data.size() != count) {
      return Malformed(url, std::to_string(data.size()) + " embeddings for " +
                                std::to_string(count) + " inputs", text);
    }
    for (size_t i = 0; i < data.size(); ++i) {
      const json& item = data[i];
      if (!item.is_object() || !item.contains("embedding") || !item["embedding"].is_array() ||
          item["embedding"].empty()) {
        return Malformed(url, "data[" + std::to_string(i) + "] has no embedding array", text);
      }
      size_t index = i;
      if (item.contains("index")) {
        if (!item["index"].is_number_unsigned() || item["index"].get<size_t>() >= count) {
          return Malformed(url, "data[" + std::to_string(i) + "].index is out of range", text);
        }
        index = item["index"].get<size_t>();
      }
      std::vector<float>& v = out[index];
      v.clear();
      for (const json& x : item["embedding"]) {
        if (!x.is_number()) return Malformed(url, "an embedding holds a non-number", text);
        v.push_back(x.get<float>());
      }
    }
    for (size_t i = 0; i < count; ++i) {
      if (out[i].empty()) return Malformed(url, "an input got no embedding", text);
    }
    return Status();
  }

  std::string base_url_;
  LlmClientOptions options_;
  HttpClient http_;
};

}  // namespace

Result<std::shared_ptr<LlmClient>> LlmClient::Create(LlmClientOptions options) {
  std::string base_url = FromEnv(options.base_url, "OPENAI_BASE_URL", kDefaultBaseUrl);
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  if (base_url.rfind("http://", 0) != 0 && base_url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("LLM base URL must start with http:// or https://, not '" +
                                   base_url.substr(0, 200) + "'");
  }
  if (!(options.timeout_seconds > 0) || !(options.connect_timeout_seconds > 0) ||
      options.max_retries < 0 || !(options.backoff_seconds >= 0) ||
      !(options.max_backoff_seconds >= 0)) {
    return Status::InvalidArgument(
        "LLM client timeouts must be positive and retries and backoff non-negative");
  }
  HttpClientOptions http;
  http.bearer_token = FromEnv(options.api_key, "OPENAI_API_KEY", "");
  http.connect_timeout_seconds = options.connect_timeout_seconds;
  http.timeout_seconds = options.timeout_seconds;
  http.max_retries = options.max_retries;
  http.backoff_seconds = options.backoff_seconds;
  http.max_backoff_seconds = options.max_backoff_seconds;
  http.max_in_flight = options.max_in_flight;
  options.api_key.clear();  // Only the HTTP layer keeps it.
  return std::shared_ptr<LlmClient>(
      std::make_shared<LlmClientImpl>(std::move(base_url), std::move(options), std::move(http)));
}

}  // namespace vmllm
