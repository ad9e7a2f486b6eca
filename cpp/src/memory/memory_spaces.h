// Where an agent's recall and archival storage live in the engine: the spaces
// "recall:<name>" and "archival:<name>", with one page per searchable row, "<space>/m<row id>"
// for a message and "<space>/p<row id>" for a passage.
//
// <name> is the agent id made safe for a space name (no '/', no control characters, valid
// UTF-8, short): '%', '#', '/', control bytes (and every byte >= 0x80 of an id that is not
// UTF-8) are written %XX; a name still too long keeps its start and ends in "#<hash of the id>".
// Distinct agent ids get distinct names (up to the 64-bit hash, for long ids only).
//
// Thread safety: pure functions.
#ifndef VMLLM_MEMORY_MEMORY_SPACES_H_
#define VMLLM_MEMORY_MEMORY_SPACES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/conversation_store.h"

namespace vmllm {

std::string MemorySpace(RecallTable table, std::string_view agent_id);
std::string MemoryPageId(RecallTable table, std::string_view space, int64_t row_id);
// The row id of a page MemoryPageId made for `space`; std::nullopt for any other page id.
std::optional<int64_t> MemoryRowId(RecallTable table, std::string_view space,
                                   std::string_view page_id);

}  // namespace vmllm

#endif  // VMLLM_MEMORY_MEMORY_SPACES_H_
