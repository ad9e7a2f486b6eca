// JSON shapes shared by the chat adapters (wire_json.cc, message_json.cc, arguments.cc,
// tool_registry.cc): message content, tool calls and tool entries, read and written one way.
//
// Templates over the nlohmann type: the wire adapter keeps the client's key order
// (ordered_json) so untouched bytes go upstream as sent; stored messages and canonical
// arguments sort keys (json) so equal values compare equal.
#ifndef VMLLM_CHAT_CHAT_JSON_H_
#define VMLLM_CHAT_CHAT_JSON_H_

#include <cctype>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/message.h"
#include "vmllm/status.h"
#include "vmllm/wire_format.h"

namespace vmllm::chat_json {

inline Status Bad(const std::string& what) {
  return Status::InvalidArgument("malformed request: " + what);
}

// OpenAI carries no error flag on tool results; agents conventionally start them with "Error".
inline bool LooksLikeError(const std::string& text) {
  size_t i = text.find_first_not_of(" \t\r\n");
  if (i == std::string::npos) return false;
  std::string head = text.substr(i, 5);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return head == "error";
}

// Compact; invalid UTF-8 from a client is replaced rather than thrown on.
template <class J>
std::string Dump(const J& j) {
  return j.dump(-1, ' ', false, J::error_handler_t::replace);
}

// Text of a message content: a string, or the "text" fields of a list of parts or blocks,
// joined by newlines; null and anything else give "". Returns false when the content is not
// null, a string or a list of objects: the strict callers refuse it, the wire adapter ignores
// what it does not understand.
template <class J>
bool ContentText(const J& content, std::string* out) {
  out->clear();
  if (content.is_null()) return true;
  if (content.is_string()) {
    *out = content.template get<std::string>();
    return true;
  }
  if (!content.is_array()) return false;
  bool well_formed = true;
  for (const J& part : content) {
    if (!part.is_object()) {
      well_formed = false;
      continue;
    }
    auto text = part.find("text");
    if (text != part.end() && text->is_string()) {
      if (!out->empty()) *out += '\n';
      *out += text->template get<std::string>();
    }
  }
  return well_formed;
}

// Arguments as text: OpenAI sends a JSON string, Anthropic an object.
template <class J>
std::string ArgumentsText(const J& arguments) {
  if (arguments.is_string()) return arguments.template get<std::string>();
  return Dump(arguments);
}

// Where a tool call keeps its name and arguments: OpenAI nests them in "function"
// ({"id","type":"function","function":{"name","arguments":"<json>"}}), Anthropic's tool_use
// block has them at the top ({"type":"tool_use","id","name","input":{...}}).
template <class J>
const J& CallFunction(const J& call) {
  auto fn = call.find("function");
  return fn != call.end() && fn->is_object() ? *fn : call;
}

// The arguments of a call's function object: "arguments" (OpenAI) or "input" (Anthropic),
// whichever is present and not null; nullptr when neither is (a call without arguments).
template <class J>
const J* CallArguments(const J& fn) {
  for (const char* key : {"arguments", "input"}) {
    auto it = fn.find(key);
    if (it != fn.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

// A tool call in either shape as the model's ToolCall; a missing id or name stays "" (the
// callers that require them check first), missing arguments become "{}".
template <class J>
ToolCall ReadToolCall(const J& call) {
  ToolCall out;
  if (!call.is_object()) return out;
  auto id = call.find("id");
  if (id != call.end() && id->is_string()) out.id = id->template get<std::string>();
  const J& fn = CallFunction(call);
  auto name = fn.find("name");
  if (name != fn.end() && name->is_string()) out.name = name->template get<std::string>();
  const J* args = CallArguments(fn);
  out.arguments = args ? ArgumentsText(*args) : "{}";
  return out;
}

// A tool entry of a request's "tools" in `wire`'s shape; `parameters` is its JSON schema.
// Responses tools are flat and strict unless told otherwise: vmllm's schemas (and a stub's empty
// one) are not written for strict mode, so they say so.
template <class J>
J ToolEntry(WireFormat wire, const std::string& name, const std::string& description,
            J parameters) {
  switch (wire) {
    case WireFormat::kAnthropic:
      return J{{"name", name}, {"description", description}, {"input_schema", std::move(parameters)}};
    case WireFormat::kOpenAIResponses:
      return J{{"type", "function"},
               {"name", name},
               {"description", description},
               {"parameters", std::move(parameters)},
               {"strict", false}};
    case WireFormat::kOpenAI:
      break;
  }
  return J{{"type", "function"},
           {"function",
            {{"name", name}, {"description", description}, {"parameters", std::move(parameters)}}}};
}

// The tool a request's "tool_choice" forces, or "": Chat Completions {"type":"function",
// "function":{"name"}}, Anthropic {"type":"tool","name"}, Responses {"type":"function","name"}.
// Anything else ("auto", "required", a malformed choice) forces no one tool; the upstream
// judges its validity.
template <class J>
std::string ForcedToolName(const J& request) {
  auto choice = request.find("tool_choice");
  if (choice == request.end() || !choice->is_object()) return "";
  const J& fn = CallFunction(*choice);
  auto name = fn.find("name");
  return name != fn.end() && name->is_string() ? name->template get<std::string>() : "";
}

}  // namespace vmllm::chat_json

#endif  // VMLLM_CHAT_CHAT_JSON_H_
