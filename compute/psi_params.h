#pragma once
// The names of PSI outputs as they appear in contracts (Terms.psi_output) and in
// tds.PsiParams.output, shared by the node's gateway and the SDK.

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

}  // namespace tds::compute
