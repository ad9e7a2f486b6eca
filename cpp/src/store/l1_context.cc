#include "store/l1_context.h"

namespace vmllm {

Status L1Context::Put(PageKey key, std::string_view text) {
  PutView(key, std::string(text), tokenizer_->Count(text), false);
  return Status();
}

void L1Context::PutView(PageKey key, std::string text, size_t tokens, bool is_summary) {
  Erase(key);
  order_.push_back(key);
  bytes_ += text.size();
  used_tokens_ += tokens;
  entries_[key] = Slot{Resident{std::move(text), tokens, is_summary}, std::prev(order_.end())};
}

Result<std::string> L1Context::Get(PageKey key) {
  const Resident* r = Find(key);
  if (!r) return Status::NotFound("not in L1");
  return r->text;
}

Status L1Context::Erase(PageKey key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return Status();
  used_tokens_ -= it->second.resident.tokens;
  bytes_ -= it->second.resident.text.size();
  order_.erase(it->second.position);
  entries_.erase(it);
  return Status();
}

const L1Context::Resident* L1Context::Find(PageKey key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second.resident;
}

}  // namespace vmllm
