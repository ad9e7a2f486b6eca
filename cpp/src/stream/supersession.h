// Supersession: which tool results a conversation has itself made obsolete.
//
// A tool result is superseded, by the assistant message whose call makes it so, when
//   - the same call (same tool, same canonical arguments) is issued again: the newer result
//     answers it, so the older copy can never be asked for again; or
//   - the file it showed is edited: a read, view or earlier edit of path P is stale once a
//     later call writes P (str_replace_editor / str_replace_based_edit_tool with a writing
//     command, edit, write, create, insert, MultiEdit, NotebookEdit, apply_patch, and
//     SWE-agent's `edit` / `insert`, which write the file its last `open` or `create` opened).
//   - it is the output of a shell command (a bash-like tool, or a SWE-agent action that is not
//     one of its file tools) and any file is written later: the workspace it described changed.
// Calls whose result depends on hidden state (SWE-agent's scroll_up / scroll_down) are never
// "the same call" twice, and a repeated call that changes something (update_*, book_*, send_*,
// ...: a retry) supersedes the earlier result without being a use of it. A superseded result
// costs nothing to page out: the model either has a newer copy or must re-read a changed file
// anyway, so re-reading it is not a fault.
//
// Thread safety: pure functions.
#ifndef VMLLM_STREAM_SUPERSESSION_H_
#define VMLLM_STREAM_SUPERSESSION_H_

#include <cstddef>
#include <string>
#include <vector>

#include "chat/message.h"

namespace vmllm {

inline constexpr size_t kNeverSuperseded = static_cast<size_t>(-1);

// For every message of `conv`: kNeverSuperseded, or for a tool result the index of the first
// assistant message that supersedes it (always after the result).
std::vector<size_t> SupersededAt(const Conversation& conv);

// False for calls whose result depends on hidden state (a scrolled window): issuing one again
// neither uses nor supersedes an earlier result.
bool IsRepeatableCall(const std::string& tool);
// True for a call that changes state by its name's verb (update, book, create, cancel, delete,
// send, write, edit, submit, ...): issuing it again is a retry, not a re-read.
bool IsMutatingCall(const std::string& tool);

// What one call does to files, as far as its name and arguments tell: the file its result shows
// (a read, or the window an editor prints; empty: none) and the files it writes. `open_file` is
// SWE-agent's currently open file, updated by `open` / `create`.
struct FileEffect {
  std::string shows;
  std::vector<std::string> writes;
  bool shell = false;  // A command's output: it describes the whole workspace.
};
FileEffect ClassifyCall(const std::string& tool, const std::string& arguments_json,
                        std::string* open_file);

}  // namespace vmllm

#endif  // VMLLM_STREAM_SUPERSESSION_H_
