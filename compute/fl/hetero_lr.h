#pragma once
// Vertical (heterogeneous) federated logistic regression with Paillier, two parties, no arbiter.
// [HHIN+17] S. Hardy, W. Henecka, H. Ivey-Law, R. Nock, G. Patrini, G. Smith, B. Thorne,
// Private federated learning on vertically partitioned data via entity resolution and
// additively homomorphic encryption, arXiv:1711.10677 (2017); the scheme of FATE's hetero-LR,
// here without its third party: each party holds its own Paillier key pair, computes its
// gradient under the other's key, masks it, and has the other decrypt the masked value.
//
// Two parties over one Link, rows already aligned (PSI):
//   guest   (bank)     labels y in {0,1}, features X_A, weights w_A and the intercept
//   host    (provider) features X_B, weights w_B
// Trust: semi-honest parties, no third party. Message flow and what each party learns:
// README.md. Wire format: top of hetero_lr.cc.
//
// The loss gradient uses the second-order Taylor expansion of the log loss at 0,
// sigmoid(z) ~ 1/2 + z/4, so the residual d = sigmoid(z) - y becomes d ~ z/4 + 1/2 - y, linear
// in z = u_A + u_B and thus computable under additive encryption. TrainPlainLr(taylor = true)
// is the exact plaintext counterpart (federated weights match it up to fixed-point rounding).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compute/fl/dataset.h"
#include "compute/fl/paillier.h"
#include "compute/link.h"
#include "compute/worker_pool.h"

namespace tds::compute::fl {

struct HeteroLrOptions {
  int epochs = 10;
  // Rows per mini-batch. Larger batches amortize the per-batch costs (the masked gradients'
  // encryption and decryption, the multi-exponentiation's buckets) but update less often.
  size_t batch_size = 64;
  double learning_rate = 0.15;
  double l2 = 0.0;  // penalty (l2/2)|w|^2, intercept excluded
  // Fixed-point scale 2^frac_bits for u_B, the residuals and the features (|x| 2^f < 2^62).
  int frac_bits = 16;
  // Seeds the row order of each epoch; guest and host must agree (checked in the hello).
  uint64_t batch_seed = 1;
  // Stop each epoch after this many rows (0 = all); the benchmark measures a fraction of an
  // epoch this way.
  size_t max_rows_per_epoch = 0;
  // Refuse a peer public key with a shorter modulus (tests use 1024, production 2048).
  int min_key_bits = 2048;
  // Compute every r^n an epoch needs on the WorkerPool before its first batch (the "offline"
  // phase); otherwise each encryption computes its own inline.
  bool precompute_randomness = true;
};

// One party's part of the model. The guest's includes the intercept.
struct LrWeights {
  std::vector<double> w;
  double bias = 0.0;
};

// One party's figures for a run (seconds are wall time on that party's thread).
struct HeteroLrStats {
  double offline_seconds = 0;  // randomness precomputation, all epochs
  double online_seconds = 0;   // the training batches
  // Parts of online_seconds: encrypting the party's per-row share, the gradient under the
  // peer's key (adding the share, multi-exponentiation, masking), decrypting the peer's masked
  // gradient. The rest is waiting for the peer and the link.
  double encrypt_seconds = 0;
  double gradient_seconds = 0;
  double decrypt_seconds = 0;
  uint64_t rows_processed = 0;
  uint64_t randomness_misses = 0;  // encryptions whose r^n was not precomputed
  uint64_t bytes_sent = 0;         // on the peer link during the run
  uint64_t bytes_received = 0;
};

// The row indices of each mini-batch of `epoch` (a seeded permutation, truncated to
// max_rows_per_epoch, cut into batch_size pieces). Shared by both parties and TrainPlainLr.
std::vector<std::vector<size_t>> BatchSchedule(size_t rows, const HeteroLrOptions& options,
                                               int epoch);

// Each party's entry point; they run concurrently (threads or processes), connected by one
// Link. `own_key` is the party's own Paillier key pair (its public key is sent in the hello; the
// peer's is refused below options.min_key_bits or if malformed). `workers` runs the Paillier work
// in parallel. `stats` may be null.
absl::StatusOr<LrWeights> RunHeteroLrGuest(const HeteroLrOptions& options, const Matrix& x,
                                           const std::vector<int>& y,
                                           const PaillierPrivateKey& own_key, Link& host,
                                           WorkerPool& workers, HeteroLrStats* stats = nullptr);
absl::StatusOr<LrWeights> RunHeteroLrHost(const HeteroLrOptions& options, const Matrix& x,
                                          const PaillierPrivateKey& own_key, Link& guest,
                                          WorkerPool& workers, HeteroLrStats* stats = nullptr);

// Plaintext mini-batch LR over the joined features [X_A | X_B] with the same schedule and
// updates; taylor = true uses the federated residual z/4 + 1/2 - y, false the exact sigmoid.
LrWeights TrainPlainLr(const HeteroLrOptions& options, const Matrix& x, const std::vector<int>& y,
                       bool taylor);

// w.x (+ bias) of every row.
std::vector<double> PartialScores(const LrWeights& model, const Matrix& x);
double Sigmoid(double z);

// Joint scoring (the gateway's `lr_score`): the host sends its partial scores w_B.x_B of the
// rows (plain doubles) and the guest returns sigmoid(w_A.x_A + b + w_B.x_B). The guest learns
// the host's per-row partial score (not w_B or x_B); the host learns only the row count.
absl::StatusOr<std::vector<double>> ScoreLrGuest(const LrWeights& model, const Matrix& x,
                                                 Link& host);
absl::Status ScoreLrHost(const LrWeights& model, const Matrix& x, Link& guest);

}  // namespace tds::compute::fl
