#include "vmllm/wire_format.h"

#include <string>

namespace vmllm {
namespace {

constexpr WireFormat kFormats[] = {WireFormat::kOpenAI, WireFormat::kAnthropic,
                                   WireFormat::kOpenAIResponses};

}  // namespace

const char* WireFormatName(WireFormat wire) {
  switch (wire) {
    case WireFormat::kOpenAI:
      return "openai";
    case WireFormat::kAnthropic:
      return "anthropic";
    case WireFormat::kOpenAIResponses:
      return "openai-responses";
  }
  return "?";
}

Result<WireFormat> ParseWireFormat(std::string_view name, std::string_view what) {
  std::string names;
  constexpr size_t kCount = sizeof(kFormats) / sizeof(kFormats[0]);
  for (size_t i = 0; i < kCount; ++i) {
    if (name == WireFormatName(kFormats[i])) return kFormats[i];
    if (i > 0) names += i + 1 == kCount ? " or " : ", ";
    names += "'" + std::string(WireFormatName(kFormats[i])) + "'";
  }
  return Status::InvalidArgument(std::string(what) + " must be " + names + ", not '" +
                                 std::string(name) + "'");
}

}  // namespace vmllm
