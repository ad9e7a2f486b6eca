#include "vmllm/page.h"

#include <cstdio>

namespace vmllm {

const char* TierName(TierId tier) {
  switch (tier) {
    case TierId::kL1: return "L1";
    case TierId::kL2: return "L2";
    case TierId::kL3: return "L3";
    case TierId::kL4: return "L4";
  }
  return "L?";
}

std::string MakePageId(const std::string& doc_id, uint32_t index) {
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "::chunk_%04u", index);
  return doc_id + suffix;
}

}  // namespace vmllm
