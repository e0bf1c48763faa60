#include "sdk/cli/product_cmd.h"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/config.h"
#include "sdk/cli/describe.h"
#include "sdk/cli/output.h"
#include "sdk/cli/paging.h"
#include "sdk/cli/session.h"

namespace tds::cli {
namespace {

Listing ProductListing(const std::vector<tds::ProductSummary>& products) {
  Listing listing({"id", "version", "provider", "level", "title", "tags", "operations", "retired"});
  for (const tds::ProductSummary& p : products) {
    listing.AddRow(
        {p.id(), std::to_string(p.version()), p.provider(), std::to_string(p.level()), p.title(),
         JoinList(p.tags()), JoinList(p.operations()), p.retired() ? "yes" : "no"},
        p);
  }
  return listing;
}

// --- publish / update ---

int RunPublish(const GlobalOptions& g, const std::string& file, bool update) {
  tds::Product product;
  if (absl::Status s = LoadConfigFile(file, &product); !s.ok()) return Fail(s);
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  const std::string id = product.id();
  return SubmitAndReport(**session,
                         update ? sdk::UpdateProduct(product) : sdk::PublishProduct(product),
                         [&](const tds::SubmitResponse& ack) {
                           return (update ? "updated product " : "published product ") + id + " (" +
                                  ack.result() + ")";
                         });
}

// --- retire ---

int RunRetire(const GlobalOptions& g, const std::string& id, const std::string& reason) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  return SubmitAndReport(**session, sdk::RetireProduct(id, reason),
                         [&](const tds::SubmitResponse&) { return "retired product " + id; });
}

// --- list / search ---

struct SearchArgs {
  std::vector<std::string> words;
  std::string provider;
  uint32_t max_level = 0;
  std::string operation;
  std::string tag;
  bool all = false;
  uint32_t limit = 0;  // 0: every page
  std::string cursor;
  OutputFormat format = OutputFormat::kTable;
};

int RunSearch(const GlobalOptions& g, const SearchArgs& a) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kOptional);
  if (!session.ok()) return Fail(session.status());
  tds::SearchProductsRequest request;
  request.set_text(absl::StrJoin(a.words, " "));
  request.set_provider(a.provider);
  request.set_max_level(a.max_level);
  request.set_operation(a.operation);
  request.set_tag(a.tag);
  request.set_include_retired(a.all);
  std::vector<tds::ProductSummary> products;
  uint64_t total = 0;
  absl::StatusOr<std::string> next = ReadPages(
      request, a.limit, a.cursor, 1000,
      [&](const tds::SearchProductsRequest& r) { return (*session)->query->SearchProducts(r); },
      [&](const tds::SearchProductsResponse& page) {
        total = page.total();
        products.insert(products.end(), page.products().begin(), page.products().end());
        return absl::OkStatus();
      });
  if (!next.ok()) return Fail(next.status());
  ProductListing(products).Print(std::cout, a.format);
  if (a.format == OutputFormat::kTable) {
    std::cerr << products.size() << " of " << total << " matching product(s)\n";
  }
  PrintMore(*next);
  return 0;
}

// --- show ---

int RunShow(const GlobalOptions& g, const std::string& id, uint32_t version, bool history,
            OutputFormat format) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kOptional);
  if (!session.ok()) return Fail(session.status());
  std::vector<tds::Product> versions;
  tds::ProductHead head;
  if (history) {
    tds::ProductHistoryRequest request;
    request.set_product_id(id);
    absl::StatusOr<tds::ProductHistoryResponse> r = (*session)->query->ProductHistory(request);
    if (!r.ok()) return Fail(r.status());
    versions.assign(r->versions().begin(), r->versions().end());
    head = r->head();
  } else {
    tds::GetProductRequest request;
    request.set_product_id(id);
    request.set_version(version);
    absl::StatusOr<tds::GetProductResponse> r = (*session)->query->GetProduct(request);
    if (!r.ok()) return Fail(r.status());
    versions.push_back(r->product());
    head = r->head();
  }
  if (format == OutputFormat::kTable) {
    for (size_t i = 0; i < versions.size(); ++i) {
      if (i > 0) std::cout << "\n";
      PrintProduct(std::cout, versions[i], head);
    }
    return 0;
  }
  Listing listing({"id", "version", "provider", "level", "title", "tags", "operations",
                   "published_height", "retired"});
  for (const tds::Product& p : versions) {
    listing.AddRow({p.id(), std::to_string(p.version()), p.provider(), std::to_string(p.level()),
                    p.title(), JoinList(p.tags()), JoinList(p.operations()),
                    std::to_string(p.published_height()), head.retired() ? "yes" : "no"},
                   p);
  }
  listing.Print(std::cout, format);
  return 0;
}

// --- export-dcat ---

int RunExportDcat(const GlobalOptions& g, const std::string& id) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kOptional);
  if (!session.ok()) return Fail(session.status());
  tds::ExportDcatRequest request;
  request.set_product_id(id);
  absl::StatusOr<tds::ExportDcatResponse> r = (*session)->query->ExportDcat(request);
  if (!r.ok()) return Fail(r.status());
  std::cout << r->json_ld();
  if (r->json_ld().empty() || r->json_ld().back() != '\n') std::cout << "\n";
  return 0;
}

// --- cost ---

struct CostArgs {
  std::string id, period, category, currency, note;
  int64_t amount = 0;
};

int RunCost(const GlobalOptions& g, const CostArgs& a) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  return SubmitAndReport(**session,
                         sdk::DeclareCost(a.id, a.period, a.category, a.amount, a.currency, a.note),
                         [&](const tds::SubmitResponse&) {
                           return "declared " + a.category + " cost of " +
                                  Money(a.amount, a.currency) + " for " + a.id + " in " + a.period;
                         });
}

}  // namespace

void AddProductCommands(CLI::App& app, Context& ctx) {
  const GlobalOptions& g = ctx.options;
  CLI::App* product = app.add_subcommand("product", "The data-product catalog");
  product->require_subcommand(1);
  product->footer(
      "Publishing, updating, retiring and declaring costs sign with --key (a provider); "
      "reading works anonymously,\nbut level-5 products are listed only to their provider, "
      "their allow list and auditors (sign with --key).");

  auto file = std::make_shared<std::string>();
  CLI::App* publish = product->add_subcommand(
      "publish", "Publish a new data product (catalog.publish) described by a YAML or JSON file");
  publish
      ->add_option("FILE", *file,
                   "A tds.Product (proto/catalog.proto): id, title, "
                   "description, tags, schema, level, operations, offer, ...")
      ->required()
      ->check(CLI::ExistingFile);
  publish->footer(
      "The file's keys are the proto field names; unknown keys are errors. version, provider "
      "and published_* are set by the ledger.\nExample: tds --key zj.key product publish "
      "deploy/samples/products/tax-invoices.yaml");
  OnRun(publish, ctx, [&g, file] { return RunPublish(g, *file, false); });

  auto ufile = std::make_shared<std::string>();
  CLI::App* update = product->add_subcommand(
      "update", "Publish a new version of your product (catalog.update): the full description");
  update->add_option("FILE", *ufile, "A tds.Product with the same id (YAML or JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  OnRun(update, ctx, [&g, ufile] { return RunPublish(g, *ufile, true); });

  auto rid = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  CLI::App* retire = product->add_subcommand(
      "retire", "Retire your product (catalog.retire): hidden from search, no new contracts");
  retire->add_option("ID", *rid, "Product id")->required();
  retire->add_option("--reason", *reason, "Why (recorded on the ledger)")->required();
  OnRun(retire, ctx, [&g, rid, reason] { return RunRetire(g, *rid, *reason); });

  auto la = std::make_shared<SearchArgs>();
  CLI::App* list = product->add_subcommand("list", "List catalogued products (every page)");
  list->add_option("--provider", la->provider, "Only this provider's products");
  list->add_flag("--all", la->all, "Include retired products");
  AddOutputOption(list, &la->format);
  OnRun(list, ctx, [&g, la] { return RunSearch(g, *la); });

  auto sa = std::make_shared<SearchArgs>();
  CLI::App* search = product->add_subcommand(
      "search",
      "Search products: every word must prefix a word of the title, description or "
      "tags (Chinese text matches by character pairs)");
  search->add_option("WORDS", sa->words, "Words to match (none: everything the filters pass)");
  search->add_option("--provider", sa->provider, "Only this provider's products");
  search->add_option("--max-level", sa->max_level, "Only classification levels up to this")
      ->check(CLI::Range(1u, 5u));
  search->add_option("--operation", sa->operation,
                     "Only products allowing this operation (psi, stats, query, lr_train, "
                     "lr_score, enclave_sql)");
  search->add_option("--tag", sa->tag, "Only products with this tag");
  search->add_flag("--all", sa->all, "Include retired products");
  search
      ->add_option("--limit", sa->limit,
                   "One page of at most this many (1..1000); without it "
                   "every page is fetched")
      ->check(CLI::Range(1u, 1000u));
  search->add_option("--cursor", sa->cursor, "Continue after this product id (from \"more:\")");
  AddOutputOption(search, &sa->format);
  search->footer(
      "Example: tds product search credit invoice --max-level 3 --operation psi -o json");
  OnRun(search, ctx, [&g, sa] { return RunSearch(g, *sa); });

  auto show_id = std::make_shared<std::string>();
  auto show_version = std::make_shared<uint32_t>(0);
  auto show_history = std::make_shared<bool>(false);
  auto show_format = std::make_shared<OutputFormat>(OutputFormat::kTable);
  CLI::App* show = product->add_subcommand(
      "show", "Show a product: description, schema, classification and its offer (terms, price)");
  show->add_option("ID", *show_id, "Product id")->required();
  show->add_option("--version", *show_version, "This version (default: the latest)");
  show->add_flag("--history", *show_history, "Every version, oldest first");
  AddOutputOption(show, show_format.get());
  OnRun(show, ctx, [&g, show_id, show_version, show_history, show_format] {
    return RunShow(g, *show_id, *show_version, *show_history, *show_format);
  });

  auto dcat_id = std::make_shared<std::string>();
  CLI::App* dcat = product->add_subcommand(
      "export-dcat",
      "Print the product as a DCAT 3 dataset with its offer as an ODRL policy "
      "(JSON-LD)");
  dcat->add_option("ID", *dcat_id, "Product id")->required();
  OnRun(dcat, ctx, [&g, dcat_id] { return RunExportDcat(g, *dcat_id); });

  auto ca = std::make_shared<CostArgs>();
  CLI::App* cost = product->add_subcommand(
      "cost",
      "Declare a cost of your product (catalog.declare_cost), for the cost approach of "
      "its valuation");
  cost->add_option("ID", ca->id, "Product id")->required();
  cost->add_option("--period", ca->period, "Month the cost belongs to, YYYY-MM")->required();
  cost->add_option("--category", ca->category, "e.g. collection, storage, processing, compliance")
      ->required();
  cost->add_option("--amount", ca->amount, "Amount in minor units (fen for CNY), >= 0")->required();
  cost->add_option("--currency", ca->currency, "ISO 4217 code, e.g. CNY")->required();
  cost->add_option("--note", ca->note, "Free text");
  OnRun(cost, ctx, [&g, ca] { return RunCost(g, *ca); });
}

}  // namespace tds::cli
