#include "chat/arguments.h"

#include <nlohmann/json.hpp>

#include "chat/chat_json.h"
#include "vmllm/json_limits.h"

namespace vmllm {
namespace {

// Sorted keys: equal arguments in any order compare equal.
using Json = nlohmann::json;
using chat_json::Dump;

// The arguments text as JSON; discarded when it is not JSON or over the limits (`max_bytes`
// and kMaxJsonDepth: nlohmann recurses once per level). "" means no arguments: "{}".
Json ParseArguments(std::string_view text, size_t max_bytes, std::string* error = nullptr) {
  if (Status s = CheckJsonLimits(text, "the arguments text", max_bytes); !s.ok()) {
    if (error) *error = s.message();
    return Json(Json::value_t::discarded);
  }
  if (text.empty()) return Json::object();
  Json args = Json::parse(text.begin(), text.end(), nullptr, false);
  if (args.is_discarded() && error) *error = "the arguments are not valid JSON";
  return args;
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

std::pair<std::string, std::string> CanonicalArguments(const std::string& text) {
  Json args = ParseArguments(text, kMaxRequestBodyBytes);
  if (args.is_discarded()) return {text, text.substr(0, 80)};
  std::string canonical = Dump(args);
  std::string key;
  if (args.is_object()) {
    static const char* kKeyNames[] = {"path", "file_path", "filepath", "filename", "file",
                                      "url", "query", "pattern", "command", "cmd"};
    for (const char* name : kKeyNames) {
      if (args.contains(name) && args[name].is_string()) {
        key = args[name].get<std::string>();
        break;
      }
    }
    if (key.empty()) {
      for (const auto& [name, value] : args.items()) {
        if (value.is_string()) {
          key = value.get<std::string>();
          break;
        }
      }
    }
  }
  if (key.empty()) key = canonical;
  if (key.size() > 80) key = key.substr(0, 77) + "...";
  return {canonical, key};
}

std::vector<std::string> StringListArgument(const std::string& text, const std::string& field) {
  std::vector<std::string> out;
  Json args = ParseArguments(text, kMaxRequestBodyBytes);
  if (args.is_discarded() || !args.is_object() || !args.contains(field)) return out;
  const Json& v = args[field];
  if (v.is_string()) out.push_back(v.get<std::string>());
  if (v.is_array()) {
    for (const Json& e : v) {
      if (e.is_string()) out.push_back(e.get<std::string>());
    }
  }
  return out;
}

std::string StringArgument(const std::string& text, const std::string& field) {
  Json args = ParseArguments(text, kMaxRequestBodyBytes);
  if (args.is_discarded() || !args.is_object() || !args.contains(field) || !args[field].is_string()) {
    return "";
  }
  return args[field].get<std::string>();
}

long IntArgument(const std::string& text, const std::string& field, long fallback) {
  Json args = ParseArguments(text, kMaxRequestBodyBytes);
  if (args.is_discarded() || !args.is_object() || !args.contains(field)) return fallback;
  if (args[field].is_number_integer()) return args[field].get<long>();
  if (args[field].is_string()) {
    try {
      return std::stol(args[field].get<std::string>());
    } catch (...) {
      return fallback;
    }
  }
  return fallback;
}

Result<ParsedToolCall> ParseToolCall(std::string_view text) {
  // Before parsing: nlohmann recurses once per level.
  VMLLM_RETURN_IF_ERROR(CheckJsonLimits(text, "tool call", kMaxMessageBytes));
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("tool call is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("tool call must be a JSON object");
  const Json& fn = chat_json::CallFunction(j);
  if (!fn.contains("name") || !fn["name"].is_string()) {
    return Status::InvalidArgument("tool call needs a string 'name'");
  }
  ParsedToolCall call;
  if (j.contains("id") && j["id"].is_string()) call.id = j["id"].get<std::string>();
  call.name = fn["name"].get<std::string>();
  Json args = Json::object();
  const Json* given = chat_json::CallArguments(fn);
  if (given && given->is_string()) {
    const std::string& text = given->get_ref<const std::string&>();
    if (text.find_first_not_of(" \t\r\n") != std::string::npos) {  // Blank: no arguments.
      args = ParseArguments(text, kMaxMessageBytes, &call.error);
      if (!call.error.empty()) return call;
      if (args.is_null()) args = Json::object();
    }
  } else if (given) {
    args = *given;
  }
  if (!args.is_object()) {
    call.error = "the arguments must be a JSON object";
    return call;
  }
  for (auto it = args.begin(); it != args.end(); ++it) call.args[it.key()] = ToArg(it.value());
  return call;
}

}  // namespace vmllm
