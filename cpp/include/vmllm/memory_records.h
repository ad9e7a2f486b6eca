// What a conversation keeps durably: its working-memory blocks (MemGPT's core memory: labelled,
// size-limited texts that stay in the model's context, shared by agents that share a block id)
// and the messages and passages that recall and archival search return. Declared apart from
// ConversationMemory because the store keeps them and must not depend on the memory layer.
//
// Thread safety: plain values.
#ifndef VMLLM_MEMORY_RECORDS_H_
#define VMLLM_MEMORY_RECORDS_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace vmllm {

// One working-memory block. `limit` counts characters (Unicode code points) of `value`.
struct MemoryBlock {
  std::string block_id;  // Empty on creation: "<agent_id>/<label>" is used.
  std::string label;
  std::string value;
  size_t limit = 2000;
  std::string description;
  bool read_only = false;
};

// A message or passage found by recall or archival search.
struct MemoryHit {
  int64_t id = 0;
  double timestamp = 0;    // Seconds since the Unix epoch.
  std::string role;        // "archival" for passages.
  std::string content;     // The searchable text.
  std::string json;        // The message as stored (passages: empty).
  double score = 0;
};

}  // namespace vmllm

#endif  // VMLLM_MEMORY_RECORDS_H_
