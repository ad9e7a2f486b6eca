// Supersession. See supersession.h for the rules; this file is how calls are read.
#include "stream/supersession.h"

#include <cctype>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "chat/arguments.h"

namespace vmllm {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string CleanPath(std::string p) {
  while (!p.empty() && (p.front() == '"' || p.front() == '\'')) p.erase(p.begin());
  while (!p.empty() && (p.back() == '"' || p.back() == '\'')) p.pop_back();
  while (p.rfind("./", 0) == 0) p.erase(0, 2);
  return p;
}

// The same file under two spellings: equal, or one a path suffix of the other
// ("/repo/src/a.py" and "src/a.py").
bool SamePath(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return false;
  if (a == b) return true;
  const std::string& longer = a.size() > b.size() ? a : b;
  const std::string& shorter = a.size() > b.size() ? b : a;
  return longer.size() > shorter.size() &&
         longer.compare(longer.size() - shorter.size(), shorter.size(), shorter) == 0 &&
         longer[longer.size() - shorter.size() - 1] == '/';
}

std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// Tools that write the file named by their path argument.
bool IsWritingTool(const std::string& tool) {
  static const std::unordered_set<std::string> kWriting{
      "write", "write_file", "edit", "edit_file", "create", "create_file", "insert",
      "multiedit", "multi_edit", "notebookedit", "replace", "search_replace", "apply_diff"};
  return kWriting.count(tool) > 0;
}

// Commands of the str_replace_editor family that change the file.
bool IsWritingEditorCommand(const std::string& command) {
  return command == "create" || command == "str_replace" || command == "insert" ||
         command == "undo_edit";
}

// Files an apply_patch body names ("*** Update File: p", "*** Add File: p", "+++ b/p").
std::vector<std::string> PatchPaths(const std::string& patch) {
  std::vector<std::string> paths;
  std::istringstream in(patch);
  for (std::string line; std::getline(in, line);) {
    for (const char* marker : {"*** Update File: ", "*** Add File: ", "*** Delete File: ",
                               "+++ b/", "+++ "}) {
      if (line.rfind(marker, 0) == 0) {
        std::string p = CleanPath(line.substr(std::string(marker).size()));
        p = p.substr(0, p.find_first_of(" \t\r"));
        if (!p.empty() && p != "/dev/null") paths.push_back(p);
        break;
      }
    }
  }
  return paths;
}

// SWE-agent's plain-text actions, converted to a call named after the action's first word with
// the whole action as {"command": ...}. False when `action` is not such an action.
bool ClassifyAction(const std::string& tool, const std::string& action, std::string* open_file,
                    FileEffect* effect) {
  const std::vector<std::string> w = Words(action.substr(0, action.find('\n')));
  if (w.empty() || Lower(w[0]) != tool) return false;
  if ((tool == "open" || tool == "create") && w.size() >= 2) {
    *open_file = CleanPath(w[1]);
    effect->shows = *open_file;
    if (tool == "create") effect->writes.push_back(*open_file);
  } else if (tool == "edit" || tool == "insert") {
    effect->shows = *open_file;
    if (!open_file->empty()) effect->writes.push_back(*open_file);
  } else if (tool == "goto" || tool == "scroll_up" || tool == "scroll_down") {
    effect->shows = *open_file;
  } else if ((tool == "str_replace_editor" || tool == "str_replace_based_edit_tool") &&
             w.size() >= 3) {
    effect->shows = CleanPath(w[2]);
    if (IsWritingEditorCommand(w[1])) effect->writes.push_back(effect->shows);
  } else if (tool == "search_file" || tool == "search_dir" || tool == "find_file" ||
             tool == "submit") {
    return false;
  } else {
    effect->shell = true;  // python, pytest, ls, grep, pip, ...: a shell command.
  }
  return true;
}

}  // namespace

bool IsMutatingCall(const std::string& tool_name) {
  static const char* const kVerbs[] = {"update", "book", "create", "cancel", "delete", "remove",
                                       "send", "write", "edit", "insert", "apply", "submit",
                                       "modify", "transfer", "set_", "add_", "post_", "put_"};
  const std::string tool = Lower(tool_name);
  for (const char* verb : kVerbs) {
    if (tool.rfind(verb, 0) == 0 || tool.find(std::string("_") + verb) != std::string::npos) {
      return true;
    }
  }
  return false;
}

bool IsRepeatableCall(const std::string& tool_name) {
  const std::string tool = Lower(tool_name);
  return tool != "scroll_up" && tool != "scroll_down";
}

FileEffect ClassifyCall(const std::string& tool_name, const std::string& args,
                        std::string* open_file) {
  const std::string tool = Lower(tool_name);
  FileEffect effect;
  const std::string command = StringArgument(args, "command");
  if (!command.empty() && ClassifyAction(tool, command, open_file, &effect)) return effect;
  std::string path;
  for (const char* key :
       {"path", "file_path", "filename", "file", "notebook_path", "target_file"}) {
    path = CleanPath(StringArgument(args, key));
    if (!path.empty()) break;
  }
  if (tool == "str_replace_editor" || tool == "str_replace_based_edit_tool") {
    effect.shows = path;
    if (IsWritingEditorCommand(command) && !path.empty()) effect.writes.push_back(path);
  } else if (tool == "apply_patch") {
    for (const char* key : {"input", "patch", "diff"}) {
      effect.writes = PatchPaths(StringArgument(args, key));
      if (!effect.writes.empty()) break;
    }
  } else if (IsWritingTool(tool)) {
    effect.shows = path.empty() ? *open_file : path;
    if (!effect.shows.empty()) effect.writes.push_back(effect.shows);
  } else if (tool == "goto" || tool == "scroll_up" || tool == "scroll_down") {
    effect.shows = *open_file;
  } else if (tool == "bash" || tool == "shell" || tool == "sh" || tool == "terminal" ||
             tool == "run_command" || tool == "execute_command" || tool == "exec") {
    effect.shell = true;
  } else {
    effect.shows = path;  // A read (Read, view, open, ...) when it names a file.
  }
  if ((tool == "open" || tool == "create") && !path.empty()) *open_file = path;
  return effect;
}

std::vector<size_t> SupersededAt(const Conversation& conv) {
  std::vector<size_t> at(conv.msgs.size(), kNeverSuperseded);
  struct CallInfo {
    std::string key, path;
    bool shell = false;
  };
  std::unordered_map<std::string, CallInfo> calls;        // Call id -> what it is.
  std::unordered_map<std::string, size_t> latest;         // Call key -> newest live result.
  std::vector<std::pair<std::string, size_t>> file_results;  // (path, result) still live.
  std::vector<size_t> shell_results;                          // Command outputs still live.
  std::string open_file;
  for (size_t i = 0; i < conv.msgs.size(); ++i) {
    const Msg& m = conv.msgs[i];
    for (const ToolCall& c : m.calls) {
      const std::string key = c.name + '\x1f' + CanonicalArguments(c.arguments).first;
      const FileEffect effect = ClassifyCall(c.name, c.arguments, &open_file);
      calls[c.id] = CallInfo{key, effect.shows, effect.shell};
      auto same = latest.find(key);
      if (IsRepeatableCall(c.name) && same != latest.end()) {
        if (at[same->second] == kNeverSuperseded) at[same->second] = i;
        latest.erase(same);
      }
      for (const std::string& path : effect.writes) {
        for (const auto& [result_path, result] : file_results) {
          if (at[result] == kNeverSuperseded && SamePath(result_path, path)) at[result] = i;
        }
      }
      if (!effect.writes.empty()) {
        for (size_t result : shell_results) {
          if (at[result] == kNeverSuperseded) at[result] = i;
        }
        shell_results.clear();
      }
    }
    if (m.kind != Msg::kToolResult) continue;
    auto call = calls.find(m.tool_call_id);
    if (call == calls.end()) continue;
    latest[call->second.key] = i;
    if (!call->second.path.empty()) file_results.emplace_back(call->second.path, i);
    if (call->second.shell) shell_results.push_back(i);
  }
  return at;
}

}  // namespace vmllm
