// Helpers for the conversation-memory tests: OpenAI-style messages as JSON text.
#ifndef VMLLM_TESTS_MEMORY_TEST_UTIL_H_
#define VMLLM_TESTS_MEMORY_TEST_UTIL_H_

#include <string>

#include <nlohmann/json.hpp>

namespace vmllm {
namespace testing_json {

inline std::string User(const std::string& text) {
  return nlohmann::json{{"role", "user"}, {"content", text}}.dump();
}
inline std::string Assistant(const std::string& text) {
  return nlohmann::json{{"role", "assistant"}, {"content", text}}.dump();
}
inline nlohmann::json CallJson(const std::string& id, const std::string& name,
                               const nlohmann::json& args) {
  return {{"id", id}, {"type", "function"},
          {"function", {{"name", name}, {"arguments", args.dump()}}}};
}
inline std::string AssistantCalls(const nlohmann::json& calls) {
  return nlohmann::json{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", calls}}.dump();
}
inline std::string ToolResult(const std::string& id, const std::string& content) {
  return nlohmann::json{{"role", "tool"}, {"tool_call_id", id}, {"content", content}}.dump();
}

}  // namespace testing_json
}  // namespace vmllm

#endif  // VMLLM_TESTS_MEMORY_TEST_UTIL_H_
