// <mount>/.metrics: the same facts as .status in Prometheus text exposition format
// (version 0.0.4), for node_exporter's textfile collector or any scraper: request and
// failure counters by endpoint and kind, stale serves, a fetch-duration histogram, token
// expiry timestamps, and `metadatafs_healthy` as a gauge.
#pragma once

#include <string>

#include "common/clock.h"
#include "files/health_report.h"
#include "mount/filesystem.h"

namespace mdfs::files {

class MetricsFile {
 public:
  MetricsFile(Sources sources, const Clock& clock);

  // The dynamic file to register at ".metrics" (0444, hidden from listings).
  [[nodiscard]] mount::DynamicFile file() const;
  [[nodiscard]] std::string render() const;

 private:
  Sources sources_;
  const Clock& clock_;
  WallTime started_wall_;
};

// A label value as the exposition format writes it: backslash, double quote and newline
// escaped.
std::string escapeLabel(std::string_view value);

}  // namespace mdfs::files
