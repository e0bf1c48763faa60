#include "compute/enclave/enclave_protocol.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "compute/enclave/codec.h"

namespace tds::compute::enclave {

std::string Message(Tag tag, std::string_view body) {
  std::string out(1, static_cast<char>(tag));
  out.append(body);
  return out;
}

absl::StatusOr<Tag> MessageTag(std::string_view message) {
  if (message.empty()) return absl::DataLossError("enclave protocol: empty message");
  return static_cast<Tag>(static_cast<uint8_t>(message[0]));
}

std::string EncodeReady(const ReadyBody& r) {
  std::string out;
  ByteWriter w(&out);
  w.Bytes(r.measurement);
  w.Fixed(std::string_view(reinterpret_cast<const char*>(r.keys.x25519.data()), 32));
  w.Fixed(r.keys.signing.bytes());
  return out;
}

absl::StatusOr<ReadyBody> DecodeReady(std::string_view body) {
  ByteReader r(body, "ready message");
  ReadyBody out;
  TDS_ASSIGN_OR_RETURN(std::string_view m, r.Bytes("measurement", 64));
  out.measurement = std::string(m);
  TDS_ASSIGN_OR_RETURN(std::string_view x, r.Fixed("x25519", 32));
  std::memcpy(out.keys.x25519.data(), x.data(), 32);
  TDS_ASSIGN_OR_RETURN(std::string_view s, r.Fixed("signing_key", 32));
  TDS_ASSIGN_OR_RETURN(out.keys.signing, PublicKey::FromBytes(s));
  TDS_RETURN_IF_ERROR(r.ExpectEnd());
  return out;
}

std::string EncodeInputPart(uint32_t index, std::string_view bytes) {
  std::string out;
  ByteWriter w(&out);
  w.U32(index);
  w.Bytes(bytes);
  return out;
}

absl::StatusOr<std::pair<uint32_t, std::string_view>> DecodeInputPart(std::string_view body) {
  ByteReader r(body, "input message");
  TDS_ASSIGN_OR_RETURN(uint32_t index, r.U32("index"));
  TDS_ASSIGN_OR_RETURN(std::string_view bytes, r.Bytes("bytes", kMaxEnclaveFrame));
  TDS_RETURN_IF_ERROR(r.ExpectEnd());
  return std::make_pair(index, bytes);
}

std::string EncodeResult(const ResultBody& r) {
  std::string out;
  ByteWriter w(&out);
  w.Bytes(r.signed_result.statement);
  w.Bytes(r.signed_result.signature);
  w.Bytes(r.signed_result.result);
  w.U64(r.database_bytes);
  w.U64(r.sqlite_peak_bytes);
  return out;
}

absl::StatusOr<ResultBody> DecodeResult(std::string_view body) {
  ByteReader r(body, "result message");
  ResultBody out;
  TDS_ASSIGN_OR_RETURN(std::string_view st, r.Bytes("statement", 1 << 20));
  TDS_ASSIGN_OR_RETURN(std::string_view sig, r.Bytes("signature", 64));
  TDS_ASSIGN_OR_RETURN(std::string_view res, r.Bytes("result", 64 << 20));
  out.signed_result = {std::string(st), std::string(sig), std::string(res)};
  TDS_ASSIGN_OR_RETURN(out.database_bytes, r.U64("database_bytes"));
  TDS_ASSIGN_OR_RETURN(out.sqlite_peak_bytes, r.U64("sqlite_peak_bytes"));
  TDS_RETURN_IF_ERROR(r.ExpectEnd());
  return out;
}

std::string EncodeError(const absl::Status& status) {
  std::string out;
  ByteWriter w(&out);
  w.U32(static_cast<uint32_t>(status.code()));
  w.Bytes(std::string(status.message()));
  return out;
}

absl::Status DecodeError(std::string_view body) {
  ByteReader r(body, "error message");
  auto code = r.U32("code");
  auto text = r.Bytes("message", 64 << 10);
  if (!code.ok() || !text.ok() || *code == 0 || *code > 16) {
    return absl::DataLossError("enclave protocol: malformed error message from the enclave");
  }
  return absl::Status(static_cast<absl::StatusCode>(*code), std::string(*text));
}

}  // namespace tds::compute::enclave
