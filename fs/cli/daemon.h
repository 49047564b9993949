// The composition root: builds the layers from a Config, mounts, detaches, serves until
// SIGTERM/SIGINT or an unmount, and handles SIGHUP. All objects live in run()'s scope.
#pragma once

#include "cli/options.h"

namespace mdfs::cli {

// Returns the process exit status.
int runDaemon(const Config& config);

// When `mountpoint` is a dead FUSE mount ("Transport endpoint is not connected"), the
// message telling how to clean it up; otherwise an empty string.
std::string staleMountAdvice(const std::string& mountpoint);

}  // namespace mdfs::cli
