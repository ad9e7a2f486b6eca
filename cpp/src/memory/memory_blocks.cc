// Working-memory blocks: validation, rendering into the system message, and edits (from the
// application or, through the tools, from the model). Blocks live in the store by block id, so
// an edit is seen by every agent that attached the block.
#include <algorithm>

#include "chat/message_json.h"
#include "memory/conversation_memory_impl.h"
#include "vmllm/utf8.h"

namespace vmllm {

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

Status ValidateBlock(const MemoryBlock& b) {
  if (b.label.empty()) return Status::InvalidArgument("a memory block needs a label");
  if (b.limit == 0) return Status::InvalidArgument("block '" + b.label + "' has a zero limit");
  if (!IsValidUtf8(b.value) || !IsValidUtf8(b.label) || !IsValidUtf8(b.description)) {
    return Status::InvalidArgument("block '" + b.label + "' is not valid UTF-8");
  }
  size_t chars = CodePoints(b.value);
  if (chars > b.limit) {
    return Status::InvalidArgument("block '" + b.label + "' holds " + std::to_string(chars) +
                                   " characters; its limit is " + std::to_string(b.limit));
  }
  return Status();
}

std::string ConversationMemoryImpl::RenderSystem(const std::vector<MemoryBlock>& blocks) const {
  std::string text = agent_.system;
  if (!blocks.empty()) {
    if (!text.empty()) text += "\n\n";
    text += "<memory_blocks>\nThe following memory blocks are your working context; edit them "
            "with core_memory_append and core_memory_replace.\n";
    for (const MemoryBlock& b : blocks) {
      text += "<" + b.label + ">\n";
      if (!b.description.empty()) text += "<description>" + b.description + "</description>\n";
      text += "<metadata>chars_current=" + std::to_string(CodePoints(b.value)) +
              " chars_limit=" + std::to_string(b.limit) +
              (b.read_only ? " read_only=true" : "") + "</metadata>\n";
      text += "<value>\n" + b.value + "\n</value>\n</" + b.label + ">\n";
    }
    text += "</memory_blocks>";
  }
  return text.empty() ? std::string() : TextMessageJson("system", text);
}


Result<std::vector<MemoryBlock>> ConversationMemoryImpl::Blocks() {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return store_->AgentBlocks(options_.agent_id);
}

Status ConversationMemoryImpl::AttachBlock(const MemoryBlock& block) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  VMLLM_RETURN_IF_ERROR(ValidateBlock(block));
  MemoryBlock b = block;
  if (b.block_id.empty()) b.block_id = options_.agent_id + "/" + b.label;
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  Status s = [&]() -> Status {
    auto existing = store_->GetBlock(b.block_id);
    if (!existing.ok()) return existing.status();
    if (!existing->has_value()) VMLLM_RETURN_IF_ERROR(store_->PutBlock(b));
    VMLLM_RETURN_IF_ERROR(store_->AttachBlock(options_.agent_id, b.label, b.block_id));
    auto head = HeadLocked();
    if (!head.ok()) return head.status();
    if (head->system_tokens + SummaryCapTokens() >
        options_.target_fraction * options_.window_tokens) {
      return Status::ResourceExhausted("block '" + b.label + "' would leave no room for messages");
    }
    return store_->Commit();
  }();
  if (!s.ok()) {
    store_->Rollback();
    return s;
  }
  AppendOutcome ignored;
  return MaybeFlushLocked(&ignored);
}

Status ConversationMemoryImpl::SetBlockValue(std::string_view label, std::string_view value) {
  std::lock_guard<std::mutex> lock(mu_);
  VMLLM_RETURN_IF_ERROR(CheckOpen());
  return EditBlockLocked(std::string(label), std::string(value), /*by_model=*/false);
}

Status ConversationMemoryImpl::EditBlockLocked(const std::string& label, const std::string& value,
                                               bool by_model) {
  if (!IsValidUtf8(value)) return Status::InvalidArgument("the new value is not valid UTF-8");
  auto blocks = store_->AgentBlocks(options_.agent_id);
  if (!blocks.ok()) return blocks.status();
  auto it = std::find_if(blocks->begin(), blocks->end(),
                         [&](const MemoryBlock& b) { return b.label == label; });
  if (it == blocks->end()) {
    std::string names;
    for (const MemoryBlock& b : *blocks) names += (names.empty() ? "" : ", ") + b.label;
    return Status::NotFound("there is no memory block labelled '" + label + "' (blocks: " +
                            (names.empty() ? "none" : names) + ")");
  }
  if (by_model && it->read_only) {
    return Status::InvalidArgument("memory block '" + label + "' is read-only");
  }
  size_t chars = CodePoints(value);
  if (chars > it->limit) {
    return Status::InvalidArgument("memory block '" + label + "' would hold " +
                                   std::to_string(chars) + " characters; its limit is " +
                                   std::to_string(it->limit) + ". Shorten it with "
                                   "core_memory_replace or move details to archival memory");
  }
  MemoryBlock updated = *it;
  updated.value = value;
  VMLLM_RETURN_IF_ERROR(store_->Begin());
  Status s = [&]() -> Status {
    VMLLM_RETURN_IF_ERROR(store_->PutBlock(updated));
    auto head = HeadLocked();
    if (!head.ok()) return head.status();
    if (head->system_tokens + SummaryCapTokens() >
        options_.target_fraction * options_.window_tokens) {
      return Status::ResourceExhausted("memory block '" + label +
                                       "' would leave too little of the context window for "
                                       "messages; keep it shorter");
    }
    return store_->Commit();
  }();
  if (!s.ok()) {
    store_->Rollback();
    return s;
  }
  AppendOutcome ignored;
  return MaybeFlushLocked(&ignored);
}


}  // namespace vmllm
