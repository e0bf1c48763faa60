#pragma once
// The names of PSI outputs and protocols as they appear in contracts (Terms.psi_output,
// Terms.psi_protocol) and in tds.PsiParams, and the choice of protocol, shared by the node's
// gateway and the SDK so that both sides of a run pick the same protocol.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "compute/psi/ecdh_psi.h"

namespace tds::compute {

inline constexpr char kPsiConsumerOnly[] = "consumer_only";
inline constexpr char kPsiBoth[] = "both";
inline constexpr char kPsiSizeOnly[] = "size_only";

// "" is the default, consumer_only.
inline std::string PsiOutputNameOrDefault(const std::string& name) {
  return name.empty() ? kPsiConsumerOnly : name;
}

// InvalidArgument naming the value for anything but "", consumer_only, both, size_only.
inline absl::StatusOr<psi::PsiOutput> PsiOutputFromName(const std::string& name) {
  const std::string n = PsiOutputNameOrDefault(name);
  if (n == kPsiConsumerOnly) return psi::PsiOutput::kConsumerOnly;
  if (n == kPsiBoth) return psi::PsiOutput::kBoth;
  if (n == kPsiSizeOnly) return psi::PsiOutput::kSizeOnly;
  return absl::InvalidArgumentError(
      absl::StrCat("params.output: '", name, "' is not consumer_only, both or size_only"));
}

// PSI protocols. Terms.psi_protocol is auto (or ""), ecdh or ot; PsiParams.protocol, what the
// consumer runs, is ecdh (or "", what consumers ran before OT-PSI existed) or ot.
inline constexpr char kPsiAuto[] = "auto";
inline constexpr char kPsiEcdh[] = "ecdh";  // compute/psi/ecdh_psi.h
inline constexpr char kPsiOt[] = "ot";      // compute/psi/kkrt_psi.h (KKRT16)

// Under auto, consumer sets smaller than this run ECDH-PSI. OT-PSI's fixed cost (512 base OTs
// over ristretto255, ~0.1 s, and a few round trips) dominates tiny sets, where ECDH-PSI costs
// ~4 X25519 multiplications (~120 µs of CPU) per item pair: the two meet near 2^10 items
// (node/gateway/README.md, "Which PSI protocol").
inline constexpr uint64_t kOtPsiMinItems = uint64_t{1} << 10;

// The protocol a run uses, ecdh or ot, from the contract's psi_protocol, the run's output and
// the consumer's announced set size:
//   ecdh, ot     as the contract says (ot with size_only: FailedPrecondition, an OPRF-PSI
//                cannot hide from the receiver which of its items matched);
//   auto / ""    ecdh for size_only and for consumer_items < kOtPsiMinItems, else ot.
// InvalidArgument for a psi_protocol or output that is not a known name. A pure function: the
// gateway and the SDK call it with the same inputs and get the same answer.
inline absl::StatusOr<std::string> ChoosePsiProtocol(const std::string& terms_protocol,
                                                     const std::string& output,
                                                     uint64_t consumer_items) {
  absl::StatusOr<psi::PsiOutput> mode = PsiOutputFromName(output);
  if (!mode.ok()) return mode.status();
  const bool size_only = *mode == psi::PsiOutput::kSizeOnly;
  if (terms_protocol == kPsiEcdh) return std::string(kPsiEcdh);
  if (terms_protocol == kPsiOt) {
    if (size_only) {
      return absl::FailedPreconditionError(
          "terms.psi_protocol: 'ot' cannot run psi_output 'size_only' (an OT-PSI receiver always "
          "learns which of its items matched); the contract needs psi_protocol ecdh or auto");
    }
    return std::string(kPsiOt);
  }
  if (!terms_protocol.empty() && terms_protocol != kPsiAuto) {
    return absl::InvalidArgumentError(
        absl::StrCat("terms.psi_protocol: '", terms_protocol, "' is not auto, ecdh or ot"));
  }
  if (size_only || consumer_items < kOtPsiMinItems) return std::string(kPsiEcdh);
  return std::string(kPsiOt);
}

// The protocol a consumer states in PsiParams.protocol: "" means ecdh. InvalidArgument for
// anything but "", ecdh, ot.
inline absl::StatusOr<std::string> StatedPsiProtocol(const std::string& params_protocol) {
  if (params_protocol.empty() || params_protocol == kPsiEcdh) return std::string(kPsiEcdh);
  if (params_protocol == kPsiOt) return std::string(kPsiOt);
  return absl::InvalidArgumentError(
      absl::StrCat("params.protocol: '", params_protocol, "' is not ecdh or ot"));
}

}  // namespace tds::compute
