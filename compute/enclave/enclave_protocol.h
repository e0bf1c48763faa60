#pragma once
// Messages between the host and the enclave process, one per frame of a SocketLink over the
// sandbox's socketpair (compute/socket_link.h framing: length:u32 || payload). Every payload
// starts with a tag byte:
//
//   host -> enclave
//     0x01 hello        job_spec:bytes                       (EncodeJobSpec)
//     0x02 input header index:u32 header:bytes               (sealed_stream.h header)
//     0x03 input chunk  index:u32 chunk:bytes                (sealed_stream.h chunk)
//     0x04 run
//   enclave -> host
//     0x81 ready        measurement:bytes x25519:fixed32 signing_key:fixed32
//     0x82 result       statement:bytes signature:bytes result:bytes
//                       database_bytes:u64 sqlite_peak_bytes:u64   (the last two unsigned
//                                                                   figures for metering)
//     0x83 error        code:u32 message:bytes               (an absl::Status; then exit 1)
//     0x84 probe result text:bytes                           (test-only probe jobs)
// Order: hello, ready, then for each input its header before its chunks (inputs may
// interleave), run, result. The enclave ends after result or error.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compute/enclave/attestation.h"
#include "compute/enclave/sql_result.h"

namespace tds::compute::enclave {

enum class Tag : uint8_t {
  kHello = 0x01,
  kInputHeader = 0x02,
  kInputChunk = 0x03,
  kRun = 0x04,
  kReady = 0x81,
  kResult = 0x82,
  kError = 0x83,
  kProbeResult = 0x84,
};

// Largest frame the enclave accepts: a sealed chunk and its envelope.
inline constexpr size_t kMaxEnclaveFrame = (256 << 10) + 1024;

// "<tag byte><body>".
std::string Message(Tag tag, std::string_view body = {});
// The tag of a non-empty message; DataLoss for an empty one.
absl::StatusOr<Tag> MessageTag(std::string_view message);
inline std::string_view MessageBody(std::string_view message) { return message.substr(1); }

struct ReadyBody {
  std::string measurement;
  EnclaveKeys keys;
};
std::string EncodeReady(const ReadyBody& r);
absl::StatusOr<ReadyBody> DecodeReady(std::string_view body);

// input header / input chunk bodies.
std::string EncodeInputPart(uint32_t index, std::string_view bytes);
absl::StatusOr<std::pair<uint32_t, std::string_view>> DecodeInputPart(std::string_view body);

struct ResultBody {
  SignedResult signed_result;
  uint64_t database_bytes = 0;
  uint64_t sqlite_peak_bytes = 0;
};
std::string EncodeResult(const ResultBody& r);
absl::StatusOr<ResultBody> DecodeResult(std::string_view body);

std::string EncodeError(const absl::Status& status);
// The status an error body carries (never OK: a malformed body becomes DataLoss).
absl::Status DecodeError(std::string_view body);

}  // namespace tds::compute::enclave
