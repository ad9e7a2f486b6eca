// Stream configurations the stream tests share.
#ifndef VMLLM_TESTING_STREAM_CONFIGS_H_
#define VMLLM_TESTING_STREAM_CONFIGS_H_

#include "vmllm/stream.h"

namespace vmllm {

// τ = 4 with eviction as soon as eligible: the mechanics most stream tests check were written
// for it (the default before issue 15 chose τ = 1 with the cache gate).
inline StreamConfig Eager4() {
  StreamConfig c;
  c.tau_turns = 4;
  c.cache_aware = false;
  return c;
}

}  // namespace vmllm

#endif  // VMLLM_TESTING_STREAM_CONFIGS_H_
