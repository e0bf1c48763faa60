#pragma once
// A throwaway PostgreSQL server for tests: initdb into a fresh temp dir, then pg_ctl start
// listening on 127.0.0.1 only (plus a Unix socket in the temp dir), trust authentication,
// superuser "tds". The destructor stops it (pg_ctl stop -m immediate) and removes the dir.
//
// PostgreSQL refuses to run as root; when the test runs as root the dir is handed to the
// `postgres` system user (created by Debian's postgresql package) and initdb / pg_ctl run as
// that user in a forked child. Server binaries are looked up in $TDS_PG_BINDIR, else the newest
// /usr/lib/postgresql/<version>/bin.

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace tds::node::testing {

class PostgresTestServer {
 public:
  // Fails with a message saying what is missing (binaries, the postgres user) or which step
  // failed, with the tail of its log.
  static absl::StatusOr<std::unique_ptr<PostgresTestServer>> Start();
  ~PostgresTestServer();
  PostgresTestServer(const PostgresTestServer&) = delete;
  PostgresTestServer& operator=(const PostgresTestServer&) = delete;

  int port() const { return port_; }
  // "host=127.0.0.1 port=<port> user=tds dbname=<dbname>"
  std::string Dsn(const std::string& dbname) const;

 private:
  PostgresTestServer() = default;
  // Runs bin_dir_/<program> with `args` (as the postgres user when root); output goes to
  // <dir>/<program>.log.
  absl::Status Run(const std::string& program, const std::vector<std::string>& args) const;
  void Stop();

  std::string bin_dir_;
  std::string dir_;
  int port_ = 0;
  bool running_ = false;
  bool as_postgres_ = false;
  unsigned run_uid_ = 0;
  unsigned run_gid_ = 0;
};

}  // namespace tds::node::testing
