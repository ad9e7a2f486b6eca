#include "vmllm/utf8.h"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

namespace vmllm {
namespace {

TEST(Utf8, AcceptsAsciiMultibyteAndEmpty) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii\n"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));                            // U+D7FF
  EXPECT_TRUE(IsValidUtf8("\xEE\x80\x80"));                            // U+E000
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));                        // U+10FFFF
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));
}

TEST(Utf8, RejectsOverlongEncodings) {
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));
}

TEST(Utf8, RejectsSurrogates) {
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));  // U+D800
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));  // U+DFFF
}

TEST(Utf8, RejectsCodePointsAboveMax) {
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(Utf8, RejectsTruncatedAndStraySequences) {
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82x"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("ab\xBF"));
}

TEST(Utf8, ReportsOffsetOfFirstBadSequence) {
  size_t bad = 99;
  EXPECT_FALSE(IsValidUtf8("ok \xC3\xA9 \xED\xA0\x80 tail \xFF", &bad));
  EXPECT_EQ(bad, 6u);
  bad = 99;
  EXPECT_TRUE(IsValidUtf8("fine", &bad));
  EXPECT_EQ(bad, 99u);  // Untouched on success.
}

TEST(Utf8, FloorBoundaryStepsBackToCharacterStart) {
  const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z";  // a é € 😀 z
  const size_t expected[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11};
  for (size_t pos = 0; pos <= s.size(); ++pos) {
    EXPECT_EQ(Utf8FloorBoundary(s, pos), expected[pos]) << "pos " << pos;
  }
}

TEST(Utf8, FloorBoundaryTreatsStrayContinuationAsItsOwnCharacter) {
  const std::string s = "ab\x80\x80z";
  EXPECT_EQ(Utf8FloorBoundary(s, 2), 2u);
  EXPECT_EQ(Utf8FloorBoundary(s, 3), 3u);
  const std::string t = "\xC3\xA9\x80";  // é then a stray continuation byte.
  EXPECT_EQ(Utf8FloorBoundary(t, 1), 0u);
  EXPECT_EQ(Utf8FloorBoundary(t, 2), 2u);
}

TEST(Utf8, CeilBoundaryStepsForwardToCharacterStart) {
  const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z";  // a é € 😀 z
  const size_t expected[] = {0, 1, 3, 3, 6, 6, 6, 10, 10, 10, 10, 11};
  for (size_t pos = 0; pos <= s.size(); ++pos) {
    EXPECT_EQ(Utf8CeilBoundary(s, pos), expected[pos]) << "pos " << pos;
  }
  EXPECT_EQ(Utf8CeilBoundary(s, s.size() + 5), s.size());
  EXPECT_EQ(Utf8CeilBoundary("ab\x80\x80z", 2), 2u);  // A stray continuation is a character.
  EXPECT_EQ(Utf8CeilBoundary("\xE2\x82", 1), 2u);      // A cut sequence's tail is its lead's.
}

TEST(Utf8, DecodeReturnsLengthAndCodePointOrZero) {
  auto decode = [](const std::string& s, uint32_t* cp) {
    return DecodeUtf8(reinterpret_cast<const uint8_t*>(s.data()), s.size(), 0, cp);
  };
  uint32_t cp = 0;
  EXPECT_EQ(decode("A", &cp), 1);
  EXPECT_EQ(cp, 0x41u);
  EXPECT_EQ(decode("\xC3\xA9", &cp), 2);
  EXPECT_EQ(cp, 0xE9u);
  EXPECT_EQ(decode("\xE2\x82\xAC", &cp), 3);
  EXPECT_EQ(cp, 0x20ACu);
  EXPECT_EQ(decode("\xF4\x8F\xBF\xBF", &cp), 4);
  EXPECT_EQ(cp, 0x10FFFFu);
  cp = 7;
  for (const char* bad : {"\x80", "\xC0\x80", "\xE0\x80\x80", "\xED\xA0\x80", "\xF0\x80\x80\x80",
                          "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xE2\x82", "\xC3" "A"}) {
    EXPECT_EQ(decode(bad, &cp), 0) << bad;
  }
  EXPECT_EQ(cp, 7u);
}

TEST(Utf8, EscapeForOneLineEscapesControlsSeparatorsAndBackslashOnly) {
  EXPECT_EQ(EscapeForOneLine("plain ids stay"), "plain ids stay");
  EXPECT_EQ(EscapeForOneLine("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(EscapeForOneLine(std::string("nul\0esc\x1b del\x7f", 13)),
            "nul\\x00esc\\x1b del\\x7f");
  EXPECT_EQ(EscapeForOneLine("c1\xc2\x85 ls\xe2\x80\xa8 ps\xe2\x80\xa9"),
            "c1\\u0085 ls\\u2028 ps\\u2029");
  EXPECT_EQ(EscapeForOneLine("back\\slash"), "back\\\\slash");
  EXPECT_EQ(EscapeForOneLine("caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80");
}

}  // namespace
}  // namespace vmllm
