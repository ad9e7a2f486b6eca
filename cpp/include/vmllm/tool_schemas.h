// The schemas of vmllm's model-facing tools, for an application that offers them to a model
// itself (the Python agent, an MCP server, a custom loop).
//
// Thread safety: safe from any thread.
#ifndef VMLLM_TOOL_SCHEMAS_H_
#define VMLLM_TOOL_SCHEMAS_H_

#include <string>
#include <string_view>

#include "vmllm/status.h"
#include "vmllm/wire_format.h"

namespace vmllm {

// A JSON array of the schemas of tool set `set` in `wire`'s shape. Sets: "stream" (the proxy's
// vmllm_recall, vmllm_release, vmllm_compact), "memory" (ConversationMemory's MemGPT tools),
// "documents" (recall_page, search_memory). InvalidArgument for another set.
Result<std::string> ToolSchemas(std::string_view set, WireFormat wire);

}  // namespace vmllm

#endif  // VMLLM_TOOL_SCHEMAS_H_
