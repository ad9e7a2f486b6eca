#include "chat/message_json.h"

#include <nlohmann/json.hpp>

#include "chat/chat_json.h"
#include "vmllm/json_limits.h"

namespace vmllm {
namespace {

// Sorted keys: the canonical form of a stored message.
using Json = nlohmann::json;
using chat_json::Dump;

Result<Json> ParseObject(std::string_view text, const char* what) {
  // Before parsing: nlohmann recurses once per level, and what is stored must load in Python.
  VMLLM_RETURN_IF_ERROR(CheckJsonLimits(text, what, kMaxMessageBytes));
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(std::string(what) + " is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument(std::string(what) + " must be a JSON object");
  return j;
}

// Text of a content value: a string, the "text" fields of a list of parts, or null.
Result<std::string> ContentText(const Json& content) {
  std::string text;
  if (chat_json::ContentText(content, &text)) return text;
  return Status::InvalidArgument(content.is_array()
                                     ? "content parts must be objects"
                                     : "message content must be a string, a list of parts or null");
}

}  // namespace

Result<ParsedMessage> ParseMessage(std::string_view json) {
  auto parsed = ParseObject(json, "message");
  if (!parsed.ok()) return parsed.status();
  Json& j = *parsed;
  ParsedMessage m;
  auto role = j.find("role");
  if (role == j.end() || !role->is_string()) {
    return Status::InvalidArgument("message needs a string 'role'");
  }
  m.role = role->get<std::string>();
  if (m.role != "system" && m.role != "user" && m.role != "assistant" && m.role != "tool") {
    return Status::InvalidArgument("message role must be system, user, assistant or tool, not '" +
                                   m.role + "'");
  }
  auto content = j.find("content");
  if (content == j.end() && m.role != "assistant") {
    return Status::InvalidArgument("a " + m.role + " message needs 'content'");
  }
  if (content != j.end()) {
    auto text = ContentText(*content);
    if (!text.ok()) return text.status();
    m.text = std::move(text).value();
  }
  auto calls = j.find("tool_calls");
  if (calls != j.end() && !calls->is_null()) {
    if (m.role != "assistant") {
      return Status::InvalidArgument("only assistant messages have tool_calls");
    }
    if (!calls->is_array()) return Status::InvalidArgument("tool_calls must be a list");
    for (const Json& call : *calls) {
      if (!call.is_object()) return Status::InvalidArgument("each tool call must be an object");
      auto id = call.find("id");
      if (id == call.end() || !id->is_string() || id->get<std::string>().empty()) {
        return Status::InvalidArgument("each tool call needs a non-empty string 'id'");
      }
      auto fn = call.find("function");
      if (fn == call.end() || !fn->is_object() || !fn->contains("name") ||
          !(*fn)["name"].is_string()) {
        return Status::InvalidArgument("each tool call needs 'function' with a string 'name'");
      }
      for (const std::string& seen : m.tool_call_ids) {
        if (seen == id->get<std::string>()) {
          return Status::InvalidArgument("duplicate tool call id '" + seen + "'");
        }
      }
      m.tool_call_ids.push_back(id->get<std::string>());
      m.tool_call_names.push_back((*fn)["name"].get<std::string>());
      std::string text = m.tool_call_names.back();
      auto args = fn->find("arguments");
      if (args != fn->end()) {
        text += ' ' + chat_json::ArgumentsText(*args);
      }
      m.tool_call_texts.push_back(std::move(text));
    }
  } else if (m.role == "assistant" && (content == j.end() || content->is_null())) {
    return Status::InvalidArgument("an assistant message needs 'content' or 'tool_calls'");
  }
  if (m.role == "tool") {
    auto id = j.find("tool_call_id");
    if (id == j.end() || !id->is_string() || id->get<std::string>().empty()) {
      return Status::InvalidArgument("a tool message needs a non-empty string 'tool_call_id'");
    }
    m.tool_call_id = id->get<std::string>();
  }
  m.canonical = Dump(j);
  return m;
}

std::string TextMessageJson(std::string_view role, std::string_view content) {
  Json j = Json::object();
  j["role"] = std::string(role);
  j["content"] = std::string(content);
  return Dump(j);
}

std::string ToolMessageJson(std::string_view tool_call_id, std::string_view content) {
  Json j = Json::object();
  j["role"] = "tool";
  j["tool_call_id"] = std::string(tool_call_id);
  j["content"] = std::string(content);
  return Dump(j);
}

}  // namespace vmllm
