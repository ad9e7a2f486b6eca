// An OpenAI Chat Completions conversation built turn by turn, for the stream layer's tests.
#ifndef VMLLM_TESTING_OPENAI_CHAT_H_
#define VMLLM_TESTING_OPENAI_CHAT_H_

#include <string>
#include <vector>

namespace vmllm {

inline std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// An OpenAI conversation built turn by turn: each turn is a user message, one tool call and
// its result.
struct OpenAIChat {
  std::vector<std::string> messages{R"({"role":"system","content":"You are an agent."})"};
  int next_id = 0;
  void User(const std::string& text) {
    messages.push_back(R"({"role":"user","content":)" + Quote(text) + "}");
  }
  std::string Call(const std::string& tool, const std::string& args_json) {
    std::string id = "call_" + std::to_string(next_id++);
    messages.push_back(R"({"role":"assistant","content":null,"tool_calls":[{"id":")" + id +
                       R"(","type":"function","function":{"name":")" + tool +
                       R"(","arguments":)" + Quote(args_json) + "}}]}");
    return id;
  }
  void Result(const std::string& id, const std::string& content) {
    messages.push_back(R"({"role":"tool","tool_call_id":")" + id + R"(","content":)" +
                       Quote(content) + "}");
  }
  void Say(const std::string& text) {
    messages.push_back(R"({"role":"assistant","content":)" + Quote(text) + "}");
  }
  std::string Body(const std::string& tools = "") const {
    std::string body = R"({"model":"m","messages":[)";
    for (size_t i = 0; i < messages.size(); ++i) body += (i ? "," : "") + messages[i];
    body += "]";
    if (!tools.empty()) body += R"(,"tools":)" + tools;
    return body + "}";
  }
};

inline std::string Big(const std::string& tag, size_t lines = 40) {
  std::string s;
  for (size_t i = 0; i < lines; ++i) s += tag + " line " + std::to_string(i) + " of the file\n";
  return s;
}

inline size_t Count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace vmllm

#endif  // VMLLM_TESTING_OPENAI_CHAT_H_
