#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "compute/joint/alignment.h"
#include "compute/joint/joint_params.h"
#include "compute/joint/scaling.h"

namespace tds::compute::joint {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(AlignedOrder, BothSidesGetTheSameRowOrderFromTheirOwnPositions) {
  // Provider and consumer hold the matched ids "b", "d", "a" at different positions.
  const std::vector<std::string> provider = {"d", "x", "a", "b", "y"};
  const std::vector<std::string> consumer = {"a", "b", "z", "d"};
  auto p = AlignedOrder(provider, {0, 2, 3});
  auto c = AlignedOrder(consumer, {0, 1, 3});
  ASSERT_TRUE(p.ok() && c.ok());
  ASSERT_EQ(p->size(), c->size());
  for (size_t i = 0; i < p->size(); ++i) EXPECT_EQ(provider[(*p)[i]], consumer[(*c)[i]]);
  EXPECT_THAT(*p, ElementsAre(2, 3, 0));
}

TEST(AlignedOrder, RefusesDuplicateMatchedIdentifiersWithoutNamingThem) {
  auto r = AlignedOrder({"secret-id", "q", "secret-id"}, {0, 2});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("more than once"));
  EXPECT_THAT(std::string(r.status().message()), ::testing::Not(HasSubstr("secret-id")));
  EXPECT_EQ(AlignedOrder({"a"}, {3}).status().code(), absl::StatusCode::kInternal);
}

TEST(AlignedNumbers, ParsesInOrderAndRefusesNullOrText) {
  stats::ColumnValues v = {std::string("1.5"), std::nullopt, std::string("-2"), std::string("x")};
  auto ok = AlignedNumbers(v, {2, 0}, "income");
  ASSERT_TRUE(ok.ok());
  EXPECT_THAT(*ok, ElementsAre(-2.0, 1.5));
  auto null = AlignedNumbers(v, {1}, "income");
  EXPECT_THAT(std::string(null.status().message()),
              HasSubstr("column 'income': an aligned row has no value"));
  auto text = AlignedNumbers(v, {3}, "income");
  EXPECT_THAT(std::string(text.status().message()), HasSubstr("non-numeric"));
  stats::ColumnValues inf = {std::string("inf")};
  EXPECT_FALSE(AlignedNumbers(inf, {0}, "c").ok());
}

TEST(JointParams, ConvertsStatsAndNamesTheBadField) {
  tds::JointStatsParams p;
  auto* s = p.add_stats();
  s->set_kind("woe_iv");
  s->set_column("income");
  s->set_quantiles(4);
  p.add_stats()->set_kind("count");
  auto o = SecretStatsOptionsFrom(p, 7);
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_EQ(o->requests.size(), 2u);
  EXPECT_EQ(o->requests[0].kind, mpc::StatKind::kWoeIv);
  EXPECT_EQ(o->requests[0].quantiles, 4u);
  EXPECT_EQ(o->min_group_size, 7u);
  EXPECT_EQ(o->frac_bits, mpc::kDefaultFracBits);

  p.mutable_stats(1)->set_kind("median");
  EXPECT_THAT(std::string(SecretStatsOptionsFrom(p, 0).status().message()),
              HasSubstr("params.stats[1].kind: 'median'"));
  p.mutable_stats(1)->set_kind("count");
  p.set_frac_bits(31);
  EXPECT_THAT(std::string(SecretStatsOptionsFrom(p, 0).status().message()),
              HasSubstr("params.frac_bits"));
  EXPECT_FALSE(SecretStatsOptionsFrom(tds::JointStatsParams(), 0).ok()) << "no statistics";
}

TEST(JointParams, LrDefaultsAndRanges) {
  tds::LrTrainParams p;
  auto o = LrOptionsFrom(p);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->epochs, 10);
  EXPECT_EQ(o->batch_size, 64u);
  p.set_epochs(1000);
  EXPECT_THAT(std::string(LrOptionsFrom(p).status().message()), HasSubstr("params.epochs"));
  p.set_epochs(3);
  p.set_learning_rate(-1);
  EXPECT_THAT(std::string(LrOptionsFrom(p).status().message()), HasSubstr("params.learning_rate"));
  p.set_learning_rate(0.5);
  p.set_l2(std::nan(""));
  EXPECT_THAT(std::string(LrOptionsFrom(p).status().message()), HasSubstr("params.l2"));
}

TEST(Scaling, StandardizesAndKeepsConstantColumnsFinite) {
  fl::Matrix x(4, 2);
  const double col0[] = {1, 2, 3, 4};
  for (size_t i = 0; i < 4; ++i) {
    x.row(i)[0] = col0[i];
    x.row(i)[1] = 5;
  }
  const Scaling s = FitScaling(x);
  EXPECT_DOUBLE_EQ(s.means[0], 2.5);
  EXPECT_DOUBLE_EQ(s.scales[1], 1.0);
  ApplyScaling(s, &x);
  double sum = 0, sq = 0;
  for (size_t i = 0; i < 4; ++i) {
    sum += x.row(i)[0];
    sq += x.row(i)[0] * x.row(i)[0];
    EXPECT_EQ(x.row(i)[1], 0.0);
  }
  EXPECT_NEAR(sum, 0, 1e-12);
  EXPECT_NEAR(sq / 4, 1, 1e-12);
}

}  // namespace
}  // namespace tds::compute::joint
