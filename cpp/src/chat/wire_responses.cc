// The OpenAI Responses adapter. See wire_responses.h for how items map to the message model.
#include "chat/wire_responses.h"

#include <algorithm>

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

class ResponsesRequest : public WireRequest {
 public:
  explicit ResponsesRequest(json doc) : doc_(std::move(doc)) {
    conv_.wire = WireFormat::kOpenAIResponses;
  }

  Status Parse() {
    if (!doc_.is_object()) return Bad("the body must be a JSON object");
    auto input = doc_.find("input");
    if (input == doc_.end() || (!input->is_string() && !input->is_array())) {
      return Bad("'input' must be a string or a list of items");
    }
    if (input->is_array() && input->empty()) return Bad("'input' is empty");
    VMLLM_RETURN_IF_ERROR(ParseTools());
    conv_.forced_tool = chat_json::ForcedToolName(doc_);
    if (doc_.contains("instructions")) {
      const json& sys = doc_["instructions"];
      if (!sys.is_null() && !sys.is_string() && !sys.is_array()) {
        return Bad("'instructions' must be a string");
      }
      chat_json::ContentText(sys, &conv_.system);
    }
    if (input->is_string()) {
      Msg msg;
      msg.kind = Msg::kUser;
      msg.text = input->get<std::string>();
      conv_.msgs.push_back(std::move(msg));
      conv_.wire_messages = 1;
      return Status();
    }
    conv_.wire_messages = input->size();
    for (size_t i = 0; i < input->size(); ++i) VMLLM_RETURN_IF_ERROR(ParseItem(i, (*input)[i]));
    return Status();
  }

  const Conversation& conversation() const override { return conv_; }

  std::string Render(const Edits& edits) override {
    // Tools first: adding the "tools" key to an ordered object may move the other values.
    for (const auto& [index, stub] : edits.tool_stub) {
      doc_["tools"][tool_entry_[index]] = ToolJson(stub);
    }
    for (const ToolSchema& tool : edits.add_tools) doc_["tools"].push_back(ToolJson(tool));
    json& items = doc_["input"];
    if (!items.is_array()) return Dump(doc_);  // A string input has nothing else to edit.
    for (const auto& [index, text] : edits.result_text) {
      items[conv_.msgs[index].wire_message]["output"] = text;
    }
    std::vector<Fold> folds = edits.folds;
    std::sort(folds.begin(), folds.end(),
              [](const Fold& a, const Fold& b) { return a.from > b.from; });
    for (const Fold& fold : folds) {
      items.erase(items.begin() + fold.from, items.begin() + fold.to);
      items.insert(items.begin() + fold.from,
                   json{{"type", "message"}, {"role", "user"}, {"content", fold.text}});
    }
    return Dump(doc_);
  }

 private:
  json ToolJson(const ToolSchema& tool) const {
    json schema = tool.json.empty() ? json{{"type", "object"}, {"properties", json::object()}}
                                    : json::parse(tool.json, nullptr, false);
    return chat_json::ToolEntry(WireFormat::kOpenAIResponses, tool.name, tool.description,
                                std::move(schema));
  }

  Status ParseTools() {
    if (!doc_.contains("tools") || doc_["tools"].is_null()) return Status();
    const json& tools = doc_["tools"];
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
      conv_.tools.push_back(std::move(schema));
      tool_entry_.push_back(i);
    }
    return Status();
  }

  // The assistant Msg of the model response an item belongs to: the current run's, or a new one.
  Msg& Response(size_t i) {
    if (!in_response_) {
      Msg msg;
      msg.kind = Msg::kAssistant;
      msg.wire_message = i;
      conv_.msgs.push_back(std::move(msg));
      in_response_ = true;
    }
    return conv_.msgs.back();
  }

  Status ParseItem(size_t i, const json& item) {
    const std::string where = "input[" + std::to_string(i) + "]";
    if (!item.is_object()) return Bad(where + " is not an object");
    const std::string type = ItemType(item);
    if (type == "message") return ParseMessage(i, item, where);
    if (type == "function_call" || type == "custom_tool_call") {
      if (!HasString(item, "call_id") || !HasString(item, "name")) {
        return Bad(where + " (" + type + ") needs string 'call_id' and 'name'");
      }
      ToolCall call = ItemCall(item, type);
      Msg& response = Response(i);
      response.call_bytes += call.name.size() + call.arguments.size();
      response.calls.push_back(std::move(call));
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
      conv_.msgs.push_back(std::move(msg));
      in_response_ = false;
      return Status();
    }
    if (type == "reasoning") {
      Response(i);  // Opaque (often encrypted): it only marks the model's response.
      return Status();
    }
    if (type.empty()) return Bad(where + " has no string 'type'");
    return Status();  // Built-in tool calls, item references, compaction...: untouched.
  }

  Status ParseMessage(size_t i, const json& item, const std::string& where) {
    if (!HasString(item, "role")) return Bad(where + " has no string 'role'");
    const std::string role = item["role"].get<std::string>();
    const json content = item.contains("content") ? item["content"] : json();
    if (!content.is_null() && !content.is_string() && !content.is_array()) {
      return Bad(where + ".content must be a string or a list of content");
    }
    std::string text;
    chat_json::ContentText(content, &text);
    if (role == "assistant") {
      Msg& response = Response(i);
      if (!response.text.empty() && !text.empty()) response.text += '\n';
      response.text += text;
      return Status();
    }
    Msg msg;
    msg.wire_message = i;
    msg.text = std::move(text);
    if (role == "user") {
      msg.kind = Msg::kUser;
    } else if (role == "system" || role == "developer") {
      msg.kind = Msg::kSystem;
    } else {
      return Bad(where + " has unknown role '" + role + "'");
    }
    conv_.msgs.push_back(std::move(msg));
    in_response_ = false;
    return Status();
  }

  json doc_;
  Conversation conv_;
  std::vector<size_t> tool_entry_;  // Conversation::tools index -> index in "tools".
  bool in_response_ = false;        // The last item belongs to a model response.
};

}  // namespace

Result<std::unique_ptr<WireRequest>> ParseRequest(json doc) {
  auto request = std::make_unique<ResponsesRequest>(std::move(doc));
  VMLLM_RETURN_IF_ERROR(request->Parse());
  return std::unique_ptr<WireRequest>(std::move(request));
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
