// The wire request (wire.h) cut by spans: the body's top-level members and its items are found
// by json_spans, each item is parsed (nlohmann) only when its bytes differ from the previous
// request's item at that index, and Render splices the re-rendered items into the body as
// received.
#include <algorithm>
#include <cstring>
#include <map>

#include "chat/chat_json.h"
#include "chat/wire.h"
#include "chat/wire_adapters.h"
#include "chat/wire_responses.h"
#include "util/hash.h"
#include "util/json_spans.h"
#include "vmllm/json_limits.h"

namespace vmllm {

using chat_json::Bad;
using json_spans::Span;
using wire_adapters::json;

namespace {

// One item: its messages, and its rendering under the edits it had last.
struct ParsedItem {
  Span span;
  std::shared_ptr<const std::vector<Msg>> msgs;
  std::string edit_key;  // Empty: never rendered with edits.
  std::string rendered;
};

// A top-level member the adapters read.
struct ParsedMember {
  bool present = false;
  Span span;
};

std::string_view Bytes(std::string_view body, Span span) {
  return body.substr(span.begin, span.size());
}

bool SameBytes(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

// A scan error as the request's: past the depth limit (json_limits.h names it so), or malformed.
Status ScanError(const Status& scan) {
  if (scan.message().rfind("nested", 0) == 0) {
    return Status::InvalidArgument("request body is " + scan.message());
  }
  return Bad(scan.message());
}

// A span's JSON as a document; throws json::parse_error for malformed text.
json ParseSpan(std::string_view body, Span span) {
  const char* first = body.data() + span.begin;
  return json::parse(first, first + span.size());
}

}  // namespace

struct WireParser::Parsed {
  WireFormat wire = WireFormat::kOpenAI;
  std::string body;
  size_t object_end = 0;  // Just past the top-level object's closing brace.
  std::vector<ParsedItem> items;
  ParsedMember tools, system;
  std::vector<ToolSchema> tool_schemas;
  std::vector<size_t> tool_entries;  // Index in "tools" of each of tool_schemas.
  std::string system_text;
  std::string tools_edit_key, tools_rendered;  // The tools array rendered under the last edits.
};

namespace {

class SpanWireRequest : public WireRequest {
 public:
  explicit SpanWireRequest(std::shared_ptr<WireParser::Parsed> parsed)
      : parsed_(std::move(parsed)) {}

  // Builds the conversation; items equal to `previous`'s are taken from it.
  Status Parse(const WireParser::Parsed* previous);
  // Tools, system text and tool_choice; the tools and system of `previous` when unchanged.
  Status ParseHead(const WireParser::Parsed* previous, ParsedMember tool_choice);
  // A Responses request whose input is one string: one user message, nothing to edit but tools.
  Status ParseTextInput(Span input, ParsedMember tool_choice);

  const Conversation& conversation() const override { return conv_; }
  std::string Render(const Edits& edits) override;

 private:
  // The rendering of the tools array under `edits`, or "" when they leave it as it is.
  std::string RenderTools(const Edits& edits);

  std::shared_ptr<WireParser::Parsed> parsed_;
  Conversation conv_;
};

Status SpanWireRequest::Parse(const WireParser::Parsed* previous) {
  WireParser::Parsed& p = *parsed_;
  const std::string_view body = p.body;
  const WireFormat wire = p.wire;
  conv_.wire = wire;
  const size_t begin = json_spans::SkipSpace(body, 0);
  if (begin >= body.size() || body[begin] != '{') {
    auto end = json_spans::ValueEnd(body, begin, kMaxJsonDepth);  // Too deep is named as such.
    if (!end.ok()) return ScanError(end.status());
    return Bad("the body must be a JSON object");
  }
  auto members = json_spans::ObjectMembers(body, begin, kMaxJsonDepth, 0, &p.object_end);
  if (!members.ok()) return ScanError(members.status());
  if (json_spans::SkipSpace(body, p.object_end) != body.size()) {
    return Bad("text after the JSON object");
  }
  const std::string items_key = wire_adapters::ItemsMember(wire);
  const char* system_key = wire_adapters::SystemMember(wire);
  ParsedMember items, tool_choice;
  for (const json_spans::Member& m : *members) {
    // The members vmllm reads must mean what they say to every JSON reader upstream.
    if (m.key.find('\\') != std::string_view::npos) {
      return Bad("escaped member names are not accepted at the top level");
    }
    ParsedMember* slot = m.key == items_key                  ? &items
                         : m.key == "tools"                  ? &p.tools
                         : m.key == "tool_choice"            ? &tool_choice
                         : system_key && m.key == system_key ? &p.system
                                                             : nullptr;
    if (slot == nullptr) continue;
    if (slot->present) return Bad("'" + std::string(m.key) + "' appears twice");
    *slot = ParsedMember{true, m.value};
  }
  if (wire == WireFormat::kOpenAIResponses && items.present && body[items.span.begin] == '"') {
    return ParseTextInput(items.span, tool_choice);
  }
  if (!items.present || body[items.span.begin] != '[') {
    return Bad(wire == WireFormat::kOpenAIResponses
                   ? "'input' must be a string or a list of items"
                   : "'" + items_key + "' must be an array");
  }
  size_t items_end = 0;
  auto spans = json_spans::ArrayElements(body, items.span.begin, kMaxJsonDepth, 1, &items_end);
  if (!spans.ok()) return ScanError(spans.status());
  if (spans->empty()) return Bad("'" + items_key + "' is empty");

  const bool same_wire = previous != nullptr && previous->wire == wire;
  try {
    VMLLM_RETURN_IF_ERROR(ParseHead(same_wire ? previous : nullptr, tool_choice));
    p.items.resize(spans->size());
    for (size_t i = 0; i < spans->size(); ++i) {
      ParsedItem& item = p.items[i];
      item.span = (*spans)[i];
      if (same_wire && i < previous->items.size() &&
          SameBytes(Bytes(body, item.span), Bytes(previous->body, previous->items[i].span))) {
        const ParsedItem& before = previous->items[i];
        item.msgs = before.msgs;
        item.edit_key = before.edit_key;
        item.rendered = before.rendered;
      } else {
        auto msgs = std::make_shared<std::vector<Msg>>();
        VMLLM_RETURN_IF_ERROR(wire_adapters::ParseItem(wire, i, ParseSpan(body, item.span), msgs.get()));
        for (Msg& m : *msgs) {
          if (m.kind != Msg::kToolResult) continue;
          m.text_hash = Fnv1a64(m.text);
          m.text_hashed = true;
        }
        item.msgs = std::move(msgs);
      }
      conv_.msgs.insert(conv_.msgs.end(), item.msgs->begin(), item.msgs->end());
    }
  } catch (const json::exception& e) {
    return Bad(e.what());
  }
  if (wire == WireFormat::kOpenAIResponses) responses_wire::MergeResponseRuns(&conv_.msgs);
  conv_.wire_messages = spans->size();
  return Status();
}

Status SpanWireRequest::ParseHead(const WireParser::Parsed* previous, ParsedMember tool_choice) {
  WireParser::Parsed& p = *parsed_;
  const std::string_view body = p.body;
  if (p.tools.present) {
    if (previous != nullptr && previous->tools.present &&
        SameBytes(Bytes(body, p.tools.span), Bytes(previous->body, previous->tools.span))) {
      p.tool_schemas = previous->tool_schemas;
      p.tool_entries = previous->tool_entries;
      p.tools_edit_key = previous->tools_edit_key;
      p.tools_rendered = previous->tools_rendered;
    } else {
      VMLLM_RETURN_IF_ERROR(wire_adapters::ParseTools(p.wire, ParseSpan(body, p.tools.span),
                                                      &p.tool_schemas, &p.tool_entries));
    }
    conv_.tools = p.tool_schemas;
  }
  if (p.system.present) {
    if (previous != nullptr && previous->system.present &&
        SameBytes(Bytes(body, p.system.span), Bytes(previous->body, previous->system.span))) {
      p.system_text = previous->system_text;
    } else {
      VMLLM_RETURN_IF_ERROR(
          wire_adapters::ParseSystem(p.wire, ParseSpan(body, p.system.span), &p.system_text));
    }
    conv_.system = p.system_text;
  }
  if (tool_choice.present) {
    json request = json::object();
    request["tool_choice"] = ParseSpan(body, tool_choice.span);
    conv_.forced_tool = chat_json::ForcedToolName(request);
  }
  return Status();
}

Status SpanWireRequest::ParseTextInput(Span input, ParsedMember tool_choice) {
  try {
    VMLLM_RETURN_IF_ERROR(ParseHead(nullptr, tool_choice));
    Msg msg;
    msg.kind = Msg::kUser;
    msg.text = ParseSpan(parsed_->body, input).get<std::string>();
    conv_.msgs.push_back(std::move(msg));
  } catch (const json::exception& e) {
    return Bad(e.what());
  }
  conv_.wire_messages = 1;
  return Status();
}

std::string SpanWireRequest::RenderTools(const Edits& edits) {
  if (edits.tool_stub.empty() && edits.add_tools.empty()) return "";
  std::string key;
  for (const auto& [index, stub] : edits.tool_stub) {
    key += std::to_string(index) + '\0' + stub.name + '\0' + stub.description + '\0';
  }
  key += '\1';
  for (const ToolSchema& tool : edits.add_tools) {
    key += tool.name + '\0' + tool.description + '\0' + tool.json + '\0';
  }
  WireParser::Parsed& p = *parsed_;
  if (key == p.tools_edit_key) return p.tools_rendered;
  json tools = p.tools.present ? ParseSpan(p.body, p.tools.span) : json::array();
  for (const auto& [index, stub] : edits.tool_stub) {
    tools[p.tool_entries[index]] = wire_adapters::ToolEntry(p.wire, stub);
  }
  for (const ToolSchema& tool : edits.add_tools) {
    tools.push_back(wire_adapters::ToolEntry(p.wire, tool));
  }
  p.tools_edit_key = std::move(key);
  p.tools_rendered = chat_json::Dump(tools);
  return p.tools_rendered;
}

std::string SpanWireRequest::Render(const Edits& edits) {
  WireParser::Parsed& p = *parsed_;
  const std::string_view body = p.body;
  struct Splice {
    Span span;  // Replaced; an empty span inserts.
    std::string text;
  };
  std::vector<Splice> splices;

  std::string tools = RenderTools(edits);
  if (!tools.empty()) {
    if (p.tools.present) {
      splices.push_back({p.tools.span, std::move(tools)});
    } else {  // A new last member, just before the closing brace.
      const size_t brace = p.object_end - 1;
      splices.push_back({Span{brace, brace}, ",\"tools\":" + tools});
    }
  }

  std::vector<Fold> folds = edits.folds;
  std::sort(folds.begin(), folds.end(), [](const Fold& a, const Fold& b) { return a.from < b.from; });
  std::vector<bool> folded(p.items.size(), false);
  for (const Fold& fold : folds) {
    if (fold.from >= fold.to || fold.to > p.items.size()) continue;
    for (size_t i = fold.from; i < fold.to; ++i) folded[i] = true;
    splices.push_back({Span{p.items[fold.from].span.begin, p.items[fold.to - 1].span.end},
                       chat_json::Dump(wire_adapters::FoldItem(p.wire, fold.text))});
  }

  // Result edits grouped by item; an item's rendering is reused while its edits stay the same.
  std::map<size_t, std::vector<std::pair<const Msg*, const std::string*>>> by_item;
  for (const auto& [index, text] : edits.result_text) {
    const Msg& m = conv_.msgs[index];
    if (!folded[m.wire_message]) by_item[m.wire_message].push_back({&m, &text});
  }
  for (const auto& [item_index, item_edits] : by_item) {
    ParsedItem& item = p.items[item_index];
    std::string key;
    for (const auto& [msg, text] : item_edits) {
      key += std::to_string(msg->wire_block) + '\0' + *text + '\0';
    }
    if (key != item.edit_key) {
      json doc = ParseSpan(body, item.span);
      for (const auto& [msg, text] : item_edits) {
        wire_adapters::SetResultText(p.wire, *msg, *text, &doc);
      }
      item.rendered = chat_json::Dump(doc);
      item.edit_key = std::move(key);
    }
    splices.push_back({item.span, item.rendered});
  }

  std::sort(splices.begin(), splices.end(),
            [](const Splice& a, const Splice& b) { return a.span.begin < b.span.begin; });
  size_t out_size = body.size();
  for (const Splice& s : splices) out_size += s.text.size() - s.span.size();
  std::string out;
  out.reserve(out_size);
  size_t pos = 0;
  for (const Splice& s : splices) {
    out.append(body.substr(pos, s.span.begin - pos));
    out.append(s.text);
    pos = s.span.end;
  }
  out.append(body.substr(pos));
  return out;
}

}  // namespace

WireParser::WireParser() = default;
WireParser::~WireParser() = default;

Result<std::unique_ptr<WireRequest>> WireParser::Parse(WireFormat wire, const std::string& body) {
  if (body.size() > kMaxRequestBodyBytes) {
    return CheckJsonLimits(body, "request body", kMaxRequestBodyBytes);
  }
  auto parsed = std::make_shared<Parsed>();
  parsed->wire = wire;
  parsed->body = body;
  auto request = std::make_unique<SpanWireRequest>(parsed);
  Status s = request->Parse(last_.get());
  if (!s.ok()) return s;  // The previous request stays the one to reuse.
  last_ = std::move(parsed);
  return std::unique_ptr<WireRequest>(std::move(request));
}

Result<RequestHead> ReadRequestHead(WireFormat wire, const std::string& body) {
  if (body.size() > kMaxRequestBodyBytes) {
    return CheckJsonLimits(body, "request body", kMaxRequestBodyBytes);
  }
  const size_t begin = json_spans::SkipSpace(body, 0);
  if (begin >= body.size() || body[begin] != '{') {
    auto end = json_spans::ValueEnd(body, begin, kMaxJsonDepth);
    if (!end.ok()) return ScanError(end.status());
    return Bad("the body must be a JSON object");
  }
  size_t end = 0;
  auto members = json_spans::ObjectMembers(body, begin, kMaxJsonDepth, 0, &end);
  if (!members.ok()) return ScanError(members.status());
  const char* system_key = wire_adapters::SystemMember(wire);
  const std::string items_key = wire_adapters::ItemsMember(wire);
  std::string_view model, system, items;
  RequestHead head;
  for (const json_spans::Member& m : *members) {
    const std::string_view value = Bytes(body, m.value);
    if (m.key == "model") model = value;
    if (system_key != nullptr && m.key == system_key) system = value;
    if (m.key == items_key) items = value;
    if (m.key == "previous_response_id" && value != "null") head.upstream_history = true;
  }
  auto add = [&head](std::string_view part) {
    head.identity += std::to_string(part.size()) + ':';
    head.identity += part;
  };
  add(model);
  add(system);
  if (!items.empty() && items.front() == '[') {
    size_t items_end = 0;
    const size_t at = items.data() - body.data();
    auto spans = json_spans::ArrayElements(body, at, kMaxJsonDepth, 1, &items_end);
    if (!spans.ok()) return ScanError(spans.status());
    for (size_t i = 0; i < spans->size() && i < 2; ++i) add(Bytes(body, (*spans)[i]));
  } else {
    add(items);  // A Responses input that is one string.
  }
  return head;
}

Result<std::unique_ptr<WireRequest>> ParseWireRequest(WireFormat wire, const std::string& body) {
  WireParser parser;
  return parser.Parse(wire, body);
}

}  // namespace vmllm
