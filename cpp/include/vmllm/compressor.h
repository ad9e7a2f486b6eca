// Compressor: makes the summary view of an evicted page.
//
// A summary is an extra view of a page, never a replacement: the original stays in L4 and comes
// back with request_page(id, full=true). The built-in ExtractiveCompressor is offline and
// deterministic: it keeps, in their original order, the sentences that carry the most names,
// numbers and identifiers, until about `ratio` of the input's bytes (default 1/10) is kept.
//
// Thread safety: implementations must allow concurrent Compress calls.
#ifndef VMLLM_COMPRESSOR_H_
#define VMLLM_COMPRESSOR_H_

#include <memory>
#include <string>
#include <string_view>

namespace vmllm {

class Compressor {
 public:
  virtual ~Compressor() = default;
  virtual std::string Name() const = 0;
  // Returns the summary of `text`: never empty for non-blank input, never longer than `text`.
  virtual std::string Compress(std::string_view text) const = 0;
};

// REQUIRES: 0 < ratio <= 1.
std::unique_ptr<Compressor> NewExtractiveCompressor(double ratio = 0.1);

}  // namespace vmllm

#endif  // VMLLM_COMPRESSOR_H_
