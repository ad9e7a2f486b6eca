// The JSON results the memory tools hand back to the model (MemGPT's shapes).
//
// Thread safety: free functions without shared state.
#ifndef VMLLM_MEMORY_TOOL_RESULTS_H_
#define VMLLM_MEMORY_TOOL_RESULTS_H_

#include <string>
#include <string_view>

#include "vmllm/conversation_memory.h"

namespace vmllm {

// {"status":"OK"|"Failed","message":...}
std::string ToolStatusJson(bool ok, std::string_view message);
// {"status":"OK","page":p,"total_pages":n,"total":t,"results":[{"timestamp","role","content"}]}
std::string SearchPageJson(const MemorySearchPage& page, bool with_role);

}  // namespace vmllm

#endif  // VMLLM_MEMORY_TOOL_RESULTS_H_
