// metadatafs: mounts the IBM Cloud VPC instance metadata service as a directory tree.
#include <cstdio>
#include <cstring>
#include <exception>

#include "cli/daemon.h"
#include "cli/options.h"
#include "cli/watch_command.h"

namespace {

// metadatafs [SOURCE] MOUNTPOINT [-f] [-d] [-o OPTIONS]: exit status 2 for a refused
// command line or config file, 1 when mounting or serving fails.
int mountCommand(int argc, char** argv) {
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
}

}  // namespace

int main(int argc, char** argv) {
  try {
    // Subcommands (a first argument naming one) are dispatched here; mounting is the
    // command when none is named, as mount(8) and fstab expect (mount at ./watch as
    // `metadatafs ./watch`).
    if (argc > 1 && std::strcmp(argv[1], "watch") == 0) {
      return mdfs::cli::watchCommand(argc - 1, argv + 1);
    }
    return mountCommand(argc, argv);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "metadatafs: fatal: %s\n", ex.what());
    return 1;
  }
}
