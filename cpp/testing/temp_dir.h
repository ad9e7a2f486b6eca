// A fresh directory for one test, removed with everything in it when the test ends.
#ifndef VMLLM_TESTING_TEMP_DIR_H_
#define VMLLM_TESTING_TEMP_DIR_H_

#include <string>

namespace vmllm {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace vmllm

#endif  // VMLLM_TESTING_TEMP_DIR_H_
