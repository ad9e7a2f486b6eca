// FindCaBundle (net/http_client.h): the CA bundle a bundled libcurl trusts on any distribution.
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "net/http_client.h"

namespace vmllm {
namespace {

std::string Find(const std::map<std::string, std::string>& env, const std::set<std::string>& files) {
  return FindCaBundle(
      [&](const char* name) {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
      },
      [&](const std::string& file) { return files.count(file) > 0; });
}

TEST(CaBundle, TheEnvironmentWinsThenTheDistributionsBundleIsFound) {
  EXPECT_EQ(Find({{"SSL_CERT_FILE", "/mine.pem"}}, {"/etc/ssl/certs/ca-certificates.crt"}),
            "/mine.pem");
  EXPECT_EQ(Find({{"CURL_CA_BUNDLE", "/curl.pem"}}, {}), "/curl.pem");
  EXPECT_EQ(Find({{"SSL_CERT_FILE", ""}}, {"/etc/pki/tls/certs/ca-bundle.crt"}),
            "/etc/pki/tls/certs/ca-bundle.crt");  // Fedora and RHEL.
  EXPECT_EQ(Find({}, {"/etc/ssl/cert.pem"}), "/etc/ssl/cert.pem");  // Alpine.
  EXPECT_EQ(Find({}, {}), "");  // Nothing known: libcurl's own default.
}

}  // namespace
}  // namespace vmllm
