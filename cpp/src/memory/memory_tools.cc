// The executor of the memory tools the model calls (their schemas: chat/tool_registry.h).
//
// A failing call never breaks the conversation: bad arguments, an unknown tool or label, a
// read-only block or a full one all come back to the model as a "Failed" tool result, with a
// heartbeat so it may try again at once (as MemGPT does). Only storage failures are Statuses.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "chat/arguments.h"
#include "chat/message_json.h"
#include "chat/tool_registry.h"
#include "memory/conversation_memory_impl.h"
#include "memory/tool_results.h"
#include "vmllm/json_limits.h"

namespace vmllm {
namespace {

// A model-facing failure: the text becomes the tool result.
struct ToolError {
  std::string message;
};

bool GetString(const ParsedToolCall& call, const char* name, bool required, std::string* out,
               ToolError* err) {
  auto it = call.args.find(name);
  if (it == call.args.end()) {
    if (required) err->message = std::string("missing required argument '") + name + "' (string)";
    return !required;
  }
  if (it->second.type != ArgValue::Type::kString) {
    err->message = std::string("argument '") + name + "' must be a string";
    return false;
  }
  *out = it->second.text;
  return true;
}

bool GetPage(const ParsedToolCall& call, size_t* page, ToolError* err) {
  auto it = call.args.find("page");
  *page = 0;
  if (it == call.args.end()) return true;
  if (it->second.type == ArgValue::Type::kString) {
    // Models often quote numbers.
    char* end = nullptr;
    long long v = std::strtoll(it->second.text.c_str(), &end, 10);
    if (end && *end == '\0' && !it->second.text.empty() && v >= 0) {
      *page = static_cast<size_t>(v);
      return true;
    }
  } else if (it->second.type == ArgValue::Type::kInteger && it->second.integer >= 0) {
    *page = static_cast<size_t>(it->second.integer);
    return true;
  }
  err->message = "argument 'page' must be a non-negative integer";
  return false;
}

// "YYYY-MM-DD", optionally with " HH:MM[:SS]" or "THH:MM[:SS]" and a trailing "Z", in UTC.
// A date alone covers its whole day: `end_of_day` picks its last second.
bool ParseDate(const std::string& text, bool end_of_day, double* out) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char sep = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3) return false;
  std::string rest = text.substr(consumed);
  if (!rest.empty() && rest.back() == 'Z') rest.pop_back();
  bool date_only = rest.empty();
  if (!date_only) {
    int n = 0;
    int got = std::sscanf(rest.c_str(), "%c%2d:%2d%n:%2d%n", &sep, &h, &mi, &n, &s, &n);
    if (got < 3 || (sep != ' ' && sep != 'T') || static_cast<size_t>(n) != rest.size()) {
      return false;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  struct tm tm = {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  *out = static_cast<double>(timegm(&tm));
  if (date_only && end_of_day) *out += 86400.0 - 1e-3;
  else if (end_of_day) *out += date_only ? 0 : 0.999;
  return true;
}

}  // namespace

Result<std::string> ConversationMemoryImpl::ToolSchemas(std::string_view format) const {
  auto wire = ParseWireFormat(format);
  if (!wire.ok()) return wire.status();
  return ToolSchemasJson(ToolSet::kConversationMemory, *wire);
}

Result<std::string> ConversationMemoryImpl::RunToolLocked(const ParsedToolCall& call, bool* ok) {
  ToolError err;
  *ok = false;
  auto fail = [&](const std::string& message) -> Result<std::string> {
    return ToolStatusJson(false, "Error in " + call.name + ": " + message);
  };
  if (!call.error.empty()) return fail(call.error);
  // A status the model can act on becomes a failed tool result; storage failures propagate.
  auto model_error = [](const Status& s) {
    return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ||
           s.code() == StatusCode::kResourceExhausted;
  };
  if (call.name == "core_memory_append" || call.name == "core_memory_replace") {
    std::string label, content, old_content, new_content;
    bool append = call.name == "core_memory_append";
    if (!GetString(call, "label", true, &label, &err)) return fail(err.message);
    if (append) {
      if (!GetString(call, "content", true, &content, &err)) return fail(err.message);
    } else {
      if (!GetString(call, "old_content", true, &old_content, &err) ||
          !GetString(call, "new_content", true, &new_content, &err)) {
        return fail(err.message);
      }
      if (old_content.empty()) return fail("old_content must not be empty");
    }
    auto blocks = store_->AgentBlocks(options_.agent_id);
    if (!blocks.ok()) return blocks.status();
    std::string value;
    bool found = false;
    for (const MemoryBlock& b : *blocks) {
      if (b.label == label) {
        value = b.value;
        found = true;
      }
    }
    if (found) {
      if (append) {
        value += value.empty() ? content : "\n" + content;
      } else {
        size_t pos = value.find(old_content);
        if (pos == std::string::npos) {
          return fail("'" + old_content + "' does not occur in block '" + label + "'");
        }
        for (; pos != std::string::npos; pos = value.find(old_content, pos + new_content.size())) {
          value.replace(pos, old_content.size(), new_content);
        }
      }
    }
    Status s = EditBlockLocked(label, value, /*by_model=*/true);
    if (!s.ok()) return model_error(s) ? fail(s.message()) : Result<std::string>(s);
    *ok = true;
    return ToolStatusJson(true, "Block '" + label + "' updated.");
  }
  if (call.name == "archival_memory_insert") {
    std::string content;
    if (!GetString(call, "content", true, &content, &err)) return fail(err.message);
    auto id = ArchivalInsertLocked(content);
    if (!id.ok()) {
      return model_error(id.status()) ? fail(id.status().message())
                                      : Result<std::string>(id.status());
    }
    *ok = true;
    return ToolStatusJson(true, "Stored in archival memory.");
  }
  if (call.name == "archival_memory_search" || call.name == "conversation_search" ||
      call.name == "conversation_search_date") {
    size_t page = 0;
    if (!GetPage(call, &page, &err)) return fail(err.message);
    Result<MemorySearchPage> found = Status::Internal("unset");
    if (call.name == "conversation_search_date") {
      std::string start, end;
      if (!GetString(call, "start_date", true, &start, &err) ||
          !GetString(call, "end_date", true, &end, &err)) {
        return fail(err.message);
      }
      RecallQuery q;
      double t = 0;
      if (!ParseDate(start, false, &t)) return fail("start_date '" + start + "' is not YYYY-MM-DD");
      q.start = t;
      if (!ParseDate(end, true, &t)) return fail("end_date '" + end + "' is not YYYY-MM-DD");
      q.end = t;
      q.page = page;
      found = SearchRecallLocked(q);
    } else {
      std::string query;
      if (!GetString(call, "query", true, &query, &err)) return fail(err.message);
      if (query.find_first_not_of(" \t\r\n") == std::string::npos) return fail("query is empty");
      if (call.name == "archival_memory_search") {
        found = ArchivalSearchLocked(query, page);
      } else {
        RecallQuery q;
        q.text = query;
        q.page = page;
        found = SearchRecallLocked(q);
      }
    }
    if (!found.ok()) {
      return model_error(found.status()) ? fail(found.status().message())
                                         : Result<std::string>(found.status());
    }
    *ok = true;
    return SearchPageJson(*found, call.name != "archival_memory_search");
  }
  return fail("unknown tool; the memory tools are " + ToolNames(ToolSet::kConversationMemory));
}

std::string ToolCallQuery(std::string_view tool_call_json) {
  auto call = ParseToolCall(tool_call_json);
  if (!call.ok() || (call->name != "conversation_search" &&
                     call->name != "archival_memory_search")) {
    return std::string();
  }
  std::string query;
  ToolError err;
  return GetString(*call, "query", true, &query, &err) ? query : std::string();
}

Result<ToolOutcome> ConversationMemoryImpl::Execute(std::string_view tool_call_json, bool append) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  // Over the JSON limits is the caller's error, not a model's mistake to retry: raise, as
  // Append does, instead of answering with a failed call.
  VMLLM_RETURN_IF_ERROR(CheckJsonLimits(tool_call_json, "tool call", kMaxMessageBytes));
  ToolOutcome out;
  auto call = ParseToolCall(tool_call_json);
  if (!call.ok()) {
    out.content = ToolStatusJson(false, "Error: " + call.status().message());
  } else {
    out.tool_call_id = call->id;
    out.name = call->name;
    auto content = RunToolLocked(*call, &out.ok);
    if (!content.ok()) return content.status();
    out.content = std::move(content).value();
    auto hb = call->args.find("request_heartbeat");
    out.heartbeat = hb != call->args.end() &&
                    ((hb->second.type == ArgValue::Type::kBool && hb->second.boolean) ||
                     (hb->second.type == ArgValue::Type::kString && hb->second.text == "true"));
  }
  // After a failure the model gets another turn at once to correct itself.
  if (!out.ok) out.heartbeat = true;
  ++agent_.tool_calls;
  if (!out.ok) ++agent_.tool_errors;
  VMLLM_RETURN_IF_ERROR(SaveAgentLocked());
  if (!out.tool_call_id.empty()) out.message_json = ToolMessageJson(out.tool_call_id, out.content);
  if (append && !out.message_json.empty()) {
    std::vector<std::string> open = OpenToolCalls(Items());
    if (std::find(open.begin(), open.end(), out.tool_call_id) != open.end()) {
      auto appended = AppendLocked(out.message_json);
      if (!appended.ok()) return appended.status();
      out.appended = true;
      out.flush_pending = appended->flush_pending;
    }
  }
  return out;
}

}  // namespace vmllm
