#include "memory/message_json.h"

#include <ctime>

#include <nlohmann/json.hpp>

#include "vmllm/json_limits.h"

namespace vmllm {
namespace {

using Json = nlohmann::json;

std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<Json> ParseObject(std::string_view text, const char* what) {
  // Before parsing: nlohmann recurses once per level, and what is stored must load in Python.
  VMLLM_RETURN_IF_ERROR(CheckJsonLimits(text, what, kMaxMessageBytes));
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(std::string(what) + " is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument(std::string(what) + " must be a JSON object");
  return j;
}

// Text of a content value: a string, or the "text" fields of a list of parts.
Result<std::string> ContentText(const Json& content) {
  if (content.is_null()) return std::string();
  if (content.is_string()) return content.get<std::string>();
  if (content.is_array()) {
    std::string out;
    for (const Json& part : content) {
      if (!part.is_object()) return Status::InvalidArgument("content parts must be objects");
      auto it = part.find("text");
      if (it != part.end() && it->is_string()) {
        if (!out.empty()) out += '\n';
        out += it->get<std::string>();
      }
    }
    return out;
  }
  return Status::InvalidArgument("message content must be a string, a list of parts or null");
}

ArgValue ToArg(const Json& v) {
  ArgValue a;
  if (v.is_string()) {
    a.type = ArgValue::Type::kString;
    a.text = v.get<std::string>();
  } else if (v.is_number_integer() || v.is_number_unsigned()) {
    a.type = ArgValue::Type::kInteger;
    a.integer = v.get<int64_t>();
    a.text = Dump(v);
  } else if (v.is_number_float() && v.get<double>() == static_cast<double>(v.get<int64_t>())) {
    a.type = ArgValue::Type::kInteger;  // 2.0 from a model means 2.
    a.integer = v.get<int64_t>();
    a.text = Dump(v);
  } else if (v.is_boolean()) {
    a.type = ArgValue::Type::kBool;
    a.boolean = v.get<bool>();
    a.text = Dump(v);
  } else {
    a.text = Dump(v);
  }
  return a;
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
        text += ' ' + (args->is_string() ? args->get<std::string>() : Dump(*args));
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

Result<ParsedToolCall> ParseToolCall(std::string_view json) {
  auto parsed = ParseObject(json, "tool call");
  if (!parsed.ok()) return parsed.status();
  Json& j = *parsed;
  ParsedToolCall call;
  if (j.contains("id") && j["id"].is_string()) call.id = j["id"].get<std::string>();
  const Json* holder = &j;
  if (j.contains("function") && j["function"].is_object()) holder = &j["function"];
  if (!holder->contains("name") || !(*holder)["name"].is_string()) {
    return Status::InvalidArgument("tool call needs a string 'name'");
  }
  call.name = (*holder)["name"].get<std::string>();
  Json args = Json::object();
  for (const char* key : {"arguments", "input"}) {
    auto it = holder->find(key);
    if (it == holder->end() || it->is_null()) continue;
    if (it->is_string()) {
      std::string text = it->get<std::string>();
      if (text.find_first_not_of(" \t\r\n") == std::string::npos) break;  // "" means no args.
      // JSON inside a string: the envelope's check did not see its brackets.
      if (Status s = CheckJsonLimits(text, "the arguments text", kMaxMessageBytes); !s.ok()) {
        call.error = s.message();
        return call;
      }
      args = Json::parse(text, nullptr, false);
      if (args.is_discarded()) {
        call.error = "the arguments are not valid JSON";
        return call;
      }
      if (args.is_null()) args = Json::object();
    } else {
      args = *it;
    }
    break;
  }
  if (!args.is_object()) {
    call.error = "the arguments must be a JSON object";
    return call;
  }
  for (auto it = args.begin(); it != args.end(); ++it) call.args[it.key()] = ToArg(it.value());
  return call;
}

std::string ToolStatusJson(bool ok, std::string_view message) {
  Json j = Json::object();
  j["status"] = ok ? "OK" : "Failed";
  j["message"] = std::string(message);
  return Dump(j);
}

std::string SearchPageJson(const MemorySearchPage& page, bool with_role) {
  Json results = Json::array();
  for (const MemoryHit& h : page.hits) {
    Json r = Json::object();
    char stamp[32];
    time_t t = static_cast<time_t>(h.timestamp);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S UTC", &tm);
    r["timestamp"] = stamp;
    if (with_role) r["role"] = h.role;
    r["content"] = h.content;
    results.push_back(std::move(r));
  }
  Json j = Json::object();
  j["status"] = "OK";
  j["page"] = page.page;
  j["total_pages"] = page.total_pages;
  j["total"] = page.total;
  j["results"] = std::move(results);
  return Dump(j);
}

std::string ToolSchemasJson(const std::vector<ToolSpec>& specs, bool anthropic) {
  Json out = Json::array();
  for (const ToolSpec& spec : specs) {
    Json properties = Json::object();
    Json required = Json::array();
    for (const ToolParam& p : spec.params) {
      properties[p.name] = {{"type", p.type}, {"description", p.description}};
      if (p.required) required.push_back(p.name);
    }
    Json schema = {{"type", "object"}, {"properties", properties}, {"required", required}};
    if (anthropic) {
      out.push_back({{"name", spec.name}, {"description", spec.description},
                     {"input_schema", schema}});
    } else {
      out.push_back({{"type", "function"},
                     {"function", {{"name", spec.name}, {"description", spec.description},
                                   {"parameters", schema}}}});
    }
  }
  return Dump(out);
}

}  // namespace vmllm
