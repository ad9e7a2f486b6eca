#include "memory/tool_results.h"

#include <ctime>

#include <nlohmann/json.hpp>

#include "chat/chat_json.h"

namespace vmllm {
namespace {

using Json = nlohmann::json;
using chat_json::Dump;

}  // namespace

std::string ToolStatusJson(bool ok, std::string_view message) {
  Json j = Json::object();
  j["status"] = ok ? "OK" : "Failed";
  j["message"] = std::string(message);
  return Dump(j);
}

std::string SearchPageJson(const MemorySearchPage& page, bool with_role) {
  auto rows = [with_role](const std::vector<MemoryHit>& hits) {
    Json out = Json::array();
    for (const MemoryHit& h : hits) {
      Json r = Json::object();
      char stamp[32];
      time_t t = static_cast<time_t>(h.timestamp);
      struct tm tm;
      gmtime_r(&t, &tm);
      strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S UTC", &tm);
      r["timestamp"] = stamp;
      if (with_role) r["role"] = h.role;
      r["content"] = h.content;
      out.push_back(std::move(r));
    }
    return out;
  };
  Json j = Json::object();
  j["status"] = "OK";
  j["page"] = page.page;
  j["total_pages"] = page.total_pages;
  j["total"] = page.total;
  j["results"] = rows(page.hits);
  if (!page.context.empty()) j["context"] = rows(page.context);
  return Dump(j);
}

}  // namespace vmllm
