#include "memory/memory_spaces.h"

#include <cstdio>

#include "util/hash.h"
#include "vmllm/utf8.h"

namespace vmllm {
namespace {

// "archival:" + name stays well under the engine's 256-byte limit on space names.
constexpr size_t kMaxName = 200;
constexpr size_t kHashSuffix = 17;  // "#" and 16 hex digits.

const char* Prefix(RecallTable table) {
  return table == RecallTable::kMessages ? "recall:" : "archival:";
}

char Marker(RecallTable table) { return table == RecallTable::kMessages ? 'm' : 'p'; }

std::string SafeName(std::string_view agent_id) {
  const bool utf8 = IsValidUtf8(agent_id);
  std::string out;
  for (unsigned char c : agent_id) {
    if (c < 0x20 || c == 0x7f || c == '/' || c == '%' || c == '#' || (c >= 0x80 && !utf8)) {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (out.size() <= kMaxName) return out;
  // Escaped names never contain '#', so a hashed name cannot equal a short one.
  size_t cut = kMaxName - kHashSuffix;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  out.resize(cut);
  char hash[kHashSuffix + 1];
  std::snprintf(hash, sizeof hash, "#%016llx",
                static_cast<unsigned long long>(Fnv1a64(agent_id)));
  return out + hash;
}

}  // namespace

std::string MemorySpace(RecallTable table, std::string_view agent_id) {
  return Prefix(table) + SafeName(agent_id);
}

std::string MemoryPageId(RecallTable table, std::string_view space, int64_t row_id) {
  return std::string(space) + '/' + Marker(table) + std::to_string(row_id);
}

std::optional<int64_t> MemoryRowId(RecallTable table, std::string_view space,
                                   std::string_view page_id) {
  if (page_id.size() < space.size() + 3 || page_id.substr(0, space.size()) != space ||
      page_id[space.size()] != '/' || page_id[space.size() + 1] != Marker(table)) {
    return std::nullopt;
  }
  int64_t id = 0;
  for (char c : page_id.substr(space.size() + 2)) {
    if (c < '0' || c > '9' || id > (INT64_MAX - 9) / 10) return std::nullopt;
    id = id * 10 + (c - '0');
  }
  return id;
}

}  // namespace vmllm
