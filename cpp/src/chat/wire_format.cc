#include "vmllm/wire_format.h"

#include <string>

namespace vmllm {
namespace {

constexpr WireFormat kFormats[] = {WireFormat::kOpenAI, WireFormat::kAnthropic};

}  // namespace

const char* WireFormatName(WireFormat wire) {
  switch (wire) {
    case WireFormat::kOpenAI:
      return "openai";
    case WireFormat::kAnthropic:
      return "anthropic";
  }
  return "?";
}

Result<WireFormat> ParseWireFormat(std::string_view name, std::string_view what) {
  std::string names;
  for (WireFormat wire : kFormats) {
    if (name == WireFormatName(wire)) return wire;
    names += (names.empty() ? "'" : " or '") + std::string(WireFormatName(wire)) + "'";
  }
  return Status::InvalidArgument(std::string(what) + " must be " + names + ", not '" +
                                 std::string(name) + "'");
}

}  // namespace vmllm
