// Fuzzes Tokenizer::Count: any bytes (valid UTF-8 or not) give a count without crashing, the
// same count every time, and never more tokens than bytes (a token is at least one byte).
// An exact BPE tokenizer joins by adding it to Tokenizers() below.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "vmllm/tokenizer.h"

namespace {

const std::vector<std::unique_ptr<vmllm::Tokenizer>>& Tokenizers() {
  static const auto* all = [] {
    auto* v = new std::vector<std::unique_ptr<vmllm::Tokenizer>>();
    v->push_back(vmllm::NewApproxTokenizer());
    return v;
  }();
  return *all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& tokenizer : Tokenizers()) {
    size_t n = tokenizer->Count(text);
    if (tokenizer->Count(text) != n) {
      std::fprintf(stderr, "%s: Count is not deterministic\n", tokenizer->Name().c_str());
      std::abort();
    }
    if (n > size) {
      std::fprintf(stderr, "%s: %zu tokens in %zu bytes\n", tokenizer->Name().c_str(), n, size);
      std::abort();
    }
  }
  return 0;
}
