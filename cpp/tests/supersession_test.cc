// Supersession on small conversations: which results a later call made obsolete.
#include "stream/supersession.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "chat/wire.h"

namespace vmllm {
namespace {

struct Call {
  std::string name, args;  // args: JSON object text.
};

// One assistant message per call, each answered by a result "r<n>".
Conversation Convo(const std::vector<Call>& calls) {
  Conversation c;
  c.msgs.push_back(Msg{Msg::kUser, "go"});
  for (size_t n = 0; n < calls.size(); ++n) {
    Msg a;
    a.kind = Msg::kAssistant;
    a.calls.push_back(ToolCall{"c" + std::to_string(n), calls[n].name, calls[n].args});
    c.msgs.push_back(a);
    Msg r;
    r.kind = Msg::kToolResult;
    r.tool_call_id = "c" + std::to_string(n);
    r.text = "r" + std::to_string(n);
    c.msgs.push_back(r);
  }
  return c;
}

// Index of call n's message and of its result.
size_t CallMsg(size_t n) { return 1 + 2 * n; }
size_t ResultMsg(size_t n) { return 2 + 2 * n; }

TEST(Supersession, SameCallAgainSupersedesTheOlderResultOnly) {
  const auto at = SupersededAt(Convo({{"Read", R"({"file_path":"/a.py"})"},
                                      {"Bash", R"({"command":"ls"})"},
                                      {"Read", R"({"file_path": "/a.py"})"}}));
  EXPECT_EQ(at[ResultMsg(0)], CallMsg(2));
  EXPECT_EQ(at[ResultMsg(1)], kNeverSuperseded);
  EXPECT_EQ(at[ResultMsg(2)], kNeverSuperseded);
  EXPECT_EQ(at[CallMsg(0)], kNeverSuperseded);
}

TEST(Supersession, AnEditMakesEveryEarlierViewOfTheFileStale) {
  const auto at = SupersededAt(Convo({{"Read", R"({"file_path":"/repo/src/a.py"})"},
                                      {"Read", R"({"file_path":"/repo/src/b.py"})"},
                                      {"str_replace_editor",
                                       R"({"command":"view","path":"src/a.py"})"},
                                      {"Edit", R"({"file_path":"/repo/src/a.py","old_string":"x"})"},
                                      {"Read", R"({"file_path":"/repo/src/a.py","offset":3})"}}));
  EXPECT_EQ(at[ResultMsg(0)], CallMsg(3));
  EXPECT_EQ(at[ResultMsg(1)], kNeverSuperseded);  // Another file.
  EXPECT_EQ(at[ResultMsg(2)], CallMsg(3));        // The same file, spelled relative.
  EXPECT_EQ(at[ResultMsg(3)], kNeverSuperseded);
  EXPECT_EQ(at[ResultMsg(4)], kNeverSuperseded);  // Read after the edit: current.
}

TEST(Supersession, SweAgentEditsWriteTheFileTheLastOpenOpened) {
  const auto at = SupersededAt(Convo({{"open", R"({"command":"open src/fields.py 120"})"},
                                      {"goto", R"({"command":"goto 400"})"},
                                      {"open", R"({"command":"open setup.py"})"},
                                      {"open", R"({"command":"open src/fields.py"})"},
                                      {"edit", R"({"command":"edit 401:402\nx = 1\nend_of_edit"})"}}));
  EXPECT_EQ(at[ResultMsg(0)], CallMsg(4));
  EXPECT_EQ(at[ResultMsg(1)], CallMsg(4));        // goto showed the open file.
  EXPECT_EQ(at[ResultMsg(2)], kNeverSuperseded);  // setup.py was not edited.
  EXPECT_EQ(at[ResultMsg(3)], CallMsg(4));
}

TEST(Supersession, ScrollingIsNeverTheSameCallTwice) {
  const auto at = SupersededAt(Convo({{"open", R"({"path":"a.py"})"},
                                      {"scroll_down", "{}"},
                                      {"scroll_down", "{}"}}));
  EXPECT_EQ(at[ResultMsg(1)], kNeverSuperseded);
}

TEST(Supersession, ApplyPatchWritesEveryFileItNames) {
  const auto at = SupersededAt(Convo(
      {{"read_file", R"({"path":"a.py"})"},
       {"read_file", R"({"path":"b.py"})"},
       {"apply_patch",
        R"({"input":"*** Begin Patch\n*** Update File: a.py\n@@\n-x\n+y\n*** Update File: b.py\n"})"}}));
  EXPECT_EQ(at[ResultMsg(0)], CallMsg(2));
  EXPECT_EQ(at[ResultMsg(1)], CallMsg(2));
}

TEST(Supersession, AnyWriteMakesEarlierCommandOutputStale) {
  const auto at = SupersededAt(Convo({{"bash", R"({"command":"python repro.py"})"},
                                      {"python", R"({"command":"python repro.py"})"},
                                      {"search_dir", R"({"command":"search_dir foo"})"},
                                      {"Write", R"({"file_path":"other.py"})"},
                                      {"bash", R"({"command":"python repro.py"})"}}));
  EXPECT_EQ(at[ResultMsg(0)], CallMsg(3));
  EXPECT_EQ(at[ResultMsg(1)], CallMsg(3));        // A SWE-agent shell action.
  EXPECT_EQ(at[ResultMsg(2)], kNeverSuperseded);  // One of SWE-agent's search tools.
  EXPECT_EQ(at[ResultMsg(4)], kNeverSuperseded);
}

TEST(Supersession, RetriesOfChangesAreNotReReads) {
  EXPECT_TRUE(IsMutatingCall("update_reservation_flights"));
  EXPECT_TRUE(IsMutatingCall("book_reservation"));
  EXPECT_TRUE(IsMutatingCall("Edit"));
  EXPECT_FALSE(IsMutatingCall("get_reservation_details"));
  EXPECT_FALSE(IsMutatingCall("search_direct_flight"));
  EXPECT_FALSE(IsMutatingCall("Read"));
}

TEST(Supersession, ClassifiesWritesOfTheEditorFamily) {
  std::string open_file;
  EXPECT_TRUE(ClassifyCall("str_replace_based_edit_tool",
                           R"({"command":"view","path":"/x"})", &open_file).writes.empty());
  EXPECT_EQ(ClassifyCall("str_replace_editor", R"({"command":"str_replace","path":"/x"})",
                         &open_file).writes, std::vector<std::string>{"/x"});
  EXPECT_EQ(ClassifyCall("Write", R"({"file_path":"./y"})", &open_file).writes,
            std::vector<std::string>{"y"});
  EXPECT_TRUE(ClassifyCall("bash", R"({"command":"cat /x"})", &open_file).writes.empty());
  EXPECT_TRUE(ClassifyCall("edit", "not json", &open_file).writes.empty());  // No open file.
}

}  // namespace
}  // namespace vmllm
