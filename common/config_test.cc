#include "common/config.h"

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "common/file.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "proto/config.pb.h"

namespace tds {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

absl::Status Yaml(std::string_view text, google::protobuf::Message* out) {
  return ParseConfigText(text, "node.yaml", /*yaml=*/true, out);
}
absl::Status Json(std::string_view text, google::protobuf::Message* out) {
  return ParseConfigText(text, "node.json", /*yaml=*/false, out);
}

// Error text of loading `text` into a NodeConfig, "" if it loaded.
std::string YamlError(std::string_view text) {
  NodeConfig cfg;
  absl::Status s = Yaml(text, &cfg);
  if (s.ok()) return "";
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  return Message(s);
}
std::string JsonError(std::string_view text) {
  NodeConfig cfg;
  absl::Status s = Json(text, &cfg);
  if (s.ok()) return "";
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  return Message(s);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tds-config-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, std::string_view content) const {
    const std::string path = path_ + "/" + name;
    EXPECT_TRUE(WriteFileAtomic(path, content).ok());
    return path;
  }

 private:
  std::string path_;
};

constexpr char kNodeYaml[] = R"(# tdsd configuration
data: /var/lib/tds
genesis: /etc/tds/genesis.yaml
key: /etc/tds/member.key
listen: "0.0.0.0:7443"
insecure_dev: true
log_format: json
log_level: debug
ledger:
  max_block_txs: 1024
  sync: false
  max_entry_bytes: 65536
)";

TEST(Config, YamlFillsNodeConfigIncludingLedgerBlock) {
  NodeConfig cfg;
  ASSERT_TRUE(Yaml(kNodeYaml, &cfg).ok());
  EXPECT_EQ(cfg.data(), "/var/lib/tds");
  EXPECT_EQ(cfg.genesis(), "/etc/tds/genesis.yaml");
  EXPECT_EQ(cfg.key(), "/etc/tds/member.key");
  EXPECT_EQ(cfg.listen(), "0.0.0.0:7443");
  EXPECT_TRUE(cfg.insecure_dev());
  EXPECT_EQ(cfg.log_format(), "json");
  EXPECT_EQ(cfg.log_level(), "debug");
  EXPECT_EQ(cfg.ledger().max_block_txs(), 1024u);
  EXPECT_TRUE(cfg.ledger().has_sync());
  EXPECT_FALSE(cfg.ledger().sync());
  EXPECT_EQ(cfg.ledger().max_entry_bytes(), 65536u);
}

TEST(Config, JsonFillsNodeConfigIncludingLedgerBlock) {
  NodeConfig cfg;
  ASSERT_TRUE(Json(R"({"data": "/d", "insecure_dev": false, "listen": "127.0.0.1:1",
                       "ledger": {"max_block_txs": 7, "sync": true}})",
                   &cfg)
                  .ok());
  EXPECT_EQ(cfg.data(), "/d");
  EXPECT_FALSE(cfg.insecure_dev());
  EXPECT_EQ(cfg.listen(), "127.0.0.1:1");
  EXPECT_EQ(cfg.ledger().max_block_txs(), 7u);
  EXPECT_TRUE(cfg.ledger().has_sync());
  EXPECT_TRUE(cfg.ledger().sync());
}

TEST(Config, OptionalSyncAbsentStaysUnset) {
  NodeConfig cfg;
  ASSERT_TRUE(Yaml("ledger:\n  max_block_txs: 1\n", &cfg).ok());
  EXPECT_FALSE(cfg.ledger().has_sync());
}

TEST(Config, EmptyOrCommentOnlyFileGivesEmptyMessage) {
  for (const char* text : {"", "   \n", "# nothing here\n", "---\n"}) {
    NodeConfig cfg;
    EXPECT_TRUE(Yaml(text, &cfg).ok()) << text;
    EXPECT_EQ(cfg.ByteSizeLong(), 0u) << text;
  }
  NodeConfig cfg;
  EXPECT_TRUE(Json("", &cfg).ok());
  EXPECT_TRUE(Json(" {} ", &cfg).ok());
  EXPECT_EQ(cfg.ByteSizeLong(), 0u);
}

TEST(Config, NullValueLeavesFieldUnset) {
  NodeConfig cfg;
  ASSERT_TRUE(Yaml("data: ~\nledger:\n", &cfg).ok());
  EXPECT_EQ(cfg.data(), "");
  EXPECT_FALSE(cfg.has_ledger());
  ASSERT_TRUE(Json(R"({"ledger": null})", &cfg).ok());
  EXPECT_FALSE(cfg.has_ledger());
}

TEST(Config, FileOverridesPrefilledDefaultsAndKeepsTheRest) {
  NodeConfig cfg;
  cfg.set_log_level("info");
  cfg.mutable_ledger()->set_max_block_txs(4096);
  ASSERT_TRUE(Yaml("ledger:\n  max_entry_bytes: 10\n", &cfg).ok());
  EXPECT_EQ(cfg.log_level(), "info");
  EXPECT_EQ(cfg.ledger().max_block_txs(), 4096u);
  EXPECT_EQ(cfg.ledger().max_entry_bytes(), 10u);
}

TEST(Config, FailedLoadLeavesMessageUntouched) {
  NodeConfig cfg;
  cfg.set_data("/before");
  ASSERT_FALSE(Yaml("data: /after\nledger:\n  max_block_txs: nope\n", &cfg).ok());
  EXPECT_EQ(cfg.data(), "/before");
  EXPECT_FALSE(cfg.has_ledger());
}

TEST(Config, UnknownTopLevelKeyRefusedNamingFileLineAndKey) {
  // The list grows with NodeConfig; its start and order are what matter.
  EXPECT_THAT(YamlError("data: /d\nfoo: 1\n"),
              ::testing::StartsWith("node.yaml:2: foo: unknown key 'foo' (known keys: data, "
                                    "genesis, key, listen, insecure_dev, log_format, log_level, "
                                    "ledger"));
  EXPECT_THAT(JsonError(R"({"foo": 1})"),
              AllOf(HasSubstr("node.json"), HasSubstr("unknown key 'foo'")));
}

TEST(Config, UnknownNestedKeyRefusedWithFullPath) {
  EXPECT_THAT(YamlError("ledger:\n  max_block_txs: 1\n  bogus: true\n"),
              AllOf(HasSubstr("node.yaml:3: "), HasSubstr("ledger.bogus: "),
                    HasSubstr("unknown key 'bogus' in 'ledger'")));
  EXPECT_THAT(JsonError(R"({"ledger": {"bogus": 1}})"),
              AllOf(HasSubstr("node.json: ledger.bogus: unknown key 'bogus' in 'ledger'")));
}

TEST(Config, UnknownKeySuggestsClosestField) {
  EXPECT_THAT(YamlError("ledger:\n  max_block_tx: 1\n"),
              HasSubstr("(did you mean 'max_block_txs'?)"));
  EXPECT_THAT(YamlError("insecure-dev: true\n"), HasSubstr("did you mean 'insecure_dev'?"));
  // The camelCase spelling protobuf's JSON mapping uses is pointed at the proto name.
  EXPECT_THAT(JsonError(R"({"ledger": {"maxBlockTxs": 1}})"),
              HasSubstr("did you mean 'max_block_txs'?"));
}

TEST(Config, DuplicateKeyRefused) {
  EXPECT_THAT(YamlError("data: /a\ndata: /b\n"), HasSubstr("data: duplicate key 'data'"));
  EXPECT_THAT(JsonError(R"({"ledger": {"sync": true, "sync": false}})"),
              HasSubstr("ledger.sync: duplicate key 'sync'"));
}

TEST(Config, WrongTypeRefusedNamingExpectationAndValue) {
  EXPECT_EQ(YamlError("ledger:\n  max_block_txs: abc\n"),
            "node.yaml:2: ledger.max_block_txs: expected an unsigned integer, got 'abc'");
  EXPECT_THAT(YamlError("ledger:\n  max_block_txs: 1.5\n"),
              HasSubstr("expected an unsigned integer, got '1.5'"));
  EXPECT_THAT(YamlError("insecure_dev: yes\n"),
              HasSubstr("insecure_dev: expected a boolean (true or false), got 'yes'"));
  EXPECT_THAT(
      JsonError(R"({"ledger": {"max_block_txs": "12"}})"),
      HasSubstr("ledger.max_block_txs: expected an unsigned integer, got the string \"12\""));
  EXPECT_THAT(JsonError(R"({"data": 5})"), HasSubstr("data: expected a string, got 5"));
  EXPECT_THAT(JsonError(R"({"insecure_dev": "true"})"),
              HasSubstr("expected a boolean (true or false), got the string \"true\""));
  EXPECT_THAT(JsonError(R"({"ledger": {"max_block_txs": 1e3}})"),
              HasSubstr("expected an unsigned integer, got 1e3"));
}

TEST(Config, QuotedNumberRefusedForIntegerField) {
  EXPECT_THAT(YamlError("ledger:\n  max_block_txs: '12'\n"),
              HasSubstr("expected an unsigned integer, got the string \"12\""));
}

TEST(Config, PlainYamlScalarsAcceptedForStrings) {
  NodeConfig cfg;
  ASSERT_TRUE(Yaml("data: 123\nkey: true\nlisten: '[::1]:7443'\n", &cfg).ok());
  EXPECT_EQ(cfg.data(), "123");
  EXPECT_EQ(cfg.key(), "true");
  EXPECT_EQ(cfg.listen(), "[::1]:7443");
}

TEST(Config, NegativeValueForUnsignedRefused) {
  EXPECT_THAT(
      YamlError("ledger:\n  max_block_txs: -5\n"),
      HasSubstr("ledger.max_block_txs: expected an unsigned integer, got negative value -5"));
  EXPECT_THAT(JsonError(R"({"ledger": {"max_block_txs": -5}})"), HasSubstr("negative value -5"));
}

TEST(Config, OutOfRangeIntegerRefused) {
  EXPECT_THAT(
      YamlError("ledger:\n  max_block_txs: 4294967296\n"),
      HasSubstr("ledger.max_block_txs: 4294967296 is out of range for uint32 (0..4294967295)"));
  EXPECT_THAT(JsonError(R"({"ledger": {"max_block_txs": 99999999999999999999999}})"),
              HasSubstr("99999999999999999999999 is out of range for uint32"));
  NodeConfig cfg;
  EXPECT_TRUE(Yaml("ledger:\n  max_block_txs: 4294967295\n", &cfg).ok());
  EXPECT_EQ(cfg.ledger().max_block_txs(), 4294967295u);
}

TEST(Config, SequenceOrMappingWhereScalarExpectedRefused) {
  EXPECT_THAT(YamlError("data: [a, b]\n"), HasSubstr("data: expected a string, got a sequence"));
  EXPECT_THAT(YamlError("data:\n  x: 1\n"), HasSubstr("data: expected a string, got a mapping"));
  EXPECT_THAT(JsonError(R"({"ledger": {"sync": [true]}})"),
              HasSubstr("ledger.sync: expected a boolean (true or false), got a sequence"));
}

TEST(Config, ScalarWhereMappingExpectedRefused) {
  EXPECT_THAT(YamlError("ledger: 5\n"),
              HasSubstr("ledger: expected a mapping (fields of tds.LedgerConfig), got '5'"));
  EXPECT_THAT(YamlError("- a\n- b\n"),
              HasSubstr("expected a mapping (fields of tds.NodeConfig) at the top level"));
  EXPECT_THAT(JsonError("[1]"), HasSubstr("at the top level, got a sequence"));
}

TEST(Config, MalformedYamlRefusedWithLine) {
  EXPECT_THAT(YamlError("data: /d\nledger:\n  max_block_txs: [1\n"),
              AllOf(HasSubstr("node.yaml:"), HasSubstr("malformed YAML")));
  EXPECT_THAT(YamlError("data: /d\n  bad indent: x\n"),
              AllOf(HasSubstr("node.yaml:2: malformed YAML"), HasSubstr("column")));
  EXPECT_THAT(YamlError("a: 1\n---\nb: 2\n"), HasSubstr("2 documents"));
  EXPECT_EQ(YamlError("data: /d\n? [a]\n: 1\n"),
            "node.yaml:2: a mapping key must be a plain string");
}

TEST(Config, MalformedJsonRefusedWithLine) {
  EXPECT_THAT(JsonError("{\n  \"data\": \"/d\",\n}\n"),
              AllOf(HasSubstr("node.json: malformed JSON: parse error at line 3"),
                    Not(HasSubstr("[json.exception"))));
  EXPECT_THAT(JsonError(R"({"data": "/d"} trailing)"), HasSubstr("malformed JSON"));
}

TEST(Config, DeepNestingRefused) {
  EXPECT_THAT(JsonError(std::string(100, '[') + std::string(100, ']')),
              HasSubstr("nested deeper than"));
  EXPECT_THAT(YamlError("data: " + std::string(100, '[') + std::string(100, ']')),
              HasSubstr("nested deeper than"));
}

TEST(Config, LoadFileChoosesFormatByExtensionOrContent) {
  TempDir dir;
  NodeConfig cfg;
  ASSERT_TRUE(LoadConfigFile(dir.Write("a.yaml", "data: /a\n"), &cfg).ok());
  EXPECT_EQ(cfg.data(), "/a");
  ASSERT_TRUE(LoadConfigFile(dir.Write("b.YML", "data: /b\n"), &cfg).ok());
  EXPECT_EQ(cfg.data(), "/b");
  ASSERT_TRUE(LoadConfigFile(dir.Write("c.json", R"({"data": "/c"})"), &cfg).ok());
  EXPECT_EQ(cfg.data(), "/c");
  ASSERT_TRUE(LoadConfigFile(dir.Write("d.conf", "  \n {\"data\": \"/d\"}"), &cfg).ok());
  EXPECT_EQ(cfg.data(), "/d");
  ASSERT_TRUE(LoadConfigFile(dir.Write("e.conf", "data: /e\n"), &cfg).ok());
  EXPECT_EQ(cfg.data(), "/e");
  // A .json file is parsed as JSON even where YAML would accept it.
  EXPECT_THAT(Message(LoadConfigFile(dir.Write("f.json", "data: /f\n"), &cfg)),
              HasSubstr("malformed JSON"));
}

TEST(Config, LoadFileErrorsNameThePath) {
  TempDir dir;
  NodeConfig cfg;
  const std::string path = dir.Write("node.yaml", "ledger:\n  bogus: 1\n");
  EXPECT_THAT(Message(LoadConfigFile(path, &cfg)), HasSubstr(path + ":2: ledger.bogus"));
  const std::string missing = path + ".absent";
  absl::Status s = LoadConfigFile(missing, &cfg);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(s), HasSubstr(missing));
}

// A schema with every supported field kind, built at run time so the test needs no .proto.
constexpr char kAllKindsSchema[] = R"pb(
  name: "all_kinds_test.proto"
  package: "tdstest"
  syntax: "proto3"
  enum_type {
    name: "Color"
    value { name: "COLOR_UNSPECIFIED" number: 0 }
    value { name: "RED" number: 1 }
    value { name: "GREEN" number: 2 }
  }
  message_type {
    name: "Child"
    field { name: "name" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
  }
  message_type {
    name: "All"
    field { name: "i32" number: 1 type: TYPE_INT32 label: LABEL_OPTIONAL }
    field { name: "i64" number: 2 type: TYPE_INT64 label: LABEL_OPTIONAL }
    field { name: "u32" number: 3 type: TYPE_UINT32 label: LABEL_OPTIONAL }
    field { name: "u64" number: 4 type: TYPE_UINT64 label: LABEL_OPTIONAL }
    field { name: "d" number: 5 type: TYPE_DOUBLE label: LABEL_OPTIONAL }
    field { name: "f" number: 6 type: TYPE_FLOAT label: LABEL_OPTIONAL }
    field { name: "b" number: 7 type: TYPE_BOOL label: LABEL_OPTIONAL }
    field { name: "s" number: 8 type: TYPE_STRING label: LABEL_OPTIONAL }
    field { name: "raw" number: 9 type: TYPE_BYTES label: LABEL_OPTIONAL }
    field {
      name: "color"
      number: 10
      type: TYPE_ENUM
      type_name: ".tdstest.Color"
      label: LABEL_OPTIONAL
    }
    field { name: "tags" number: 11 type: TYPE_STRING label: LABEL_REPEATED }
    field { name: "nums" number: 12 type: TYPE_INT32 label: LABEL_REPEATED }
    field {
      name: "children"
      number: 13
      type: TYPE_MESSAGE
      type_name: ".tdstest.Child"
      label: LABEL_REPEATED
    }
    field {
      name: "labels"
      number: 14
      type: TYPE_MESSAGE
      type_name: ".tdstest.All.LabelsEntry"
      label: LABEL_REPEATED
    }
    field { name: "by_name" number: 15 type: TYPE_STRING label: LABEL_OPTIONAL oneof_index: 0 }
    field { name: "by_id" number: 16 type: TYPE_INT32 label: LABEL_OPTIONAL oneof_index: 0 }
    nested_type {
      name: "LabelsEntry"
      options { map_entry: true }
      field { name: "key" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
      field { name: "value" number: 2 type: TYPE_INT32 label: LABEL_OPTIONAL }
    }
    oneof_decl { name: "target" }
  }
)pb";

class AllKinds : public ::testing::Test {
 protected:
  void SetUp() override {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kAllKindsSchema, &file));
    ASSERT_NE(pool_.BuildFile(file), nullptr);
    const google::protobuf::Descriptor* d = pool_.FindMessageTypeByName("tdstest.All");
    ASSERT_NE(d, nullptr);
    msg_.reset(factory_.GetPrototype(d)->New());
  }
  const google::protobuf::FieldDescriptor* F(const std::string& name) const {
    return msg_->GetDescriptor()->FindFieldByName(name);
  }
  const google::protobuf::Reflection* R() const { return msg_->GetReflection(); }
  std::string Error(std::string_view yaml) {
    absl::Status s = Yaml(yaml, msg_.get());
    return s.ok() ? "" : Message(s);
  }

  google::protobuf::DescriptorPool pool_;
  google::protobuf::DynamicMessageFactory factory_{&pool_};
  std::unique_ptr<google::protobuf::Message> msg_;
};

TEST_F(AllKinds, EveryScalarKindParses) {
  ASSERT_EQ(Error(R"(
i32: -2147483648
i64: -9223372036854775808
u32: 4294967295
u64: 18446744073709551615
d: -1.5e10
f: 0.25
b: FALSE
s: "hé\tllo"
raw: aGVsbG8=
color: GREEN
)"),
            "");
  EXPECT_EQ(R()->GetInt32(*msg_, F("i32")), INT32_MIN);
  EXPECT_EQ(R()->GetInt64(*msg_, F("i64")), INT64_MIN);
  EXPECT_EQ(R()->GetUInt32(*msg_, F("u32")), UINT32_MAX);
  EXPECT_EQ(R()->GetUInt64(*msg_, F("u64")), UINT64_MAX);
  EXPECT_EQ(R()->GetDouble(*msg_, F("d")), -1.5e10);
  EXPECT_EQ(R()->GetFloat(*msg_, F("f")), 0.25f);
  EXPECT_FALSE(R()->GetBool(*msg_, F("b")));
  EXPECT_EQ(R()->GetString(*msg_, F("s")), "h\xc3\xa9\tllo");
  EXPECT_EQ(R()->GetString(*msg_, F("raw")), "hello");
  EXPECT_EQ(R()->GetEnum(*msg_, F("color"))->name(), "GREEN");
}

TEST_F(AllKinds, IntegerRangesAreCheckedPerType) {
  EXPECT_THAT(Error("i32: 2147483648"), HasSubstr("out of range for int32"));
  EXPECT_THAT(Error("i32: -2147483649"), HasSubstr("out of range for int32"));
  EXPECT_THAT(Error("i64: 9223372036854775808"), HasSubstr("out of range for int64"));
  EXPECT_THAT(Error("u64: 18446744073709551616"), HasSubstr("out of range for uint64"));
  EXPECT_THAT(Error("u64: -1"), HasSubstr("negative value -1"));
  EXPECT_THAT(Error("i32: 0x10"), HasSubstr("expected an integer, got '0x10'"));
  EXPECT_EQ(Error("i32: +7"), "");
  EXPECT_EQ(R()->GetInt32(*msg_, F("i32")), 7);
}

TEST_F(AllKinds, FloatsMustBeFiniteNumbers) {
  EXPECT_THAT(Error("d: .inf"), HasSubstr("expected a number, got '.inf'"));
  EXPECT_THAT(Error("d: nan"), HasSubstr("expected a number, got 'nan'"));
  EXPECT_THAT(Error("d: 1e999"), HasSubstr("out of range for double"));
  EXPECT_THAT(Error("f: 1e39"), HasSubstr("out of range for float"));
  EXPECT_EQ(Error("d: 3"), "");
  EXPECT_EQ(R()->GetDouble(*msg_, F("d")), 3.0);
}

TEST_F(AllKinds, EnumsByNameOnly) {
  EXPECT_THAT(Error("color: BLUE"),
              HasSubstr("color: expected one of COLOR_UNSPECIFIED, RED, GREEN, got 'BLUE'"));
  EXPECT_THAT(Json(R"({"color": 1})", msg_.get()).message(), HasSubstr("expected one of"));
  EXPECT_TRUE(Json(R"({"color": "RED"})", msg_.get()).ok());
  EXPECT_EQ(R()->GetEnum(*msg_, F("color"))->name(), "RED");
}

TEST_F(AllKinds, BytesAreBase64) {
  EXPECT_THAT(Error("raw: not base64!"), HasSubstr("raw: expected a base64 string"));
}

TEST_F(AllKinds, RepeatedFieldsFromSequencesReplacePreviousContents) {
  ASSERT_EQ(Error("tags: [a, b]\nnums: [1, -2]\nchildren:\n  - name: x\n  - {}\n"), "");
  ASSERT_EQ(Error("tags: [c]\n"), "");
  ASSERT_EQ(R()->FieldSize(*msg_, F("tags")), 1);
  EXPECT_EQ(R()->GetRepeatedString(*msg_, F("tags"), 0), "c");
  ASSERT_EQ(R()->FieldSize(*msg_, F("nums")), 2);
  EXPECT_EQ(R()->GetRepeatedInt32(*msg_, F("nums"), 1), -2);
  ASSERT_EQ(R()->FieldSize(*msg_, F("children")), 2);
}

TEST_F(AllKinds, RepeatedElementErrorsNameTheIndex) {
  EXPECT_THAT(Error("nums: [1, x]"), HasSubstr("nums[1]: expected an integer, got 'x'"));
  EXPECT_THAT(Error("nums: [1, ~]"), HasSubstr("nums[1]: expected an integer, got null"));
  EXPECT_THAT(Error("children:\n  - name: a\n  - nam: b\n"),
              HasSubstr("node.yaml:3: children[1].nam: unknown key 'nam' in 'children[1]'"));
  EXPECT_THAT(Error("tags: a"), HasSubstr("tags: expected a sequence, got 'a'"));
}

TEST_F(AllKinds, MapFieldsFromMappings) {
  ASSERT_EQ(Error("labels:\n  zone: 3\n  rack: 4\n"), "");
  EXPECT_EQ(R()->FieldSize(*msg_, F("labels")), 2);
  EXPECT_THAT(Error("labels:\n  zone: big\n"), HasSubstr("labels.zone: expected an integer"));
  EXPECT_THAT(Error("labels: [1]"), HasSubstr("labels: expected a mapping, got a sequence"));
  EXPECT_THAT(Error("labels:\n  a: 1\n  a: 2\n"), HasSubstr("duplicate key 'a'"));
}

TEST_F(AllKinds, OneofAlternativesAreExclusive) {
  EXPECT_EQ(Error("by_id: 3"), "");
  EXPECT_THAT(
      Error("by_name: x\nby_id: 3\n"),
      HasSubstr("'by_id' and 'by_name' are both set but are alternatives (oneof 'target')"));
}

TEST_F(AllKinds, InvalidUtf8StringRefused) {
  // A YAML escape names a code point, which is stored UTF-8 encoded.
  ASSERT_EQ(Error("s: \"\\xff\""), "");
  EXPECT_EQ(R()->GetString(*msg_, F("s")), "\xc3\xbf");
  // A raw 0xff byte in the file is not UTF-8.
  EXPECT_THAT(Error(std::string("s: a\xff\n")), HasSubstr("not valid UTF-8"));
}

}  // namespace
}  // namespace tds
