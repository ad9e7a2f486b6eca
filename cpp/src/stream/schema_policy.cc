// Schema stubs and memory-tool offers for stream requests. See schema_policy.h.
#include "stream/schema_policy.h"

#include <algorithm>
#include <unordered_map>

#include "chat/tool_registry.h"

namespace vmllm {
namespace {

std::string FirstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > 160) line = line.substr(0, 157) + "...";
  return line;
}

}  // namespace

SchemaPlan PlanSchemas(const StreamConfig& config, const Conversation& conv,
                       const std::vector<long>& turn_of, long current, int pressure,
                       SchemaState* state, Edits* edits) {
  SchemaPlan plan;
  std::unordered_map<std::string, long> last_call;  // Tool name -> turn of its latest call.
  bool has_tool_traffic = !conv.tools.empty();
  for (size_t i = 0; i < conv.msgs.size(); ++i) {
    for (const ToolCall& call : conv.msgs[i].calls) {
      long& turn = last_call[call.name];
      turn = std::max(turn, turn_of[i]);
      has_tool_traffic = true;
    }
  }

  std::set<std::string> client_tools;
  for (size_t t = 0; t < conv.tools.size(); ++t) {
    const ToolSchema& schema = conv.tools[t];
    client_tools.insert(schema.name);
    const std::string page = StreamPageId(schema.json);
    auto [entry, added] = state->tools.try_emplace(schema.name);
    SchemaState::Tool& tool = entry->second;
    const bool unseen = added || tool.page != page;
    if (unseen) tool = SchemaState::Tool{page, current};
    auto call = last_call.find(schema.name);
    if (call != last_call.end()) tool.active = std::max(tool.active, call->second);
    tool.active = std::min(tool.active, current);  // The client shortened its history.
    if (!config.stub_unused_tools || unseen || schema.name == conv.forced_tool ||
        current - tool.active < config.schema_idle_turns) {
      continue;
    }
    edits->tool_stub[t] = ToolSchema{schema.name, FirstLine(schema.description), 0, ""};
    plan.stubbed.insert(schema.name);
  }

  if (!config.inject_memory_tools) return plan;
  for (const ToolDef& tool : ToolsOf(ToolSet::kStreamMemory)) {
    if (client_tools.count(tool.name)) continue;  // The client's own tool of that name wins.
    const bool wanted = has_tool_traffic && (tool.name == std::string_view(kStreamRecallTool) ||
                                             pressure >= 1);
    if (!wanted && !state->offered.count(tool.name)) continue;
    plan.offered_more = state->offered.insert(tool.name).second || plan.offered_more;
    edits->add_tools.push_back(AsToolSchema(tool));
  }
  return plan;
}

}  // namespace vmllm
