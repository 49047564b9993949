// metadatafs: mounts the IBM Cloud VPC instance metadata service as a directory tree.
#include <cstdio>
#include <exception>

#include "cli/daemon.h"
#include "cli/options.h"

int main(int argc, char** argv) {
  try {
    auto config = mdfs::cli::parseCommandLine(argc, argv);
    if (!config) {
      std::fprintf(stderr, "metadatafs: %s\n", config.error().message.c_str());
      return 2;
    }
    if (config->show_help) {
      std::fputs(mdfs::cli::helpText(argc > 0 ? argv[0] : "metadatafs").c_str(), stdout);
      return 0;
    }
    if (config->show_version) {
      std::fputs(mdfs::cli::versionText().c_str(), stdout);
      return 0;
    }
    return mdfs::cli::runDaemon(*config);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "metadatafs: fatal: %s\n", ex.what());
    return 1;
  }
}
