#include "compute/psi/ot_extension.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "compute/psi/base_ot.h"
#include "compute/worker_pool.h"

namespace tds::compute::psi {
namespace {

bool Bit(const uint64_t* words, size_t i) { return (words[i / 64] >> (i % 64)) & 1; }

TEST(TransposeTest, Transpose64MatchesTheDefinition) {
  std::mt19937_64 rng(1);
  uint64_t a[64], b[64];
  for (auto& w : a) w = rng();
  std::memcpy(b, a, sizeof(a));
  Transpose64(b);
  for (int r = 0; r < 64; ++r) {
    for (int c = 0; c < 64; ++c) ASSERT_EQ((a[r] >> c) & 1, (b[c] >> r) & 1) << r << "," << c;
  }
}

TEST(TransposeTest, RowsToColumnsAndBack) {
  std::mt19937_64 rng(2);
  const size_t n = 192;
  std::vector<uint64_t> rows(n * kCodeWords), cols(kCodeBits * n / 64), back(rows.size());
  for (auto& w : rows) w = rng();
  RowsToColumns(rows.data(), n, cols.data(), 0, n / 64);
  for (size_t r = 0; r < n; ++r) {
    for (size_t j = 0; j < kCodeBits; j += 7) {
      ASSERT_EQ(Bit(rows.data() + r * kCodeWords, j), Bit(cols.data() + j * (n / 64), r));
    }
  }
  ColumnsToRows(cols.data(), n, back.data(), 0, n / 64);
  EXPECT_EQ(back, rows);
}

TEST(PseudorandomCodeTest, DeterministicAndFarApart) {
  uint8_t keys[kPrcKeyBytes];
  for (size_t i = 0; i < kPrcKeyBytes; ++i) keys[i] = static_cast<uint8_t>(i * 13);
  PseudorandomCode code(keys);
  uint8_t in[3 * 16] = {};
  in[16] = 1;       // differs from input 0 in one bit
  in[32 + 15] = 1;  // differs in the top byte
  uint64_t rows[3 * kCodeWords], again[kCodeWords];
  code.Encode(in, 3, rows);
  code.Encode(in, 1, again);
  EXPECT_EQ(std::memcmp(rows, again, kCodeBytes), 0);
  for (int k = 1; k < 3; ++k) {
    int distance = 0;
    for (size_t w = 0; w < kCodeWords; ++w) {
      distance += __builtin_popcountll(rows[w] ^ rows[k * kCodeWords + w]);
    }
    EXPECT_GT(distance, 180) << k;  // ~256 expected; ≥ 128 is what security needs
  }
}

// Runs the base OTs and returns an OPRF receiver / sender pair.
struct Pair {
  std::unique_ptr<OprfReceiver> receiver;
  std::unique_ptr<OprfSender> sender;
};

Pair MakePair() {
  BaseOtSender base;
  std::vector<uint8_t> choices(kCodeBits);
  std::mt19937 rng(3);
  for (auto& c : choices) c = rng() & 1;
  std::string reply;
  std::vector<OtSeed> chosen, k0, k1;
  EXPECT_TRUE(BaseOtReceive(base.FirstMessage(), choices, reply, chosen).ok());
  EXPECT_TRUE(base.Finish(reply, kCodeBits, k0, k1).ok());
  return Pair{std::make_unique<OprfReceiver>(k0, k1),
              std::make_unique<OprfSender>(chosen, choices)};
}

TEST(OprfTest, ReceiverValueEqualsSenderValueOnTheSameInputOnly) {
  WorkerPool pool(2);
  Pair p = MakePair();
  uint8_t keys[kPrcKeyBytes] = {9};
  PseudorandomCode code(keys);
  RowHasher hasher;
  // Two slabs, so that every column stream continues across calls.
  uint64_t instance = 0;
  for (size_t n : {size_t{256}, size_t{128}}) {
    std::vector<uint8_t> inputs(n * 16);
    for (size_t i = 0; i < inputs.size(); ++i) inputs[i] = static_cast<uint8_t>(i * 31 + n);
    std::vector<uint64_t> codes(n * kCodeWords), u(n * kCodeWords), t0(n * kCodeWords),
        q(n * kCodeWords);
    code.Encode(inputs.data(), n, codes.data());
    p.receiver->Extend(codes.data(), n, u.data(), t0.data(), pool);
    p.sender->Extend(u.data(), n, q.data(), pool);
    for (size_t i = 0; i < n; ++i, ++instance) {
      uint8_t mine[16], theirs[16], other[16];
      hasher.Hash(instance, t0.data() + i * kCodeWords, mine, 16);
      p.sender->Evaluate(instance, q.data() + i * kCodeWords, codes.data() + i * kCodeWords, hasher,
                         theirs, 16);
      ASSERT_EQ(std::memcmp(mine, theirs, 16), 0) << "instance " << instance;
      // Another input's code at this instance gives an unrelated value.
      const size_t j = (i + 1) % n;
      p.sender->Evaluate(instance, q.data() + i * kCodeWords, codes.data() + j * kCodeWords, hasher,
                         other, 16);
      EXPECT_NE(std::memcmp(mine, other, 16), 0) << "instance " << instance;
      // The same row at another instance gives another value.
      hasher.Hash(instance + 1000, t0.data() + i * kCodeWords, other, 16);
      EXPECT_NE(std::memcmp(mine, other, 16), 0);
    }
  }
}

TEST(OprfTest, ColumnsSentHideTheCodes) {
  // u = t0 ⊕ t1 ⊕ c: two slabs with the same codes give different columns.
  WorkerPool pool(1);
  Pair p = MakePair();
  std::vector<uint64_t> codes(128 * kCodeWords, 0), u1(codes.size()), u2(codes.size()),
      t0(codes.size());
  p.receiver->Extend(codes.data(), 128, u1.data(), t0.data(), pool);
  p.receiver->Extend(codes.data(), 128, u2.data(), t0.data(), pool);
  EXPECT_NE(u1, u2);
  EXPECT_NE(u1, codes);
}

}  // namespace
}  // namespace tds::compute::psi
