#include "sdk/query_client.h"

#include <memory>
#include <string>

#include "common/envelope.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tds::sdk {
namespace {

TEST(QueryClientTest, QueryAuthIsAQueryIdentitySignedUnderTheQueryContext) {
  auto key = *SigningKey::FromSeed(std::string(32, '\x05'));
  std::string auth = BuildQueryAuth(*key, "bank", 1741944413000);
  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(auth, "tds.query.v1");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->signer, key->public_key());
  tds::QueryIdentity identity;
  ASSERT_TRUE(identity.ParseFromString(opened->payload));
  EXPECT_EQ(identity.member_id(), "bank");
  EXPECT_EQ(identity.issued_ms(), 1741944413000);
  // A query identity is not a transaction.
  EXPECT_FALSE(OpenEnvelope(auth, kTxContext).ok());
}

TEST(QueryClientTest, ConnectRefusesMissingAddressAndTls) {
  ClientOptions options;
  options.insecure_dev = true;
  absl::StatusOr<std::unique_ptr<QueryClient>> client = QueryClient::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(std::string(client.status().message()), ::testing::HasSubstr("address"));

  options.address = "127.0.0.1:1";
  options.insecure_dev = false;
  client = QueryClient::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(std::string(client.status().message()), ::testing::HasSubstr("--insecure-dev"));
}

TEST(QueryClientTest, UnreachableNodeIsUnavailable) {
  ClientOptions options;
  options.address = "127.0.0.1:1";  // nothing listens on port 1
  options.insecure_dev = true;
  options.timeout_ms = 2000;
  absl::StatusOr<std::unique_ptr<QueryClient>> client = QueryClient::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<tds::ListMembersResponse> members = (*client)->ListMembers();
  ASSERT_FALSE(members.ok());
  EXPECT_EQ(members.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace tds::sdk
