// Strict YAML/JSON → protobuf loading by reflection.
//
// Both formats are first turned into one small tree (Value) that keeps what strictness needs:
// whether a scalar was written as a string (quoted YAML, JSON string) or bare (plain YAML,
// JSON number/bool), and the YAML line. The tree is then walked along the message Descriptor.
//
// Semantics:
//  - Keys are proto field names (snake_case). Unknown and duplicate keys are errors.
//  - A null value (YAML `key:` / `~` / `null`, JSON null) leaves the field as it was.
//  - Fields present in the file overwrite *out; repeated and map fields present in the file
//    replace the previous contents. Absent fields keep their values, so a caller may pre-fill
//    defaults. On error *out is left unchanged.
//  - Strings: any YAML scalar; JSON strings only. Bytes: standard base64.
//    Integers: decimal, range-checked for the field's type; a quoted/string value is refused.
//    Floats: finite decimal numbers. Bools: true/false (YAML also True/TRUE/False/FALSE).
//    Enums: value names. Map fields: mappings from key text to values.

#include "common/config.h"

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/bytes.h"
#include "common/file.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"
#include "nlohmann/json.hpp"
#include "yaml-cpp/yaml.h"

namespace tds {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Deeper documents are refused: no config needs them, and it bounds recursion.
constexpr int kMaxDepth = 64;

struct Field;

struct Value {
  enum class Kind { kNull, kScalar, kSequence, kMapping };
  // How a scalar was written; decides which field types accept it.
  enum class Style {
    kPlain,       // bare YAML scalar: typed by the field it lands in
    kString,      // quoted/block YAML scalar or JSON string
    kJsonNumber,  // JSON number; text is the number as written
    kJsonBool,    // JSON true/false
  };
  Kind kind = Kind::kNull;
  Style style = Style::kPlain;
  std::string text;           // scalars only
  std::vector<Value> items;   // sequences
  std::vector<Field> fields;  // mappings, in file order
  int line = 0;               // 1-based; 0 when unknown (JSON)
};

struct Field {
  std::string key;
  int line = 0;
  Value value;
};

// ---------------------------------------------------------------------------------------------
// Error text helpers

std::string Quoted(std::string_view s, char quote) {
  constexpr size_t kMaxShown = 60;
  std::string shown = absl::CHexEscape(std::string(s.substr(0, kMaxShown)));
  if (s.size() > kMaxShown) shown += "...";
  return absl::StrCat(std::string(1, quote), shown, std::string(1, quote));
}

// What the user wrote, for "got ..." in errors.
std::string Describe(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kSequence:
      return "a sequence";
    case Value::Kind::kMapping:
      return "a mapping";
    case Value::Kind::kScalar:
      break;
  }
  switch (v.style) {
    case Value::Style::kString:
      return absl::StrCat("the string ", Quoted(v.text, '"'));
    case Value::Style::kJsonNumber:
    case Value::Style::kJsonBool:
      return v.text;
    case Value::Style::kPlain:
      break;
  }
  return Quoted(v.text, '\'');
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// "did you mean 'x'?" for a near miss (or the camelCase JSON name), else the list of keys.
std::string UnknownKeyHint(const Descriptor* d, std::string_view key) {
  const FieldDescriptor* best = nullptr;
  size_t best_distance = std::numeric_limits<size_t>::max();
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    names.push_back(f->name());
    if (f->json_name() == key ||
        absl::AsciiStrToLower(f->name()) == absl::AsciiStrToLower(std::string(key))) {
      return absl::StrCat("did you mean '", f->name(), "'?");
    }
    const size_t dist = EditDistance(key, f->name());
    if (dist < best_distance) {
      best_distance = dist;
      best = f;
    }
  }
  if (best != nullptr && best_distance <= std::max<size_t>(1, key.size() / 3)) {
    return absl::StrCat("did you mean '", best->name(), "'?");
  }
  if (names.empty()) return "this message has no fields";
  return absl::StrCat("known keys: ", absl::StrJoin(names, ", "));
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// YAML → Value

struct YamlError {
  int line = 0;
  std::string problem;  // empty: no error
};

YamlError FromYaml(const YAML::Node& node, int depth, Value* out) {
  const YAML::Mark mark = node.Mark();
  out->line = mark.line >= 0 ? mark.line + 1 : 0;
  if (depth > kMaxDepth) {
    return {out->line, absl::StrCat("nested deeper than ", kMaxDepth, " levels")};
  }
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out->kind = Value::Kind::kNull;
      return {};
    case YAML::NodeType::Scalar: {
      out->kind = Value::Kind::kScalar;
      out->text = node.Scalar();
      // yaml-cpp tags quoted and block scalars "!", plain ones "?". An explicit !!str also
      // means "this is a string".
      const std::string& tag = node.Tag();
      out->style = (tag == "!" || tag == "tag:yaml.org,2002:str") ? Value::Style::kString
                                                                  : Value::Style::kPlain;
      return {};
    }
    case YAML::NodeType::Sequence:
      out->kind = Value::Kind::kSequence;
      for (const auto& item : node) {  // binds the proxy temporary: lifetime extended
        out->items.emplace_back();
        if (YamlError err = FromYaml(item, depth + 1, &out->items.back()); !err.problem.empty()) {
          return err;
        }
      }
      return {};
    case YAML::NodeType::Map:
      out->kind = Value::Kind::kMapping;
      for (const auto& kv : node) {
        // Copies: yaml-cpp's iterator proxies are temporaries; Nodes are cheap handles.
        const YAML::Node key = kv.first;
        const YAML::Node value = kv.second;
        Field f;
        f.line = key.Mark().line >= 0 ? key.Mark().line + 1 : out->line;
        if (!key.IsScalar()) return {f.line, "a mapping key must be a plain string"};
        f.key = key.Scalar();
        if (YamlError err = FromYaml(value, depth + 1, &f.value); !err.problem.empty()) {
          return err;
        }
        out->fields.push_back(std::move(f));
      }
      return {};
  }
  return {out->line, "unexpected YAML node type"};
}

absl::Status ParseYaml(std::string_view text, const std::string& name, Value* out) {
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
    if (docs.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": malformed YAML: ", docs.size(),
                                                     " documents; a config file holds one"));
    }
    if (docs.empty()) return absl::OkStatus();  // empty or comments only
    if (YamlError err = FromYaml(docs[0], 0, out); !err.problem.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, err.line > 0 ? absl::StrCat(":", err.line) : "", ": ", err.problem));
    }
    return absl::OkStatus();
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": malformed YAML: ", e.msg));
    }
    return absl::InvalidArgumentError(absl::StrCat(name, ":", e.mark.line + 1, ": malformed YAML: ",
                                                   e.msg, " (column ", e.mark.column + 1, ")"));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": malformed YAML: ", e.what()));
  }
}

// ---------------------------------------------------------------------------------------------
// JSON → Value, through nlohmann's SAX interface: it reports numbers as written (so huge
// integers are range-checked, not rounded) and lets duplicates be caught by the walker.

class JsonTreeBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return Add(Value{}); }
  bool boolean(bool val) override {
    return AddScalar(val ? "true" : "false", Value::Style::kJsonBool);
  }
  bool number_integer(number_integer_t val) override {
    return AddScalar(std::to_string(val), Value::Style::kJsonNumber);
  }
  bool number_unsigned(number_unsigned_t val) override {
    return AddScalar(std::to_string(val), Value::Style::kJsonNumber);
  }
  bool number_float(number_float_t, const string_t& s) override {
    return AddScalar(s, Value::Style::kJsonNumber);
  }
  bool string(string_t& val) override { return AddScalar(std::move(val), Value::Style::kString); }
  bool binary(binary_t&) override {
    error_ = "binary values are not JSON";
    return false;
  }
  bool start_object(std::size_t) override { return Open(Value::Kind::kMapping); }
  bool key(string_t& val) override {
    keys_.back() = std::move(val);
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(Value::Kind::kSequence); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    // what() reads "[json.exception.parse_error.101] parse error at line 2, column 5: ...".
    std::string_view what = ex.what();
    if (const size_t close = what.find("] ");
        !what.empty() && what[0] == '[' && close != std::string_view::npos) {
      what.remove_prefix(close + 2);
    }
    error_ = std::string(what);
    return false;
  }

  const std::string& error() const { return error_; }
  Value TakeRoot() { return std::move(root_); }

 private:
  bool AddScalar(std::string text, Value::Style style) {
    Value v;
    v.kind = Value::Kind::kScalar;
    v.style = style;
    v.text = std::move(text);
    return Add(std::move(v));
  }
  bool Add(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
    } else if (stack_.back().kind == Value::Kind::kSequence) {
      stack_.back().items.push_back(std::move(v));
    } else {
      stack_.back().fields.push_back(Field{std::move(keys_.back()), 0, std::move(v)});
    }
    return true;
  }
  bool Open(Value::Kind kind) {
    if (stack_.size() >= kMaxDepth) {
      error_ = absl::StrCat("nested deeper than ", kMaxDepth, " levels");
      return false;
    }
    stack_.emplace_back();
    stack_.back().kind = kind;
    keys_.emplace_back();
    return true;
  }
  bool Close() {
    Value v = std::move(stack_.back());
    stack_.pop_back();
    keys_.pop_back();
    return Add(std::move(v));
  }

  Value root_;
  std::vector<Value> stack_;       // containers being built, innermost last
  std::vector<std::string> keys_;  // pending key per open container
  std::string error_;
};

absl::Status ParseJson(std::string_view text, const std::string& name, Value* out) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return absl::OkStatus();
  JsonTreeBuilder builder;
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text, &builder, nlohmann::json::input_format_t::json,
                                   /*strict=*/true);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": malformed JSON: ", e.what()));
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": malformed JSON: ", builder.error().empty() ? "parse failed" : builder.error()));
  }
  *out = builder.TakeRoot();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Value → Message

class Walker {
 public:
  explicit Walker(const std::string& name) : name_(name) {}

  absl::Status FillMessage(const Value& v, const std::string& path, Message* msg) {
    const Descriptor* d = msg->GetDescriptor();
    if (v.kind == Value::Kind::kNull) return absl::OkStatus();
    if (v.kind != Value::Kind::kMapping) {
      return Error(v.line, path,
                   absl::StrCat("expected a mapping (fields of ", d->full_name(), ")",
                                path.empty() ? " at the top level" : "", ", got ", Describe(v)));
    }
    const Reflection* r = msg->GetReflection();
    std::set<std::string> seen;
    std::vector<std::pair<const google::protobuf::OneofDescriptor*, std::string>> oneofs_set;
    for (const Field& f : v.fields) {
      const std::string child = path.empty() ? f.key : absl::StrCat(path, ".", f.key);
      const int line = f.line != 0 ? f.line : f.value.line;
      if (!seen.insert(f.key).second) {
        return Error(line, child, absl::StrCat("duplicate key '", f.key, "'"));
      }
      const FieldDescriptor* fd = d->FindFieldByName(f.key);
      if (fd == nullptr) {
        return Error(line, child,
                     absl::StrCat("unknown key ", Quoted(f.key, '\''),
                                  path.empty() ? "" : absl::StrCat(" in '", path, "'"), " (",
                                  UnknownKeyHint(d, f.key), ")"));
      }
      if (const auto* oneof = fd->real_containing_oneof(); oneof != nullptr) {
        for (const auto& [o, other] : oneofs_set) {
          if (o == oneof) {
            return Error(line, child,
                         absl::StrCat("'", f.key, "' and '", other, "' are both set but are",
                                      " alternatives (oneof '", oneof->name(), "')"));
          }
        }
        oneofs_set.emplace_back(oneof, f.key);
      }
      absl::Status s;
      if (fd->is_map()) {
        s = FillMap(f.value, child, fd, msg);
      } else if (fd->is_repeated()) {
        s = FillRepeated(f.value, child, fd, msg);
      } else if (f.value.kind == Value::Kind::kNull) {
        continue;
      } else if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        s = FillMessage(f.value, child, r->MutableMessage(msg, fd));
      } else {
        s = SetScalar(f.value, child, fd, msg, /*add=*/false);
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(int line, const std::string& path, std::string_view problem) const {
    return absl::InvalidArgumentError(absl::StrCat(name_, line > 0 ? absl::StrCat(":", line) : "",
                                                   ": ", path.empty() ? "" : path + ": ",
                                                   std::string(problem)));
  }

  absl::Status FillRepeated(const Value& v, const std::string& path, const FieldDescriptor* fd,
                            Message* msg) {
    if (v.kind == Value::Kind::kNull) return absl::OkStatus();
    if (v.kind != Value::Kind::kSequence) {
      return Error(v.line, path, absl::StrCat("expected a sequence, got ", Describe(v)));
    }
    const Reflection* r = msg->GetReflection();
    r->ClearField(msg, fd);
    for (size_t i = 0; i < v.items.size(); ++i) {
      const Value& item = v.items[i];
      const std::string child = absl::StrCat(path, "[", i, "]");
      const int line = item.line != 0 ? item.line : v.line;
      if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (absl::Status s = FillMessage(item, child, r->AddMessage(msg, fd)); !s.ok()) return s;
      } else if (item.kind == Value::Kind::kNull) {
        return Error(line, child, absl::StrCat("expected ", Expected(fd), ", got null"));
      } else if (absl::Status s = SetScalar(item, child, fd, msg, /*add=*/true); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  absl::Status FillMap(const Value& v, const std::string& path, const FieldDescriptor* fd,
                       Message* msg) {
    if (v.kind == Value::Kind::kNull) return absl::OkStatus();
    if (v.kind != Value::Kind::kMapping) {
      return Error(v.line, path, absl::StrCat("expected a mapping, got ", Describe(v)));
    }
    const Reflection* r = msg->GetReflection();
    r->ClearField(msg, fd);
    const FieldDescriptor* key_fd = fd->message_type()->map_key();
    const FieldDescriptor* value_fd = fd->message_type()->map_value();
    std::set<std::string> seen;
    for (const Field& f : v.fields) {
      const std::string child = absl::StrCat(path, ".", f.key);
      const int line = f.line != 0 ? f.line : f.value.line;
      if (!seen.insert(f.key).second) {
        return Error(line, child, absl::StrCat("duplicate key '", f.key, "'"));
      }
      Message* entry = r->AddMessage(msg, fd);
      Value key;
      key.kind = Value::Kind::kScalar;
      key.text = f.key;
      key.line = line;
      if (std::string problem = AssignScalar(key, key_fd, entry, /*add=*/false); !problem.empty()) {
        return Error(line, child, absl::StrCat("invalid map key: ", problem));
      }
      if (value_fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        absl::Status s =
            FillMessage(f.value, child, entry->GetReflection()->MutableMessage(entry, value_fd));
        if (!s.ok()) return s;
      } else if (f.value.kind == Value::Kind::kNull) {
        return Error(line, child, absl::StrCat("expected ", Expected(value_fd), ", got null"));
      } else if (absl::Status s = SetScalar(f.value, child, value_fd, entry, false); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  static std::string Expected(const FieldDescriptor* fd) {
    switch (fd->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
        return "an integer";
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64:
        return "an unsigned integer";
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        return "a number";
      case FieldDescriptor::CPPTYPE_BOOL:
        return "a boolean (true or false)";
      case FieldDescriptor::CPPTYPE_ENUM: {
        std::vector<std::string> names;
        for (int i = 0; i < fd->enum_type()->value_count(); ++i) {
          names.push_back(fd->enum_type()->value(i)->name());
        }
        return absl::StrCat("one of ", absl::StrJoin(names, ", "));
      }
      case FieldDescriptor::CPPTYPE_STRING:
        return fd->type() == FieldDescriptor::TYPE_BYTES ? "a base64 string" : "a string";
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return "a mapping";
    }
    return "a value";
  }

  // Parses a decimal integer (optional sign, digits only). Sets *out and returns "" or returns
  // the problem. Unsigned fields refuse a minus sign outright.
  template <typename T>
  static std::string ParseInteger(const Value& v, const FieldDescriptor* fd, T* out) {
    const std::string expected = Expected(fd);
    if (v.kind != Value::Kind::kScalar ||
        (v.style != Value::Style::kPlain && v.style != Value::Style::kJsonNumber)) {
      return absl::StrCat("expected ", expected, ", got ", Describe(v));
    }
    std::string_view t = v.text;
    const bool negative = !t.empty() && t[0] == '-';
    if (!t.empty() && (t[0] == '+' || t[0] == '-')) t.remove_prefix(1);
    if (t.empty() ||
        !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return absl::StrCat("expected ", expected, ", got ", Describe(v));
    }
    const std::string type = fd->cpp_type_name();
    if constexpr (std::is_unsigned_v<T>) {
      if (negative) return absl::StrCat("expected ", expected, ", got negative value ", v.text);
    }
    // Parse the magnitude as unsigned 64-bit, then range-check for T.
    uint64_t mag = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), mag);
    const std::string range =
        absl::StrCat("out of range for ", type, " (", std::numeric_limits<T>::min(), "..",
                     std::numeric_limits<T>::max(), ")");
    if (ec == std::errc::result_out_of_range) return absl::StrCat(v.text, " is ", range);
    if (ec != std::errc() || end != t.data() + t.size()) {
      return absl::StrCat("expected ", expected, ", got ", Describe(v));
    }
    if constexpr (std::is_unsigned_v<T>) {
      if (mag > std::numeric_limits<T>::max()) return absl::StrCat(v.text, " is ", range);
      *out = static_cast<T>(mag);
    } else {
      // |min| = max + 1 in two's complement.
      const uint64_t limit =
          static_cast<uint64_t>(std::numeric_limits<T>::max()) + (negative ? 1 : 0);
      if (mag > limit) return absl::StrCat(v.text, " is ", range);
      // Well defined in C++20: unsigned → signed conversion is modular.
      *out = static_cast<T>(static_cast<int64_t>(negative ? 0 - mag : mag));
    }
    return "";
  }

  static std::string ParseDouble(const Value& v, const FieldDescriptor* fd, double* out) {
    if (v.kind != Value::Kind::kScalar ||
        (v.style != Value::Style::kPlain && v.style != Value::Style::kJsonNumber)) {
      return absl::StrCat("expected a number, got ", Describe(v));
    }
    std::string_view t = v.text;
    if (!t.empty() && t[0] == '+') t.remove_prefix(1);
    // from_chars would take "inf"/"nan"; only digits, sign, '.', and exponent are numbers here.
    const bool chars_ok = !t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
      return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E';
    });
    if (!chars_ok) return absl::StrCat("expected a number, got ", Describe(v));
    double d = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
    if (ec == std::errc::result_out_of_range || (ec == std::errc() && !std::isfinite(d))) {
      return absl::StrCat(v.text, " is out of range for ", fd->cpp_type_name());
    }
    if (ec != std::errc() || end != t.data() + t.size()) {
      return absl::StrCat("expected a number, got ", Describe(v));
    }
    if (fd->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT && std::fabs(d) > FLT_MAX) {
      return absl::StrCat(v.text, " is out of range for float");
    }
    *out = d;
    return "";
  }

  static std::string ParseBool(const Value& v, bool* out) {
    if (v.kind == Value::Kind::kScalar &&
        (v.style == Value::Style::kPlain || v.style == Value::Style::kJsonBool)) {
      const std::string& t = v.text;
      if (t == "true" || t == "True" || t == "TRUE") {
        *out = true;
        return "";
      }
      if (t == "false" || t == "False" || t == "FALSE") {
        *out = false;
        return "";
      }
    }
    return absl::StrCat("expected a boolean (true or false), got ", Describe(v));
  }

  // Sets (add=false) or appends (add=true) a scalar field from a scalar value.
  absl::Status SetScalar(const Value& v, const std::string& path, const FieldDescriptor* fd,
                         Message* msg, bool add) {
    const std::string problem = AssignScalar(v, fd, msg, add);
    if (problem.empty()) return absl::OkStatus();
    return Error(v.line, path, problem);
  }

  // SetScalar's work; returns the problem ("" on success) without file/path context.
  static std::string AssignScalar(const Value& v, const FieldDescriptor* fd, Message* msg,
                                  bool add) {
    const Reflection* r = msg->GetReflection();
    std::string problem;
    if (v.kind != Value::Kind::kScalar) {
      problem = absl::StrCat("expected ", Expected(fd), ", got ", Describe(v));
    } else {
      switch (fd->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32: {
          int32_t x = 0;
          if ((problem = ParseInteger(v, fd, &x)).empty()) {
            add ? r->AddInt32(msg, fd, x) : r->SetInt32(msg, fd, x);
          }
          break;
        }
        case FieldDescriptor::CPPTYPE_INT64: {
          int64_t x = 0;
          if ((problem = ParseInteger(v, fd, &x)).empty()) {
            add ? r->AddInt64(msg, fd, x) : r->SetInt64(msg, fd, x);
          }
          break;
        }
        case FieldDescriptor::CPPTYPE_UINT32: {
          uint32_t x = 0;
          if ((problem = ParseInteger(v, fd, &x)).empty()) {
            add ? r->AddUInt32(msg, fd, x) : r->SetUInt32(msg, fd, x);
          }
          break;
        }
        case FieldDescriptor::CPPTYPE_UINT64: {
          uint64_t x = 0;
          if ((problem = ParseInteger(v, fd, &x)).empty()) {
            add ? r->AddUInt64(msg, fd, x) : r->SetUInt64(msg, fd, x);
          }
          break;
        }
        case FieldDescriptor::CPPTYPE_DOUBLE:
        case FieldDescriptor::CPPTYPE_FLOAT: {
          double x = 0;
          if ((problem = ParseDouble(v, fd, &x)).empty()) {
            if (fd->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
              add ? r->AddDouble(msg, fd, x) : r->SetDouble(msg, fd, x);
            } else {
              const auto f = static_cast<float>(x);
              add ? r->AddFloat(msg, fd, f) : r->SetFloat(msg, fd, f);
            }
          }
          break;
        }
        case FieldDescriptor::CPPTYPE_BOOL: {
          bool x = false;
          if ((problem = ParseBool(v, &x)).empty()) {
            add ? r->AddBool(msg, fd, x) : r->SetBool(msg, fd, x);
          }
          break;
        }
        case FieldDescriptor::CPPTYPE_ENUM: {
          const EnumValueDescriptor* ev = nullptr;
          if (v.style == Value::Style::kPlain || v.style == Value::Style::kString) {
            ev = fd->enum_type()->FindValueByName(v.text);
          }
          if (ev == nullptr) {
            problem = absl::StrCat("expected ", Expected(fd), ", got ", Describe(v));
          } else {
            add ? r->AddEnum(msg, fd, ev) : r->SetEnum(msg, fd, ev);
          }
          break;
        }
        case FieldDescriptor::CPPTYPE_STRING: {
          if (v.style != Value::Style::kPlain && v.style != Value::Style::kString) {
            problem = absl::StrCat("expected ", Expected(fd), ", got ", Describe(v));
            break;
          }
          std::string x = v.text;
          if (fd->type() == FieldDescriptor::TYPE_BYTES) {
            auto decoded = Base64Decode(x);
            if (!decoded.ok()) {
              problem = absl::StrCat("expected a base64 string: ",
                                     std::string(decoded.status().message()));
              break;
            }
            x = std::move(*decoded);
          } else if (!IsValidUtf8(x)) {
            problem = "string is not valid UTF-8";
            break;
          }
          add ? r->AddString(msg, fd, std::move(x)) : r->SetString(msg, fd, std::move(x));
          break;
        }
        case FieldDescriptor::CPPTYPE_MESSAGE:
          problem = absl::StrCat("expected a mapping, got ", Describe(v));
          break;
      }
    }
    return problem;
  }

  const std::string& name_;
};

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         absl::AsciiStrToLower(s.substr(s.size() - suffix.size())) == suffix;
}

}  // namespace

absl::Status ParseConfigText(std::string_view text, const std::string& name, bool yaml,
                             google::protobuf::Message* out) {
  Value root;
  absl::Status parsed = yaml ? ParseYaml(text, name, &root) : ParseJson(text, name, &root);
  if (!parsed.ok()) return parsed;
  // Work on a copy so a failure halfway leaves *out untouched.
  std::unique_ptr<Message> work(out->New());
  work->CopyFrom(*out);
  if (absl::Status s = Walker(name).FillMessage(root, "", work.get()); !s.ok()) return s;
  out->CopyFrom(*work);
  return absl::OkStatus();
}

absl::Status LoadConfigFile(const std::string& path, google::protobuf::Message* out) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  bool yaml;
  if (EndsWith(path, ".yaml") || EndsWith(path, ".yml")) {
    yaml = true;
  } else if (EndsWith(path, ".json")) {
    yaml = false;
  } else {
    const size_t first = text->find_first_not_of(" \t\r\n");
    yaml = first == std::string::npos || (*text)[first] != '{';
  }
  return ParseConfigText(*text, path, yaml, out);
}

}  // namespace tds
