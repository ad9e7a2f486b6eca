// The OpenAI Responses adapter. See wire_responses.h for how items map to the message model.
#include "chat/wire_responses.h"

#include "chat/chat_json.h"

namespace vmllm::responses_wire {
namespace {

// Key order as the client sent it, so the forwarded body differs only where the policy edits.
using json = nlohmann::ordered_json;
using chat_json::Bad;
using chat_json::Dump;

std::string StringField(const json& item, const char* key) {
  auto it = item.find(key);
  return it != item.end() && it->is_string() ? it->get<std::string>() : "";
}

bool HasString(const json& item, const char* key) {
  auto it = item.find(key);
  return it != item.end() && it->is_string();
}

// The type of an input item: a message may leave it out ({"role","content"}).
std::string ItemType(const json& item) {
  if (HasString(item, "type")) return item["type"].get<std::string>();
  return item.contains("role") ? "message" : "";
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A function_call or custom_tool_call item as a ToolCall. A custom tool's input is free text (a
// patch), its own canonical form.
ToolCall ItemCall(const json& item, const std::string& type) {
  ToolCall call{StringField(item, "call_id"), StringField(item, "name"), "{}"};
  if (type == "custom_tool_call") {
    call.arguments = StringField(item, "input");
    return call;
  }
  auto args = item.find("arguments");
  if (args != item.end() && !args->is_null()) call.arguments = chat_json::ArgumentsText(*args);
  return call;
}

Status ParseMessage(size_t i, const json& item, const std::string& where,
                    std::vector<Msg>* out) {
  if (!HasString(item, "role")) return Bad(where + " has no string 'role'");
  const std::string role = item["role"].get<std::string>();
  const json content = item.contains("content") ? item["content"] : json();
  if (!content.is_null() && !content.is_string() && !content.is_array()) {
    return Bad(where + ".content must be a string or a list of content");
  }
  Msg msg;
  msg.wire_message = i;
  chat_json::ContentText(content, &msg.text);
  if (role == "assistant") {
    msg.kind = Msg::kAssistant;
  } else if (role == "user") {
    msg.kind = Msg::kUser;
  } else if (role == "system" || role == "developer") {
    msg.kind = Msg::kSystem;
  } else {
    return Bad(where + " has unknown role '" + role + "'");
  }
  out->push_back(std::move(msg));
  return Status();
}

}  // namespace

Status ParseItem(size_t i, const json& item, std::vector<Msg>* out) {
  const std::string where = "input[" + std::to_string(i) + "]";
  if (!item.is_object()) return Bad(where + " is not an object");
  const std::string type = ItemType(item);
  if (type == "message") return ParseMessage(i, item, where, out);
  if (type == "function_call" || type == "custom_tool_call") {
    if (!HasString(item, "call_id") || !HasString(item, "name")) {
      return Bad(where + " (" + type + ") needs string 'call_id' and 'name'");
    }
    Msg response;
    response.kind = Msg::kAssistant;
    response.wire_message = i;
    ToolCall call = ItemCall(item, type);
    response.call_bytes = call.name.size() + call.arguments.size();
    response.calls.push_back(std::move(call));
    out->push_back(std::move(response));
    return Status();
  }
  if (type == "function_call_output" || type == "custom_tool_call_output") {
    if (!HasString(item, "call_id")) {
      return Bad(where + " (" + type + ") has no string 'call_id'");
    }
    auto output = item.find("output");
    if (output == item.end() || (!output->is_string() && !output->is_array())) {
      return Bad(where + ".output must be a string or a list of content");
    }
    Msg msg;
    msg.kind = Msg::kToolResult;
    msg.wire_message = i;
    msg.tool_call_id = item["call_id"].get<std::string>();
    chat_json::ContentText(*output, &msg.text);
    msg.is_error = chat_json::LooksLikeError(msg.text);
    out->push_back(std::move(msg));
    return Status();
  }
  if (type == "reasoning") {  // Opaque (often encrypted): it only marks the model's response.
    Msg response;
    response.kind = Msg::kAssistant;
    response.wire_message = i;
    out->push_back(std::move(response));
    return Status();
  }
  if (type.empty()) return Bad(where + " has no string 'type'");
  return Status();  // Built-in tool calls, item references, compaction...: untouched.
}

void MergeResponseRuns(std::vector<Msg>* msgs) {
  size_t kept = 0;
  for (size_t i = 0; i < msgs->size(); ++i) {
    Msg& m = (*msgs)[i];
    if (kept > 0 && m.kind == Msg::kAssistant && (*msgs)[kept - 1].kind == Msg::kAssistant) {
      Msg& run = (*msgs)[kept - 1];
      if (!run.text.empty() && !m.text.empty()) run.text += '\n';
      run.text += m.text;
      run.call_bytes += m.call_bytes;
      for (ToolCall& call : m.calls) run.calls.push_back(std::move(call));
      continue;
    }
    if (kept != i) (*msgs)[kept] = std::move(m);
    ++kept;
  }
  msgs->resize(kept);
}

Status ParseTools(const json& tools, std::vector<ToolSchema>* out, std::vector<size_t>* entries) {
  if (tools.is_null()) return Status();
  if (!tools.is_array()) return Bad("'tools' must be an array");
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    const std::string where = "tools[" + std::to_string(i) + "]";
    if (!t.is_object() || !HasString(t, "type")) return Bad(where + " has no string 'type'");
    if (t["type"] != "function") continue;  // Built-in and custom tools go up as sent.
    if (!HasString(t, "name")) return Bad(where + " has no string 'name'");
    ToolSchema schema;
    schema.name = t["name"].get<std::string>();
    schema.description = StringField(t, "description");
    schema.json = Dump(t);
    schema.json_bytes = schema.json.size();
    out->push_back(std::move(schema));
    entries->push_back(i);
  }
  return Status();
}

Result<std::vector<ToolCall>> ResponseCalls(const json& response) {
  std::vector<ToolCall> calls;
  auto output = response.find("output");
  if (output == response.end() || !output->is_array()) return calls;
  for (const json& item : *output) {
    if (!item.is_object()) return Status::InvalidArgument("upstream output item is not an object");
    const std::string type = StringField(item, "type");
    if (type == "function_call" || type == "custom_tool_call") {
      calls.push_back(ItemCall(item, type));
    } else if (EndsWith(type, "_call")) {
      calls.push_back(ToolCall{StringField(item, "call_id"), type, "{}"});
    }
  }
  return calls;
}

Status AppendExchange(json* request, const json& response,
                      const std::vector<std::pair<std::string, std::string>>& results) {
  json& input = (*request)["input"];
  if (input.is_string()) {
    const std::string text = input.get<std::string>();
    input = json::array({json{{"role", "user"}, {"content", text}}});
  }
  if (!input.is_array()) return Status::InvalidArgument("tool exchange: 'input' is not a list");
  auto output = response.find("output");
  if (output == response.end() || !output->is_array()) {
    return Status::InvalidArgument("tool exchange: the response has no 'output' list");
  }
  for (const json& item : *output) input.push_back(item);
  for (const auto& [id, text] : results) {
    input.push_back({{"type", "function_call_output"}, {"call_id", id}, {"output", text}});
  }
  return Status();
}

}  // namespace vmllm::responses_wire
