// The Redis client, URL parser and L2 tier against a real redis-server started by each test.
#include "vmllm/redis_tier.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "net/redis_client.h"
#include "testing/redis_server.h"
#include "testing/temp_dir.h"
#include "vmllm/backend_events.h"
#include "vmllm/pager.h"

namespace vmllm {
namespace {

#define REQUIRE_REDIS_SERVER()                                                         \
  do {                                                                                 \
    if (!RedisServer::Available()) GTEST_SKIP() << "redis-server is not installed";    \
  } while (0)

RedisOptions Local(const RedisServer& server) {
  RedisOptions o;
  o.port = server.port();
  o.command_timeout_seconds = 0.5;
  o.connect_timeout_seconds = 0.5;
  o.retry_backoff_seconds = 0.05;
  return o;
}

TEST(RedisUrl, ParsesHostPortDbAndCredentials) {
  auto o = ParseRedisUrl("redis://alice:s%40cret@example.org:6380/3?timeout=0.25");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->host, "example.org");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->db, 3);
  EXPECT_EQ(o->user, "alice");
  EXPECT_EQ(o->password, "s@cret");
  EXPECT_DOUBLE_EQ(o->command_timeout_seconds, 0.25);

  auto defaults = ParseRedisUrl("redis://localhost");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->port, 6379);
  EXPECT_EQ(defaults->db, 0);
  EXPECT_TRUE(defaults->password.empty());

  auto password_only = ParseRedisUrl("redis://:pw@h:1/0");
  ASSERT_TRUE(password_only.ok());
  EXPECT_EQ(password_only->user, "");
  EXPECT_EQ(password_only->password, "pw");
}

TEST(RedisUrl, ParsesUnixSocketWithDb) {
  auto o = ParseRedisUrl("unix:///run/redis/redis.sock?db=2");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->unix_socket, "/run/redis/redis.sock");
  EXPECT_EQ(o->db, 2);
}

TEST(RedisUrl, RejectsMalformedUrlsWithoutEchoingThePassword) {
  for (const char* url : {"localhost:6379", "http://h:1", "rediss://h:1", "redis://h:0",
                          "redis://h:99999", "redis://h:1/x", "redis://h:1/0?nope=1",
                          "redis://h:1/0?timeout=-1", "unix://relative.sock", "redis://h:",
                          "redis://u:%zz@h"}) {
    auto o = ParseRedisUrl(url);
    EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument) << url;
  }
  auto o = ParseRedisUrl("redis://bob:topsecret@h:1/x");
  EXPECT_EQ(o.status().message().find("topsecret"), std::string::npos) << o.status().message();
}

TEST(RedisClient, SetsGetsDeletesAndReportsAbsence) {
  REQUIRE_REDIS_SERVER();
  RedisServer server;
  ASSERT_TRUE(server.Start());
  RedisClient client(Local(server));
  ASSERT_TRUE(client.Set("k", std::string("bin\0ary", 7), 60).ok());
  EXPECT_EQ(*client.Get("k", 0), std::string("bin\0ary", 7));
  EXPECT_TRUE(*client.Exists("k"));
  EXPECT_EQ(client.Get("missing", 0).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(client.Del("k").ok());
  EXPECT_FALSE(*client.Exists("k"));
}

TEST(RedisClient, ReadRefreshesTheTtl) {
  REQUIRE_REDIS_SERVER();
  RedisServer server;
  ASSERT_TRUE(server.Start());
  RedisClient client(Local(server));
  ASSERT_TRUE(client.Set("k", "v", 5).ok());
  EXPECT_LE(*client.Ttl("k"), 5);
  ASSERT_TRUE(client.Get("k", 500).ok());
  EXPECT_GT(*client.Ttl("k"), 100);
}

TEST(RedisClient, PipelinedBatchesKeepOrderAndMarkMisses) {
  REQUIRE_REDIS_SERVER();
  RedisServer server;
  ASSERT_TRUE(server.Start());
  RedisClient client(Local(server));
  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 0; i < 300; ++i) {
    entries.emplace_back("b" + std::to_string(i), std::to_string(i * i));
  }
  ASSERT_TRUE(client.SetMany(entries, 60).ok());
  std::vector<std::string> keys = {"b7", "nope", "b299", "b0"};
  auto got = client.GetMany(keys, 60);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(*got[0], "49");
  EXPECT_EQ(got[1].status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*got[2], std::to_string(299 * 299));
  EXPECT_EQ(*got[3], "0");
}

TEST(RedisClient, AuthenticatesWithPasswordAndRejectsAWrongOne) {
  REQUIRE_REDIS_SERVER();
  RedisServer server({"--requirepass", "s3cret"});
  ASSERT_TRUE(server.Start());
  RedisOptions o = Local(server);
  o.password = "s3cret";
  RedisClient good(o);
  EXPECT_TRUE(good.Set("k", "v", 60).ok());
  o.password = "wrong";
  RedisClient bad(o);
  EXPECT_EQ(bad.Set("k", "v", 60).code(), StatusCode::kBackendUnavailable);
  o.password.clear();
  RedisClient none(o);
  EXPECT_EQ(none.Get("k", 0).status().code(), StatusCode::kBackendUnavailable);
}

TEST(RedisClient, AuthenticatesAnAclUser) {
  REQUIRE_REDIS_SERVER();
  RedisServer server({"--user", "alice", "on", ">wonderland", "~*", "&*", "+@all",
                      "--user", "default", "off"});
  ASSERT_TRUE(server.Start());
  RedisOptions o = Local(server);
  o.user = "alice";
  o.password = "wonderland";
  RedisClient alice(o);
  EXPECT_TRUE(alice.Set("k", "v", 60).ok());
  EXPECT_EQ(*alice.Get("k", 0), "v");
  o.password = "looking-glass";
  RedisClient impostor(o);
  EXPECT_EQ(impostor.Get("k", 0).status().code(), StatusCode::kBackendUnavailable);
}

TEST(RedisClient, SelectsTheDatabaseAndSpeaksOverAUnixSocket) {
  REQUIRE_REDIS_SERVER();
  TempDir dir;
  RedisServer server({}, dir.Sub("redis.sock"));
  ASSERT_TRUE(server.Start());
  auto url = ParseRedisUrl("unix://" + dir.Sub("redis.sock") + "?db=5");
  ASSERT_TRUE(url.ok());
  RedisClient db5(*url);
  ASSERT_TRUE(db5.Set("k", "five", 60).ok());
  RedisClient db0(Local(server));
  EXPECT_EQ(db0.Get("k", 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*db5.Get("k", 0), "five");
}

TEST(RedisClient, FailsFastWhileTheServerIsDownAndReconnectsWhenItIsBack) {
  REQUIRE_REDIS_SERVER();
  signal(SIGPIPE, SIG_IGN);  // Belt and braces: the client blocks it around its own I/O.
  RedisServer server;
  ASSERT_TRUE(server.Start());
  RedisClient client(Local(server));
  ASSERT_TRUE(client.Set("k", "v", 60).ok());
  server.Kill();
  EXPECT_EQ(client.Get("k", 0).status().code(), StatusCode::kBackendUnavailable);
  EXPECT_EQ(client.Set("k", "v", 60).code(), StatusCode::kBackendUnavailable);
  ASSERT_TRUE(server.Start());  // Same port; its data is gone (no persistence).
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // Past the 50 ms back-off.
  EXPECT_TRUE(client.Set("k", "again", 60).ok());
  EXPECT_EQ(*client.Get("k", 0), "again");
}

TEST(RedisTier, NamespacesStoresAndPostsWarningsOnStateChanges) {
  REQUIRE_REDIS_SERVER();
  RedisServer server;
  ASSERT_TRUE(server.Start());
  TakeBackendWarnings();
  RedisTierOptions a, b;
  a.redis = b.redis = Local(server);
  a.store_id = "storeA";
  b.store_id = "storeB";
  auto ta = NewRedisTier(a);
  auto tb = NewRedisTier(b);
  ASSERT_TRUE(ta.ok() && tb.ok());
  ASSERT_TRUE((*ta)->Put(1, "from A").ok());
  ASSERT_TRUE((*tb)->Put(1, "from B").ok());
  EXPECT_EQ(*(*ta)->Get(1), "from A");
  EXPECT_EQ(*(*tb)->Get(1), "from B");
  ASSERT_TRUE((*ta)->Erase(1).ok());
  EXPECT_EQ((*ta)->Get(1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*(*tb)->Get(1), "from B");
  EXPECT_EQ((*tb)->Usage().pages, 1u);
  RedisClient raw(Local(server));
  EXPECT_TRUE(*raw.Exists("vmllm:storeB:1"));
  EXPECT_TRUE(TakeBackendWarnings().empty());

  server.Kill();
  EXPECT_EQ((*tb)->Get(1).status().code(), StatusCode::kBackendUnavailable);
  EXPECT_EQ((*tb)->Put(2, "x").code(), StatusCode::kBackendUnavailable);
  auto down = TakeBackendWarnings();
  ASSERT_EQ(down.size(), 1u);  // One warning for the outage, not one per call.
  EXPECT_NE(down[0].find("unavailable"), std::string::npos) << down[0];
  ASSERT_TRUE(server.Start());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE((*tb)->Put(2, "x").ok());
  auto up = TakeBackendWarnings();
  ASSERT_EQ(up.size(), 1u);
  EXPECT_NE(up[0].find("reachable again"), std::string::npos) << up[0];

  RedisTierOptions bad = a;
  bad.store_id = "has:colon";
  EXPECT_EQ(NewRedisTier(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST(RedisTier, UnreachableServerAtStartIsAWarningNotAnError) {
  TakeBackendWarnings();
  RedisTierOptions o;
  o.redis.port = 1;  // Nothing listens there.
  o.redis.connect_timeout_seconds = 0.2;
  o.store_id = "s";
  auto tier = NewRedisTier(o);
  ASSERT_TRUE(tier.ok());
  EXPECT_EQ((*tier)->Get(1).status().code(), StatusCode::kBackendUnavailable);
  EXPECT_EQ(TakeBackendWarnings().size(), 1u);
}

TEST(RedisTier, StoreIdIsKeptInTheStoreSoProcessesShareIt) {
  REQUIRE_REDIS_SERVER();
  RedisServer server;
  ASSERT_TRUE(server.Start());
  TempDir one, two;
  auto a1 = OpenRedisTier(server.url(), one.path(), 60);
  auto a2 = OpenRedisTier(server.url(), one.path(), 60);
  auto b = OpenRedisTier(server.url(), two.path(), 60);
  ASSERT_TRUE(a1.ok() && a2.ok() && b.ok()) << a1.status().ToString();
  ASSERT_TRUE((*a1)->Put(7, "shared").ok());
  EXPECT_EQ(*(*a2)->Get(7), "shared");
  EXPECT_EQ((*b)->Get(7).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(OpenRedisTier("redis://h:0", one.path(), 60).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(RedisTier, SecondPagerOnTheStoreReadsReleasedPagesFromRedis) {
  REQUIRE_REDIS_SERVER();
  RedisServer server;
  ASSERT_TRUE(server.Start());
  TempDir dir;
  auto open = [&] {
    PagerOptions o;
    o.path = dir.path();
    o.l1_tokens = 400;
    o.page_tokens = 100;
    auto tier = OpenRedisTier(server.url(), dir.path(), 60);
    EXPECT_TRUE(tier.ok());
    o.l2_tier = std::move(tier).value();
    auto pager = Pager::Open(std::move(o));
    EXPECT_TRUE(pager.ok()) << pager.status().ToString();
    return std::move(pager).value();
  };
  auto first = open();
  std::string text;
  for (int i = 0; i < 12; ++i) {
    text += "Paragraph " + std::to_string(i) + " on retries, backoff and circuit breakers in "
            "distributed services that call each other over the network.\n\n";
  }
  auto ids = first->Ingest("doc", text);
  ASSERT_TRUE(ids.ok());
  ASSERT_GE(ids->size(), 3u);
  std::vector<std::string> wanted(ids->begin(), ids->begin() + 3);
  for (const auto& id : wanted) ASSERT_TRUE(first->RequestPage(id, true).ok());
  for (const auto& id : wanted) ASSERT_TRUE(*first->ReleasePage(id, false));

  auto second = open();
  auto texts = second->RequestPages(wanted, true);
  ASSERT_TRUE(texts.ok()) << texts.status().ToString();
  for (size_t i = 0; i < wanted.size(); ++i) EXPECT_EQ((*texts)[i], *second->ReadPage(wanted[i]));
  PagerStats s = second->Stats();
  EXPECT_EQ(s.tiers[1].hits, wanted.size());  // L2
  EXPECT_EQ(s.tiers[2].hits, 0u);             // L3
  EXPECT_EQ(s.tiers[3].hits, 0u);             // L4
}

}  // namespace
}  // namespace vmllm
