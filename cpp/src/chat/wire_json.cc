// The wire adapters: OpenAI Chat Completions and Anthropic Messages item by item
// (wire_adapters.h), the responses and tool exchanges of every format (wire.h), and the
// dispatch to OpenAI Responses (wire_responses.cc). Every JSON error or unexpected shape becomes
// an InvalidArgument that names what was wrong. A new format adds one branch per switch below
// and its tool entry in chat_json.h.
#include "chat/wire.h"
#include "chat/wire_adapters.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "chat/chat_json.h"
#include "chat/wire_responses.h"
#include "vmllm/json_limits.h"

namespace vmllm {
namespace wire_adapters {
namespace {

using chat_json::Bad;
using chat_json::Dump;
using chat_json::LooksLikeError;
using chat_json::ReadToolCall;

// Text of an OpenAI content (string, null, or parts) or an Anthropic content (string or
// blocks); what is not text is left out.
std::string ContentText(const json& content) {
  std::string out;
  chat_json::ContentText(content, &out);
  return out;
}

Status ParseOpenAIMessage(size_t i, const json& m, std::vector<Msg>* out) {
  const std::string where = "messages[" + std::to_string(i) + "]";
  if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
    return Bad(where + " has no string 'role'");
  }
  const std::string role = m["role"].get<std::string>();
  const json content = m.contains("content") ? m["content"] : json();
  if (!content.is_null() && !content.is_string() && !content.is_array()) {
    return Bad(where + ".content must be a string, an array or null");
  }
  Msg msg;
  msg.wire_message = i;
  msg.text = ContentText(content);
  if (role == "tool" || role == "function") {
    msg.kind = Msg::kToolResult;
    if (m.contains("tool_call_id") && m["tool_call_id"].is_string()) {
      msg.tool_call_id = m["tool_call_id"].get<std::string>();
    } else if (role == "tool") {
      return Bad(where + " (role tool) has no string 'tool_call_id'");
    }
    msg.is_error = LooksLikeError(msg.text);
  } else if (role == "assistant") {
    msg.kind = Msg::kAssistant;
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      if (!m["tool_calls"].is_array()) return Bad(where + ".tool_calls must be an array");
      for (const json& c : m["tool_calls"]) {
        if (!c.is_object() || !c.contains("function") || !c["function"].is_object() ||
            !c["function"].contains("name") || !c["function"]["name"].is_string()) {
          return Bad(where + ".tool_calls has an entry without function.name");
        }
        ToolCall call = ReadToolCall(c);
        msg.call_bytes += call.name.size() + call.arguments.size();
        msg.calls.push_back(std::move(call));
      }
    }
  } else if (role == "system" || role == "developer") {
    msg.kind = Msg::kSystem;
  } else if (role == "user") {
    msg.kind = Msg::kUser;
  } else {
    return Bad(where + " has unknown role '" + role + "'");
  }
  out->push_back(std::move(msg));
  return Status();
}

Status ParseAnthropicMessage(size_t i, const json& m, std::vector<Msg>* out) {
  const std::string where = "messages[" + std::to_string(i) + "]";
  if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
    return Bad(where + " has no string 'role'");
  }
  const std::string role = m["role"].get<std::string>();
  if (role != "user" && role != "assistant") return Bad(where + " has unknown role '" + role + "'");
  if (!m.contains("content") || (!m["content"].is_string() && !m["content"].is_array())) {
    return Bad(where + ".content must be a string or an array of blocks");
  }
  const json& content = m["content"];
  Msg text_msg;
  text_msg.kind = role == "user" ? Msg::kUser : Msg::kAssistant;
  text_msg.wire_message = i;
  if (content.is_string()) {
    text_msg.text = content.get<std::string>();
    out->push_back(std::move(text_msg));
    return Status();
  }
  std::vector<Msg> results;
  bool has_text = false;
  for (size_t b = 0; b < content.size(); ++b) {
    const json& block = content[b];
    if (!block.is_object() || !block.contains("type") || !block["type"].is_string()) {
      return Bad(where + ".content[" + std::to_string(b) + "] has no string 'type'");
    }
    const std::string type = block["type"].get<std::string>();
    if (type == "text" && block.contains("text") && block["text"].is_string()) {
      if (has_text) text_msg.text += "\n";
      text_msg.text += block["text"].get<std::string>();
      has_text = true;
    } else if (type == "tool_use") {
      if (!block.contains("name") || !block["name"].is_string()) {
        return Bad(where + " has a tool_use block without a name");
      }
      ToolCall call = ReadToolCall(block);
      text_msg.call_bytes += call.name.size() + call.arguments.size();
      text_msg.calls.push_back(std::move(call));
    } else if (type == "tool_result") {
      Msg r;
      r.kind = Msg::kToolResult;
      r.wire_message = i;
      r.wire_block = static_cast<int>(b);
      if (block.contains("tool_use_id") && block["tool_use_id"].is_string()) {
        r.tool_call_id = block["tool_use_id"].get<std::string>();
      }
      if (block.contains("content")) r.text = ContentText(block["content"]);
      r.is_error = block.contains("is_error") && block["is_error"].is_boolean() &&
                   block["is_error"].get<bool>();
      results.push_back(std::move(r));
    }
  }
  // Results first: they answer the previous assistant turn; any text is the human's.
  for (Msg& r : results) out->push_back(std::move(r));
  if (has_text || !text_msg.calls.empty() || results.empty()) out->push_back(std::move(text_msg));
  return Status();
}

}  // namespace

const char* ItemsMember(WireFormat wire) {
  return wire == WireFormat::kOpenAIResponses ? "input" : "messages";
}

const char* SystemMember(WireFormat wire) {
  switch (wire) {
    case WireFormat::kAnthropic:
      return "system";
    case WireFormat::kOpenAIResponses:
      return "instructions";
    case WireFormat::kOpenAI:
      break;
  }
  return nullptr;
}

Status ParseItem(WireFormat wire, size_t index, const json& item, std::vector<Msg>* out) {
  switch (wire) {
    case WireFormat::kOpenAI:
      return ParseOpenAIMessage(index, item, out);
    case WireFormat::kAnthropic:
      return ParseAnthropicMessage(index, item, out);
    case WireFormat::kOpenAIResponses:
      return responses_wire::ParseItem(index, item, out);
  }
  return Bad("unknown wire format");
}

Status ParseTools(WireFormat wire, const json& tools, std::vector<ToolSchema>* out,
                  std::vector<size_t>* entries) {
  if (wire == WireFormat::kOpenAIResponses) return responses_wire::ParseTools(tools, out, entries);
  if (!tools.is_array()) return Bad("'tools' must be an array");
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    const json* fn = &t;  // Anthropic: {"name","description","input_schema"}.
    if (wire == WireFormat::kOpenAI) {
      if (!t.is_object() || !t.contains("function") || !t["function"].is_object()) {
        return Bad("tools[" + std::to_string(i) + "] has no 'function' object");
      }
      fn = &t["function"];
    }
    if (!fn->is_object() || !fn->contains("name") || !(*fn)["name"].is_string()) {
      return Bad("tools[" + std::to_string(i) + "] has no string 'name'");
    }
    ToolSchema schema;
    schema.name = (*fn)["name"].get<std::string>();
    if (fn->contains("description") && (*fn)["description"].is_string()) {
      schema.description = (*fn)["description"].get<std::string>();
    }
    schema.json = Dump(t);
    schema.json_bytes = schema.json.size();
    out->push_back(std::move(schema));
    entries->push_back(i);
  }
  return Status();
}

Status ParseSystem(WireFormat wire, const json& system, std::string* out) {
  if (wire == WireFormat::kOpenAIResponses) {
    if (!system.is_null() && !system.is_string() && !system.is_array()) {
      return Bad("'instructions' must be a string");
    }
  } else if (!system.is_string() && !system.is_array()) {
    return Bad("'system' must be a string or blocks");
  }
  *out = ContentText(system);
  return Status();
}

void SetResultText(WireFormat wire, const Msg& msg, const std::string& text, json* item) {
  if (wire == WireFormat::kOpenAIResponses) {
    (*item)["output"] = text;
    return;
  }
  json& target = msg.wire_block >= 0 ? (*item)["content"][msg.wire_block] : *item;
  target["content"] = text;
}

json ToolEntry(WireFormat wire, const ToolSchema& tool) {
  json schema = tool.json.empty() ? json{{"type", "object"}, {"properties", json::object()}}
                                  : json::parse(tool.json, nullptr, false);
  return chat_json::ToolEntry(wire, tool.name, tool.description, std::move(schema));
}

json FoldItem(WireFormat wire, const std::string& text) {
  if (wire == WireFormat::kOpenAIResponses) {
    return json{{"type", "message"}, {"role", "user"}, {"content", text}};
  }
  return json{{"role", "user"}, {"content", text}};
}

}  // namespace wire_adapters

namespace {
using json = nlohmann::ordered_json;
using chat_json::Dump;
using chat_json::ReadToolCall;
}  // namespace

Result<std::vector<ToolCall>> ParseResponseCalls(WireFormat wire, const std::string& response) {
  VMLLM_RETURN_IF_ERROR(CheckJsonLimits(response, "upstream response", kMaxLlmReplyBytes));
  try {
    json doc = json::parse(response, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      return Status::InvalidArgument("upstream response is not a JSON object");
    }
    std::vector<ToolCall> calls;
    switch (wire) {
      case WireFormat::kOpenAIResponses:
        return responses_wire::ResponseCalls(doc);
      case WireFormat::kOpenAI: {
        if (!doc.contains("choices") || !doc["choices"].is_array() || doc["choices"].empty()) {
          return calls;
        }
        const json& msg = doc["choices"][0].value("message", json::object());
        if (!msg.contains("tool_calls") || !msg["tool_calls"].is_array()) return calls;
        for (const json& c : msg["tool_calls"]) {
          if (!c.is_object()) return Status::InvalidArgument("upstream tool call is not an object");
          calls.push_back(ReadToolCall(c));
        }
        break;
      }
      case WireFormat::kAnthropic:
        if (!doc.contains("content") || !doc["content"].is_array()) return calls;
        for (const json& block : doc["content"]) {
          if (block.value("type", "") == "tool_use") calls.push_back(ReadToolCall(block));
        }
        break;
    }
    return calls;
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("unexpected upstream response: ") + e.what());
  }
}

Result<std::string> AppendToolExchange(
    WireFormat wire, const std::string& request, const std::string& response,
    const std::vector<std::pair<std::string, std::string>>& results) {
  VMLLM_RETURN_IF_ERROR(CheckJsonLimits(request, "request body", kMaxRequestBodyBytes));
  VMLLM_RETURN_IF_ERROR(CheckJsonLimits(response, "upstream response", kMaxLlmReplyBytes));
  try {
    json req = json::parse(request, nullptr, false);
    json resp = json::parse(response, nullptr, false);
    if (req.is_discarded() || resp.is_discarded()) {
      return Status::InvalidArgument("tool exchange: not valid JSON");
    }
    if (!req.is_object() || !resp.is_object()) {
      return Status::InvalidArgument("tool exchange: request and response must be JSON objects");
    }
    if (wire == WireFormat::kOpenAIResponses) {
      VMLLM_RETURN_IF_ERROR(responses_wire::AppendExchange(&req, resp, results));
      return Dump(req);
    }
    json& messages = req["messages"];
    switch (wire) {
      case WireFormat::kOpenAIResponses:  // Returned above.
        break;
      case WireFormat::kOpenAI: {
        const json& msg = resp["choices"][0]["message"];
        json assistant = {{"role", "assistant"}, {"content", msg.value("content", json())}};
        assistant["tool_calls"] = msg["tool_calls"];
        messages.push_back(assistant);
        for (const auto& [id, text] : results) {
          messages.push_back({{"role", "tool"}, {"tool_call_id", id}, {"content", text}});
        }
        break;
      }
      case WireFormat::kAnthropic: {
        messages.push_back({{"role", "assistant"}, {"content", resp["content"]}});
        json blocks = json::array();
        for (const auto& [id, text] : results) {
          blocks.push_back({{"type", "tool_result"}, {"tool_use_id", id}, {"content", text}});
        }
        messages.push_back({{"role", "user"}, {"content", blocks}});
        break;
      }
    }
    return Dump(req);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("tool exchange: ") + e.what());
  }
}

}  // namespace vmllm
