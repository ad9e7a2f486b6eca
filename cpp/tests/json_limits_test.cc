// The JSON depth and size limits (vmllm/json_limits.h) and the entry points that apply them
// before parsing: hand-off snapshots, chat messages, tool calls and stream request bodies.
#include "vmllm/json_limits.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "chat/arguments.h"
#include "chat/message_json.h"
#include "engine/snapshot.h"
#include "vmllm/stream.h"

namespace vmllm {
namespace {

// `depth` nested arrays around 1: Nested(2) is "[[1]]".
std::string NestedArrays(size_t depth) {
  return std::string(depth, '[') + "1" + std::string(depth, ']');
}

// `depth` nested objects: Nested(2) is {"a":{"a":1}}.
std::string NestedObjects(size_t depth) {
  std::string out;
  for (size_t i = 0; i < depth; ++i) out += "{\"a\":";
  out += "1";
  out += std::string(depth, '}');
  return out;
}

TEST(JsonLimits, ScalarsHaveDepthZeroAndContainersCountEachLevel) {
  EXPECT_EQ(JsonDepth("1"), 0u);
  EXPECT_EQ(JsonDepth("\"x\""), 0u);
  EXPECT_EQ(JsonDepth("[]"), 1u);
  EXPECT_EQ(JsonDepth("{\"a\":[1,{\"b\":2}]}"), 3u);
  EXPECT_EQ(JsonDepth("[[1],[2],[3]]"), 2u);
  EXPECT_EQ(JsonDepth(NestedObjects(7)), 7u);
}

TEST(JsonLimits, DepthExactlyAtTheLimitIsAccepted) {
  EXPECT_TRUE(CheckJsonLimits(NestedArrays(kMaxJsonDepth), "x", kMiB).ok());
  EXPECT_TRUE(CheckJsonLimits(NestedObjects(kMaxJsonDepth), "x", kMiB).ok());
}

TEST(JsonLimits, OneLevelOverTheLimitIsRefusedWithTheDepthAndTheLimit) {
  Status s = CheckJsonLimits(NestedArrays(kMaxJsonDepth + 1), "message", kMiB);
  ASSERT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("message is nested 129 deep; the limit is 128"), std::string::npos)
      << s.message();
  EXPECT_EQ(CheckJsonLimits(NestedObjects(kMaxJsonDepth + 1), "x", kMiB).code(),
            StatusCode::kInvalidArgument);
}

TEST(JsonLimits, BracketsInsideStringsDoNotCount) {
  const std::string brackets(10000, '[');
  EXPECT_EQ(JsonDepth("{\"a\":\"" + brackets + "\"}"), 1u);
  EXPECT_TRUE(CheckJsonLimits("[\"" + brackets + "{{{\"]", "x", kMiB).ok());
}

TEST(JsonLimits, EscapedQuotesDoNotEndAString) {
  // The string holds \" then brackets; were the escape ignored, the brackets would count.
  const std::string text = "[\"a\\\"" + std::string(500, '[') + "\"]";
  EXPECT_EQ(JsonDepth(text), 1u);
  EXPECT_TRUE(CheckJsonLimits(text, "x", kMiB).ok());
  // An escaped backslash before the closing quote does end the string: what follows counts.
  EXPECT_EQ(JsonDepth("[\"a\\\\\",[[1]]]"), 3u);
}

TEST(JsonLimits, AMillionLevelsAreRefusedPromptlyWithoutRecursion) {
  const std::string deep = NestedArrays(1000000);
  const auto start = std::chrono::steady_clock::now();
  Status s = CheckJsonLimits(deep, "body", 64 * kMiB);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("nested 1000000 deep"), std::string::npos) << s.message();
  EXPECT_LT(std::chrono::duration_cast<std::chrono::seconds>(took).count(), 2);
}

TEST(JsonLimits, TextOverTheSizeLimitIsRefusedWhateverItsDepth) {
  const std::string flat = "[" + std::string(100, '1') + "]";
  EXPECT_TRUE(CheckJsonLimits(flat, "x", flat.size()).ok());
  Status s = CheckJsonLimits(flat, "task state", flat.size() - 1);
  ASSERT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("task state is 102 bytes; the limit is 101 bytes"),
            std::string::npos)
      << s.message();
}

TEST(JsonLimits, UnbalancedClosersDoNotUnderflow) {
  EXPECT_EQ(JsonDepth("]]]]}}[1]"), 1u);
}

TEST(JsonLimits, LimitsStayBelowPythonRecursionAndTheSnapshotFitsItsTaskState) {
  static_assert(kMaxJsonDepth < 1000, "Python's json recursion limit must stay out of reach");
  static_assert(kMaxHandOffBytes >= kMaxTaskStateBytes, "a snapshot holds a task state");
  static_assert(kMaxHandOffDepth == kMaxJsonDepth + 1, "the snapshot envelope adds one level");
  SUCCEED();
}

// --- entry points: each refuses deep input with InvalidArgument before parsing ---

TEST(JsonLimitsEntryPoints, TaskStateOverTheDepthLimitIsRefused) {
  EXPECT_TRUE(ValidateJson(NestedArrays(kMaxJsonDepth)).ok());
  EXPECT_EQ(ValidateJson(NestedArrays(kMaxJsonDepth + 1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateJson(NestedArrays(100000)).code(), StatusCode::kInvalidArgument);
}

TEST(JsonLimitsEntryPoints, SnapshotWithATaskStateAtTheLimitRoundTrips) {
  Snapshot s;
  s.task_state_json = NestedArrays(kMaxJsonDepth);
  auto back = SnapshotFromJson(SnapshotToJson(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->task_state_json, s.task_state_json);
}

TEST(JsonLimitsEntryPoints, DeepSnapshotIsRefused) {
  const std::string deep =
      "{\"active_page_ids\":[],\"task_state\":" + NestedObjects(100000) + "}";
  auto r = SnapshotFromJson(deep);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("nested 100001 deep"), std::string::npos)
      << r.status().message();
}

TEST(JsonLimitsEntryPoints, DeepMessageIsRefusedAndOneUnderTheLimitParses) {
  // The message object, the content list and the part are levels 1 to 3; `x` nests below.
  auto message = [](size_t depth) {
    return "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\",\"x\":" +
           NestedArrays(depth - 3) + "}]}";
  };
  auto ok = ParseMessage(message(kMaxJsonDepth));
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  for (size_t depth : {size_t{kMaxJsonDepth} + 1, size_t{1000}, size_t{100000}}) {
    auto r = ParseMessage(message(depth));
    ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument) << depth;
    EXPECT_NE(r.status().message().find("the limit is 128"), std::string::npos);
  }
}

TEST(JsonLimitsEntryPoints, DeepToolCallIsRefusedAndDeepArgumentsFailTheCall) {
  EXPECT_EQ(ParseToolCall(NestedObjects(100000)).status().code(), StatusCode::kInvalidArgument);
  // Arguments as JSON text in a string: the call parses, the arguments fail it.
  const std::string call = "{\"id\":\"c1\",\"function\":{\"name\":\"core_memory_append\","
                           "\"arguments\":\"" + NestedArrays(100000) + "\"}}";
  auto r = ParseToolCall(call);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->id, "c1");
  EXPECT_NE(r->error.find("nested 100000 deep"), std::string::npos) << r->error;
}

TEST(JsonLimitsEntryPoints, DeepStreamRequestIsRefusedInBothWireFormats) {
  StreamSession session{StreamConfig{}};
  const std::string deep =
      "{\"messages\":[{\"role\":\"user\",\"content\":" + NestedArrays(100000) + "}]}";
  for (WireFormat wire : {WireFormat::kOpenAI, WireFormat::kAnthropic}) {
    auto r = session.Rewrite(wire, deep);
    ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("request body is nested"), std::string::npos)
        << r.status().message();
  }
}

TEST(JsonLimitsEntryPoints, DeepArgumentsInsideAStreamRequestDoNotCrash) {
  // The body is shallow; the tool call's arguments string holds 100,000 levels.
  const std::string body =
      "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\","
      "\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":"
      "{\"name\":\"read\",\"arguments\":\"" + NestedArrays(100000) + "\"}}]},{\"role\":\"tool\","
      "\"tool_call_id\":\"c1\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":\"next\"}]}";
  StreamSession session{StreamConfig{}};
  auto r = session.Rewrite(WireFormat::kOpenAI, body);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(session.IsPinned("read", NestedArrays(100000)));
}

TEST(JsonLimitsEntryPoints, DeepUpstreamResponseIsRefusedByFollowUp) {
  StreamSession session{StreamConfig{}};
  const std::string request = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  std::string extended, rewritten;
  Status s = session.FollowUp(WireFormat::kOpenAI, request,
                              "{\"choices\":" + NestedArrays(100000) + "}", &extended,
                              &rewritten);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(rewritten.empty());
}

}  // namespace
}  // namespace vmllm
