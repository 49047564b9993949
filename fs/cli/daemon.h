// The composition root: one metadatafs process. A Daemon builds the layers from a Config
// (no thread, no request, nothing mounted), then
//   mount()   checks the host and the mountpoint and mounts (as the mounting user)
//   detach()  without -f, goes to the background and logs to syslog from then on
//   serve()   starts the threads and serves until SIGTERM/SIGINT, stop() or an unmount
// Its members are declared in the order they are built, so they are destroyed in the
// reverse order: what uses another object goes before it. The threads serve() starts
// live in one member of their own, stopped (in reverse start order) before the unmount.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "cache/resource_cache.h"
#include "cli/options.h"
#include "common/clock.h"
#include "common/log.h"
#include "files/identity_files.h"
#include "files/metrics_file.h"
#include "files/status_file.h"
#include "files/well_known.h"
#include "mount/filesystem.h"
#include "mount/fuse_session.h"
#include "mount/inode_table.h"
#include "service/api.h"
#include "service/aws.h"
#include "service/azure.h"
#include "service/cloud.h"
#include "service/cloud_detect.h"
#include "service/gcp.h"
#include "service/health.h"
#include "service/http_transport.h"
#include "service/metadata_client.h"
#include "service/token_source.h"
#include "tree/catalog.h"

namespace mdfs::cli {

class Daemon {
 public:
  explicit Daemon(Config config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  Status mount();
  Status detach();
  Status serve();
  // Asks serve() to return, as SIGTERM does; safe from any thread.
  void stop();

  [[nodiscard]] const Logger& log() const { return log_; }

 private:
  struct Threads;

  void addIdentityFiles();
  void addCloudFiles();
  [[nodiscard]] service::CloudClient& cloudClient();
  [[nodiscard]] std::unique_ptr<service::CloudClient> makeCloudClient();
  [[nodiscard]] bool ibm() const { return detected_.cloud == service::Cloud::ibm; }
  [[nodiscard]] files::Sources observed() const;

  Config config_;  // its mountpoint with symbolic links resolved, once mount() succeeded
  service::Detected detected_;  // the cloud, and why; endpoint= defaults to its service
  SystemClock clock_;
  Logger log_;
  service::ApiConfig api_;
  service::HttpTransport http_;
  service::ServiceHealth health_;
  service::TokenSource tokens_;
  service::MetadataClient client_;
  // Another cloud's service (with IBM, the two above serve).
  service::AwsConfig aws_;
  service::GcpConfig gcp_;
  service::AzureConfig azure_;
  std::unique_ptr<service::AwsTokenSource> aws_tokens_;
  std::unique_ptr<service::CloudClient> cloud_client_;
  tree::Catalog catalog_;
  cache::ResourceCache cache_;
  mount::InodeTable inodes_;
  mount::Filesystem fs_;
  std::unique_ptr<service::IamTokenSource> iam_;  // with trusted_profile only
  files::IdentityFiles identity_;
  files::StatusFile status_;
  files::MetricsFile metrics_;
  files::WellKnown well_known_;
  mount::FuseSession session_;
  std::unique_ptr<Threads> threads_;  // while serve() runs
};

// Runs a Daemon through its phases; returns the process exit status.
int runDaemon(const Config& config);

}  // namespace mdfs::cli
