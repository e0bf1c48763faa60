#include "compute/query/anonymous_query.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "compute/link.h"
#include "compute/query/query_test_util.h"

namespace tds::compute::query {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

std::unique_ptr<const PreparedTable> Prepare(const ProviderKey& key, const std::vector<Row>& rows,
                                             uint64_t k, std::vector<uint32_t> permitted = {0, 1}) {
  auto t = PreparedTable::Prepare(key, rows, TestPrepareOptions(k, std::move(permitted)));
  EXPECT_TRUE(t.ok()) << t.status();
  return *std::move(t);
}

// Wraps a link: records what passes in each direction and lets a test rewrite what is sent
// (replace, drop, duplicate or hold back messages).
class TapLink final : public Link {
 public:
  using Rewrite = std::function<std::vector<std::string>(size_t index, std::string message)>;
  explicit TapLink(Link& inner, Rewrite rewrite = nullptr)
      : inner_(inner), rewrite_(std::move(rewrite)) {}

  absl::Status Send(std::string message) override {
    std::vector<std::string> out;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sent_.push_back(message);
      out = rewrite_ ? rewrite_(sent_.size() - 1, std::move(message))
                     : std::vector<std::string>{std::move(message)};
    }
    for (std::string& m : out) {
      absl::Status s = inner_.Send(std::move(m));
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Recv() override {
    absl::StatusOr<std::string> m = inner_.Recv();
    if (m.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      received_.push_back(*m);
    }
    return m;
  }
  void Close() override { inner_.Close(); }

  std::vector<std::string> sent() {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  std::vector<std::string> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  Link& inner_;
  Rewrite rewrite_;
  std::mutex mu_;
  std::vector<std::string> sent_;      // as the party produced them, before any rewrite
  std::vector<std::string> received_;  // GUARDED_BY(mu_)
};

struct Outcome {
  absl::StatusOr<std::vector<QueryAnswer>> consumer{absl::UnknownError("not run")};
  absl::StatusOr<QueryInfo> provider{absl::UnknownError("not run")};
  std::vector<std::string> provider_sent;
  std::vector<std::string> provider_received;
};

struct Options {
  QueryProviderOptions provider;
  QueryConsumerOptions consumer;
  TapLink::Rewrite rewrite_provider_sends;
};

Outcome RunQuery(const ProviderKey& key, const PreparedTable& table,
                 const std::vector<std::string>& ids, const Options& setup = {}) {
  auto [c_link, p_link] = MemoryLinkPair();
  TapLink tap(*p_link, setup.rewrite_provider_sends);
  Outcome out;
  std::thread provider([&] { out.provider = RunQueryProvider(key, table, setup.provider, tap); });
  out.consumer = RunQueryConsumer(ids, setup.consumer, *c_link);
  provider.join();
  out.provider_sent = tap.sent();
  out.provider_received = tap.received();
  return out;
}

// The plaintext reference: the permitted columns of each id's row, or not found.
void ExpectMatchesReference(const std::vector<Row>& rows, const std::vector<uint32_t>& permitted,
                            const std::vector<std::string>& ids,
                            const std::vector<QueryAnswer>& answers) {
  std::map<std::string, const Row*> by_id;
  for (const Row& r : rows) by_id[r.id] = &r;
  ASSERT_EQ(answers.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto it = by_id.find(ids[i]);
    if (it == by_id.end()) {
      EXPECT_FALSE(answers[i].found) << ids[i];
      EXPECT_TRUE(answers[i].columns.empty()) << ids[i];
      continue;
    }
    std::vector<std::string> want;
    for (uint32_t c : permitted) want.push_back(it->second->columns[c]);
    EXPECT_TRUE(answers[i].found) << ids[i];
    EXPECT_EQ(answers[i].columns, want) << ids[i];
  }
}

class AnonymousQueryTest : public ::testing::Test {
 protected:
  AnonymousQueryTest()
      : key_(TestKey("contract-a")), rows_(TestRows(600)), table_(Prepare(key_, rows_, 40)) {}

  // An id not in the table whose bucket is `bucket`.
  std::string AbsentIdInBucket(uint32_t bucket) const {
    for (int i = 0;; ++i) {
      std::string id = absl::StrCat("absent-", i);
      if (BucketOf(BucketHash(id), table_->buckets()) == bucket) return id;
    }
  }

  const ProviderKey key_;
  const std::vector<Row> rows_;
  const std::unique_ptr<const PreparedTable> table_;
};

TEST_F(AnonymousQueryTest, SinglePresentId) {
  const Outcome out = RunQuery(key_, *table_, {"id-17"});
  ASSERT_TRUE(out.consumer.ok()) << out.consumer.status();
  ASSERT_TRUE(out.provider.ok()) << out.provider.status();
  ASSERT_EQ(out.consumer->size(), 1u);
  EXPECT_TRUE((*out.consumer)[0].found);
  EXPECT_THAT((*out.consumer)[0].columns, ElementsAre("name-nn17", "119"));
  EXPECT_EQ(out.provider->identifiers, 1u);
  EXPECT_EQ(out.provider->buckets, 1u);
  EXPECT_EQ(out.provider->request_digest.size(), 32u);
}

TEST_F(AnonymousQueryTest, SingleAbsentId) {
  const Outcome out = RunQuery(key_, *table_, {"nobody"});
  ASSERT_TRUE(out.consumer.ok()) << out.consumer.status();
  ASSERT_TRUE(out.provider.ok()) << out.provider.status();
  EXPECT_FALSE((*out.consumer)[0].found);
  EXPECT_TRUE((*out.consumer)[0].columns.empty());
}

TEST_F(AnonymousQueryTest, MixedBatchWithDuplicatesMatchesTheReference) {
  std::vector<std::string> ids;
  for (int i = 0; i < 120; ++i) {
    ids.push_back(i % 3 == 0 ? absl::StrCat("missing-", i) : absl::StrCat("id-", (i * 37) % 700));
  }
  ids.push_back("id-5");
  ids.push_back("id-5");
  ids.push_back("missing-0");
  const Outcome out = RunQuery(key_, *table_, ids);  // >= kParallelBatch: the pool paths
  ASSERT_TRUE(out.consumer.ok()) << out.consumer.status();
  ASSERT_TRUE(out.provider.ok()) << out.provider.status();
  ExpectMatchesReference(rows_, {0, 1}, ids, *out.consumer);
  EXPECT_EQ(out.provider->identifiers, ids.size());
  std::set<uint32_t> distinct;
  for (const std::string& id : ids) distinct.insert(BucketOf(BucketHash(id), table_->buckets()));
  EXPECT_EQ(out.provider->buckets, distinct.size());
}

TEST_F(AnonymousQueryTest, SharedPoolGivesTheSameAnswers) {
  WorkerPool pool(2);
  Options setup;
  setup.provider.pool = &pool;
  setup.consumer.pool = &pool;
  std::vector<std::string> ids;
  for (int i = 0; i < 64; ++i) ids.push_back(absl::StrCat("id-", i * 11));
  const Outcome out = RunQuery(key_, *table_, ids, setup);
  ASSERT_TRUE(out.consumer.ok()) << out.consumer.status();
  ExpectMatchesReference(rows_, {0, 1}, ids, *out.consumer);
}

TEST(AnonymousQuerySmallTableTest, FewerRowsThanKIsOneBucketOfTheWholeTable) {
  const ProviderKey key = TestKey("c");
  const std::vector<Row> rows = TestRows(6);
  const auto table = Prepare(key, rows, 1000);
  ASSERT_EQ(table->buckets(), 1u);
  const std::vector<std::string> ids = {"id-0", "id-5", "id-6", "x"};
  const Outcome out = RunQuery(key, *table, ids);
  ASSERT_TRUE(out.consumer.ok()) << out.consumer.status();
  ExpectMatchesReference(rows, {0, 1}, ids, *out.consumer);
}

TEST(AnonymousQuerySmallTableTest, EmptyTableFindsNothing) {
  const ProviderKey key = TestKey("c");
  const auto table = Prepare(key, {}, 10);
  const Outcome out = RunQuery(key, *table, {"id-0", "id-1"});
  ASSERT_TRUE(out.consumer.ok()) << out.consumer.status();
  ASSERT_TRUE(out.provider.ok()) << out.provider.status();
  EXPECT_FALSE((*out.consumer)[0].found);
  EXPECT_FALSE((*out.consumer)[1].found);
}

TEST(AnonymousQueryColumnsTest, OnlyPermittedColumnsAreAnswered) {
  const ProviderKey key = TestKey("c");
  const std::vector<Row> rows = TestRows(200);
  const auto table = Prepare(key, rows, 10, {1});
  const std::vector<std::string> ids = {"id-3", "id-150", "nope"};
  const Outcome out = RunQuery(key, *table, ids);
  ASSERT_TRUE(out.consumer.ok()) << out.consumer.status();
  ExpectMatchesReference(rows, {1}, ids, *out.consumer);
  for (const QueryAnswer& a : *out.consumer) {
    for (const std::string& v : a.columns) {
      EXPECT_EQ(v.find("SECRET"), std::string::npos);
      EXPECT_EQ(v.find("name"), std::string::npos);
    }
  }
  for (const std::string& m : out.provider_sent) EXPECT_EQ(m.find("SECRET"), std::string::npos);
  // (prepared_table_test decrypts every entry and checks no plaintext holds other columns.)
}

TEST(AnonymousQueryColumnsTest, PayloadsArePaddedSoResponseSizesDoNotDependOnTheRow) {
  const ProviderKey key = TestKey("c");
  std::vector<Row> rows = TestRows(300);
  rows[10].columns[0] = std::string(900, 'L');  // one long row, the rest short
  const auto table = Prepare(key, rows, 10);
  EXPECT_GE(table->payload_bytes(), 900u);
  const Outcome long_row = RunQuery(key, *table, {"id-10"});
  const Outcome short_row = RunQuery(key, *table, {"id-11"});
  ASSERT_TRUE(long_row.consumer.ok() && short_row.consumer.ok());
  EXPECT_EQ((*long_row.consumer)[0].columns[0], std::string(900, 'L'));
  EXPECT_EQ((*short_row.consumer)[0].columns[0], rows[11].columns[0]);
  ASSERT_EQ(long_row.provider_sent.size(), short_row.provider_sent.size());
  for (size_t i = 0; i < long_row.provider_sent.size(); ++i) {
    EXPECT_EQ(long_row.provider_sent[i].size(), short_row.provider_sent[i].size()) << i;
  }
}

TEST(AnonymousQueryKeyTest, TablePreparedForContractADoesNotAnswerUnderContractBsKey) {
  const ProviderKey key_a = TestKey("contract-a");
  const ProviderKey key_b = TestKey("contract-b");
  const std::vector<Row> rows = TestRows(100);
  const auto table_a = Prepare(key_a, rows, 10);
  // The session refuses the mismatch outright.
  const Outcome out = RunQuery(key_b, *table_a, {"id-1"});
  ASSERT_FALSE(out.provider.ok());
  EXPECT_EQ(out.provider.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(out.provider.status().message(), HasSubstr("prepared under a different key"));
  // (The consumer fails sending its hello or waiting for the provider's, whichever it reaches
  // first once the provider has closed the link.)
  EXPECT_FALSE(out.consumer.ok());

  // And cryptographically: contract B's OPRF output for a row of table A derives a tag that
  // no entry of table A carries, while contract A's does.
  for (const Row& row : rows) {
    uint8_t p[kPointBytes], y[kPointBytes], tag[kTagBytes], row_key[kRowKeyBytes];
    HashToGroup(row.id, p);
    const std::string_view bucket = table_a->Entries(
        BucketOf(BucketHash(row.id), table_a->buckets()), 0, table_a->bucket_entries());
    auto carries = [&](const uint8_t* t) {
      for (size_t off = 0; off < bucket.size(); off += table_a->entry_bytes()) {
        if (std::memcmp(bucket.data() + off, t, kTagBytes) == 0) return true;
      }
      return false;
    };
    ASSERT_TRUE(key_b.Evaluate(p, y));
    DeriveRowSecrets(table_a->salt(), row.id, y, tag, row_key);
    EXPECT_FALSE(carries(tag)) << row.id;
    ASSERT_TRUE(key_a.Evaluate(p, y));
    DeriveRowSecrets(table_a->salt(), row.id, y, tag, row_key);
    EXPECT_TRUE(carries(tag)) << row.id;
  }
}

TEST_F(AnonymousQueryTest, ProviderTranscriptIsTheSameForPresentAndAbsentIdsInOneBucket) {
  const std::string present = "id-42";
  const uint32_t bucket = BucketOf(BucketHash(present), table_->buckets());
  const std::string absent = AbsentIdInBucket(bucket);
  const Outcome a = RunQuery(key_, *table_, {present});
  const Outcome b = RunQuery(key_, *table_, {absent});
  const Outcome a_again = RunQuery(key_, *table_, {present});
  for (const Outcome* o : {&a, &b, &a_again}) {
    ASSERT_TRUE(o->consumer.ok()) << o->consumer.status();
    ASSERT_TRUE(o->provider.ok()) << o->provider.status();
  }
  EXPECT_TRUE((*a.consumer)[0].found);
  EXPECT_FALSE((*b.consumer)[0].found);

  // Byte-exact lengths of every message the provider receives and sends.
  auto sizes = [](const std::vector<std::string>& ms) {
    std::vector<size_t> s;
    for (const std::string& m : ms) s.push_back(m.size());
    return s;
  };
  EXPECT_EQ(sizes(a.provider_received), sizes(b.provider_received));
  EXPECT_EQ(sizes(a.provider_sent), sizes(b.provider_sent));
  ASSERT_EQ(a.provider_received.size(), 3u);  // hello, request, done
  // The hellos and the done message are identical; the request carries the same bucket index.
  EXPECT_EQ(a.provider_received[0], b.provider_received[0]);
  EXPECT_EQ(a.provider_received[2], b.provider_received[2]);
  const std::string& req_a = a.provider_received[1];
  const std::string& req_b = b.provider_received[1];
  const std::string& req_a2 = a_again.provider_received[1];
  EXPECT_EQ(req_a.substr(0, 9), req_b.substr(0, 9));  // tag, count, bucket
  // The blinded points are fresh each run: the same id twice gives unrelated points.
  EXPECT_NE(req_a.substr(9), req_a2.substr(9));
  EXPECT_NE(req_a.substr(9), req_b.substr(9));
  // Everything the provider sends after its answers (the bucket) is byte-identical, whatever
  // the id and whether it matched.
  ASSERT_GE(a.provider_sent.size(), 3u);  // hello, answers, >= 1 chunk
  for (size_t i = 0; i < a.provider_sent.size(); ++i) {
    if (i == 1) continue;  // answers: k·(blinded point), random like the request
    EXPECT_EQ(a.provider_sent[i], b.provider_sent[i]) << "message " << i;
  }
  EXPECT_EQ(a.provider->request_digest.size(), 32u);
  EXPECT_NE(a.provider->request_digest, b.provider->request_digest);
}

TEST_F(AnonymousQueryTest, ChunkedBucketsArriveInPieces) {
  Options setup;
  setup.provider.chunk_bytes = table_->entry_bytes() * 7;  // several chunks per bucket
  std::vector<std::string> ids = {"id-1", "id-2", "id-300", "zz"};
  const Outcome out = RunQuery(key_, *table_, ids, setup);
  ASSERT_TRUE(out.consumer.ok()) << out.consumer.status();
  ExpectMatchesReference(rows_, {0, 1}, ids, *out.consumer);
  const size_t chunks_per_bucket = (table_->bucket_entries() + 6) / 7;
  EXPECT_EQ(out.provider_sent.size(), 2 + out.provider->buckets * chunks_per_bucket);
}

// ---------------------------------------------------------------------------------------------
// Refusals. The gate, the consumer's checks (through a provider whose messages are rewritten),
// and the provider's checks (through a scripted consumer writing raw messages).

TEST_F(AnonymousQueryTest, BeforeAnswerRefusalLeavesTheConsumerWithoutAResult) {
  Options setup;
  QueryInfo seen;
  setup.provider.before_answer = [&](const QueryInfo& info) {
    seen = info;
    return absl::ResourceExhaustedError("quota used up");
  };
  const Outcome out = RunQuery(key_, *table_, {"id-1", "id-2", "id-1"}, setup);
  ASSERT_FALSE(out.provider.ok());
  EXPECT_EQ(out.provider.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(out.provider.status().message(),
              HasSubstr("anonymous query provider: answer refused: quota used up"));
  ASSERT_FALSE(out.consumer.ok());
  EXPECT_THAT(out.consumer.status().message(),
              HasSubstr("anonymous query consumer: waiting for the provider's answers"));
  EXPECT_EQ(seen.identifiers, 3u);
  EXPECT_EQ(seen.buckets, BucketOf(BucketHash("id-1"), table_->buckets()) ==
                                  BucketOf(BucketHash("id-2"), table_->buckets())
                              ? 1u
                              : 2u);
  // Nothing but the hello left the provider.
  EXPECT_EQ(out.provider_sent.size(), 1u);
}

TEST_F(AnonymousQueryTest, ConsumerRefusesAProviderWithTooSmallK) {
  Options setup;
  setup.consumer.required_k = 41;  // the table was prepared with k = 40
  const Outcome out = RunQuery(key_, *table_, {"id-1"}, setup);
  ASSERT_FALSE(out.consumer.ok());
  EXPECT_EQ(out.consumer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(out.consumer.status().message(),
              HasSubstr("the provider announces k = 40, the contract requires at least 41"));
  EXPECT_FALSE(out.provider.ok());
}

TEST_F(AnonymousQueryTest, ConsumerRefusesABatchAboveTheProvidersLimit) {
  Options setup;
  setup.provider.max_batch = 2;
  const Outcome out = RunQuery(key_, *table_, {"id-1", "id-2", "id-3"}, setup);
  ASSERT_FALSE(out.consumer.ok());
  EXPECT_THAT(out.consumer.status().message(),
              HasSubstr("a batch of 3 identifiers exceeds the provider's limit of 2"));
  ASSERT_FALSE(out.provider.ok());
  EXPECT_THAT(out.provider.status().message(),
              HasSubstr("the consumer announces a batch of 3 identifiers, expected 1 to 2"));
}

TEST_F(AnonymousQueryTest, ConsumerRefusesAnEmptyBatch) {
  const Outcome out = RunQuery(key_, *table_, {});
  ASSERT_FALSE(out.consumer.ok());
  EXPECT_EQ(out.consumer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.consumer.status().message(), HasSubstr("a batch of 0 identifiers"));
  EXPECT_FALSE(out.provider.ok());
}

// Provider messages in order: 0 hello, 1 answers, 2.. chunks.
struct ConsumerRefusal {
  const char* name;
  TapLink::Rewrite rewrite;
  const char* error;
};

TEST_F(AnonymousQueryTest, ConsumerRefusesMalformedProviderMessages) {
  auto at = [](size_t index, std::function<void(std::string&)> edit) -> TapLink::Rewrite {
    return [index, edit](size_t i, std::string m) {
      if (i == index) edit(m);
      return std::vector<std::string>{m};
    };
  };
  // Holds message `index` back and sends it after the next one.
  auto swap_with_next = [](size_t index) -> TapLink::Rewrite {
    auto held = std::make_shared<std::string>();
    return [index, held](size_t i, std::string m) {
      if (i == index) {
        *held = std::move(m);
        return std::vector<std::string>{};
      }
      if (i == index + 1) return std::vector<std::string>{m, *held};
      return std::vector<std::string>{m};
    };
  };
  const std::vector<ConsumerRefusal> cases = {
      {"hello truncated", at(0, [](std::string& m) { m.pop_back(); }),
       "the provider's hello has 50 bytes, expected 51"},
      {"hello wrong version", at(0, [](std::string& m) { m[1] = 9; }),
       "the provider speaks version 9, expected 1"},
      {"hello wrong role", at(0, [](std::string& m) { m[2] = 0; }),
       "the peer's hello announces role 0, expected the provider"},
      {"hello zero buckets", at(0, [](std::string& m) { std::memset(m.data() + 11, 0, 4); }),
       "the provider announces 0 buckets"},
      {"hello huge buckets", at(0, [](std::string& m) { std::memset(m.data() + 15, 0x7f, 4); }),
       "entries, above the limit of 16777216"},
      {"hello zero chunk", at(0, [](std::string& m) { std::memset(m.data() + 27, 0, 4); }),
       "the provider announces chunks of 0 entries"},
      {"answers truncated", at(1, [](std::string& m) { m.resize(m.size() - 3); }),
       "the provider's answers has 34 bytes, expected 37"},
      {"answers invalid point", at(1, [](std::string& m) { std::memset(m.data() + 5, 0xff, 32); }),
       "the provider's answer 0 is not a valid ristretto255 point"},
      {"answers identity point", at(1, [](std::string& m) { std::memset(m.data() + 5, 0, 32); }),
       "the provider's answer 0 is not a valid ristretto255 point"},
      {"chunk before answers", swap_with_next(1),
       "expected the provider's answers (tag 0x23), got a message with tag 0x24"},
      {"chunk replayed",
       [](size_t i, std::string m) {
         return i == 2 ? std::vector<std::string>{m, m} : std::vector<std::string>{m};
       },
       "at entry 2 with 2 entries, got bucket"},
      {"chunk of another bucket", at(2, [](std::string& m) { m[4] ^= 1; }),
       "expected the provider's chunk of bucket"},
      {"chunk truncated", at(2, [](std::string& m) { m.pop_back(); }), "bytes, expected"},
      {"entries tampered",
       [e = table_->entry_bytes()](size_t i, std::string m) {
         // One ciphertext byte of every entry of every chunk; the tags stay intact.
         for (size_t off = 13; i >= 2 && off < m.size(); off += e) m[off + kTagBytes] ^= 0x5a;
         return std::vector<std::string>{m};
       },
       "but does not decrypt under its key"},
  };
  Options base;
  base.provider.chunk_bytes = table_->entry_bytes() * 2;  // 2 entries per chunk
  for (const ConsumerRefusal& c : cases) {
    SCOPED_TRACE(c.name);
    Options setup = base;
    setup.rewrite_provider_sends = c.rewrite;
    // "entries tampered" needs a real entry in a chunk the consumer reads before it fails:
    // query every row of bucket 0, so every real entry there carries a wanted tag.
    std::vector<std::string> ids = {"id-9"};
    if (std::string(c.name) == "entries tampered") {
      ids.clear();
      for (const Row& r : rows_) {
        if (BucketOf(BucketHash(r.id), table_->buckets()) == 0) ids.push_back(r.id);
      }
    }
    const Outcome out = RunQuery(key_, *table_, ids, setup);
    ASSERT_FALSE(out.consumer.ok());
    EXPECT_THAT(out.consumer.status().message(), HasSubstr("anonymous query consumer: "));
    EXPECT_THAT(out.consumer.status().message(), HasSubstr(c.error));
    EXPECT_FALSE(out.provider.ok());  // the consumer closed the link
  }
}

// A scripted consumer: the provider runs for real; the test writes raw messages.
class ScriptedConsumer {
 public:
  ScriptedConsumer(const ProviderKey& key, const PreparedTable& table,
                   QueryProviderOptions options = {}) {
    auto [c, p] = MemoryLinkPair();
    consumer_ = std::move(c);
    provider_link_ = std::move(p);
    provider_ = std::thread([this, &key, &table, options] {
      result_ = RunQueryProvider(key, table, options, *provider_link_);
    });
  }
  ~ScriptedConsumer() { Finish(); }

  absl::StatusOr<QueryInfo> Finish() {
    if (provider_.joinable()) provider_.join();
    return result_;
  }
  Link& link() { return *consumer_; }

  static std::string Hello(uint32_t batch) {
    std::string m = {0x21, 1, 0};
    for (int s = 24; s >= 0; s -= 8) m.push_back(static_cast<char>(batch >> s));
    return m;
  }
  // A valid request: the ids' buckets and fresh blinded points.
  static std::string Request(const std::vector<std::string>& ids, uint32_t buckets) {
    std::string m(1, 0x22);
    const uint32_t n = ids.size();
    for (int s = 24; s >= 0; s -= 8) m.push_back(static_cast<char>(n >> s));
    for (const std::string& id : ids) {
      const uint32_t b = BucketOf(BucketHash(id), buckets);
      for (int s = 24; s >= 0; s -= 8) m.push_back(static_cast<char>(b >> s));
      Blinding blinding;
      uint8_t p[kPointBytes];
      EXPECT_TRUE(blinding.Blind(id, p));
      m.append(reinterpret_cast<const char*>(p), kPointBytes);
    }
    return m;
  }

 private:
  std::unique_ptr<Link> consumer_;
  std::unique_ptr<Link> provider_link_;
  absl::StatusOr<QueryInfo> result_{absl::UnknownError("not run")};
  std::thread provider_;
};

struct ProviderRefusal {
  const char* name;
  // The consumer's messages after the provider's hello has been read.
  std::function<std::vector<std::string>(uint32_t buckets)> script;
  absl::StatusCode code;
  const char* error;
};

TEST_F(AnonymousQueryTest, ProviderRefusesMalformedConsumerMessages) {
  using H = ScriptedConsumer;
  const std::vector<std::string> two = {"id-1", "id-2"};
  const std::vector<ProviderRefusal> cases = {
      {"hello wrong tag", [](uint32_t) { return std::vector<std::string>{std::string(7, 0x22)}; },
       absl::StatusCode::kDataLoss,
       "expected the consumer's hello (tag 0x21), got a message with tag 0x22"},
      {"hello truncated",
       [](uint32_t) { return std::vector<std::string>{H::Hello(1).substr(0, 6)}; },
       absl::StatusCode::kDataLoss, "the consumer's hello has 6 bytes, expected 7"},
      {"hello wrong role",
       [](uint32_t) {
         std::string h = H::Hello(1);
         h[2] = 1;
         return std::vector<std::string>{h};
       },
       absl::StatusCode::kDataLoss, "announces role 1, expected the consumer"},
      {"batch above the limit", [](uint32_t) { return std::vector<std::string>{H::Hello(11)}; },
       absl::StatusCode::kInvalidArgument,
       "the consumer announces a batch of 11 identifiers, expected 1 to 10"},
      {"empty batch", [](uint32_t) { return std::vector<std::string>{H::Hello(0)}; },
       absl::StatusCode::kInvalidArgument, "a batch of 0 identifiers"},
      {"request before hello",
       [&](uint32_t b) { return std::vector<std::string>{H::Request(two, b)}; },
       absl::StatusCode::kDataLoss, "expected the consumer's hello (tag 0x21), got a message"},
      {"request truncated",
       [&](uint32_t b) {
         std::string r = H::Request(two, b);
         r.pop_back();
         return std::vector<std::string>{H::Hello(2), r};
       },
       absl::StatusCode::kDataLoss, "the consumer's request has 76 bytes, expected 77"},
      {"request longer than announced",
       [&](uint32_t b) {
         return std::vector<std::string>{H::Hello(1), H::Request(two, b)};
       },
       absl::StatusCode::kDataLoss, "the consumer's request has 77 bytes, expected 41"},
      {"request count differs from hello",
       [&](uint32_t b) {
         std::string r = H::Request(two, b);
         r[4] = 3;
         return std::vector<std::string>{H::Hello(2), r};
       },
       absl::StatusCode::kDataLoss, "carries 3 identifiers, its hello announced 2"},
      {"bucket out of range",
       [&](uint32_t b) {
         std::string r = H::Request(two, b);
         r[5 + 36] = 0x7f;  // item 1's bucket, high byte
         return std::vector<std::string>{H::Hello(2), r};
       },
       absl::StatusCode::kDataLoss, "request item 1 names bucket"},
      {"invalid point",
       [&](uint32_t b) {
         std::string r = H::Request(two, b);
         std::memset(r.data() + 5 + 4, 0xff, 32);
         return std::vector<std::string>{H::Hello(2), r};
       },
       absl::StatusCode::kDataLoss,
       "request item 0 is not a valid non-identity ristretto255 point"},
      {"identity point",
       [&](uint32_t b) {
         std::string r = H::Request(two, b);
         std::memset(r.data() + 5 + 36 + 4, 0, 32);
         return std::vector<std::string>{H::Hello(2), r};
       },
       absl::StatusCode::kDataLoss,
       "request item 1 is not a valid non-identity ristretto255 point"},
      {"replayed request instead of done",
       [&](uint32_t b) {
         const std::string r = H::Request(two, b);
         return std::vector<std::string>{H::Hello(2), r, r};
       },
       absl::StatusCode::kDataLoss,
       "expected the consumer's done message (tag 0x25), got a message with tag 0x22"},
      {"done with a payload",
       [&](uint32_t b) {
         return std::vector<std::string>{H::Hello(2), H::Request(two, b), std::string("\x25x")};
       },
       absl::StatusCode::kDataLoss, "the consumer's done message has 2 bytes, expected 1"},
  };
  for (const ProviderRefusal& c : cases) {
    SCOPED_TRACE(c.name);
    QueryProviderOptions options;
    options.max_batch = 10;
    bool gate_called = false;
    options.before_answer = [&](const QueryInfo&) {
      gate_called = true;
      return absl::OkStatus();
    };
    ScriptedConsumer s(key_, *table_, options);
    absl::StatusOr<std::string> hello = s.link().Recv();
    ASSERT_TRUE(hello.ok()) << hello.status();
    ASSERT_EQ(hello->size(), 51u);
    for (std::string& m : c.script(table_->buckets())) {
      if (!s.link().Send(std::move(m)).ok()) break;
    }
    // Drain what the provider sends until it closes the link.
    while (s.link().Recv().ok()) {
    }
    const absl::StatusOr<QueryInfo> result = s.Finish();
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), c.code) << result.status();
    EXPECT_THAT(result.status().message(), HasSubstr("anonymous query provider: "));
    EXPECT_THAT(result.status().message(), HasSubstr(c.error));
    // The gate runs only once a request passed every check.
    const bool request_valid = std::string(c.name) == "replayed request instead of done" ||
                               std::string(c.name) == "done with a payload";
    EXPECT_EQ(gate_called, request_valid);
  }
}

TEST_F(AnonymousQueryTest, ProviderStopsWhenTheConsumerDisappears) {
  ScriptedConsumer s(key_, *table_);
  ASSERT_TRUE(s.link().Recv().ok());
  ASSERT_TRUE(s.link().Send(ScriptedConsumer::Hello(1)).ok());
  s.link().Close();
  const absl::StatusOr<QueryInfo> result = s.Finish();
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("waiting for the consumer's request"));
}

}  // namespace
}  // namespace tds::compute::query
