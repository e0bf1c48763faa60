#pragma once
// What every consumer-side run of the gateway shares (sdk/compute_client.h, sdk/joint_client.h):
// one Compute.Run call with a protocol over its stream, and PSI as the receiver.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compute/link.h"
#include "compute/psi/ecdh_psi.h"
#include "grpcpp/grpcpp.h"
#include "proto/compute_service.pb.h"

namespace tds::sdk {

// Opens Compute.Run over `channel` (deadline timeout_ms, 0 = none) with ComputeStart{request,
// params}, runs `protocol` over the stream, then reads the node's ComputeResult. A failure is
// explained by the node's status when it ended the call with an error (its message names what
// failed, prefixed "Compute.Run: "), else by the protocol's.
absl::StatusOr<tds::ComputeResult> RunOverStream(
    const std::shared_ptr<grpc::Channel>& channel, int64_t timeout_ms, const std::string& request,
    const std::string& params, const std::function<absl::Status(compute::Link&)>& protocol);

// The receiver's side of the PSI protocol `protocol` (compute::kPsiEcdh or kPsiOt).
absl::StatusOr<compute::psi::PsiResult> RunPsiReceiver(
    compute::psi::PsiOutput output, const std::string& protocol,
    const std::vector<std::string>& ids,
    const std::function<void(const compute::psi::PsiProgress&)>& progress, compute::Link& link);

}  // namespace tds::sdk
