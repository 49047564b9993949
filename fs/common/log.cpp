#include "common/log.h"

#include <syslog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace mdfs {

const char* levelName(LogLevel level) {
  switch (level) {
    case LogLevel::error:
      return "error";
    case LogLevel::warning:
      return "warning";
    case LogLevel::info:
      return "info";
    case LogLevel::debug:
      return "debug";
  }
  return "?";
}

Logger::Logger(LogLevel threshold, Sink sink) : threshold_(threshold), sink_(std::move(sink)) {}

void Logger::log(LogLevel level, std::string_view message) const {
  if (enabled(level) && sink_) sink_(level, message);
}

void Logger::report(const Error& error, std::string_view context) const {
  if (!enabled(error.level)) return;
  std::string line(context);
  if (!line.empty()) line += ": ";
  line += error.describe();
  log(error.level, line);
}

namespace {

// syslog(3) priorities, also understood as "<N>" line prefixes by journald.
int syslogPriority(LogLevel level) {
  switch (level) {
    case LogLevel::error:
      return LOG_ERR;
    case LogLevel::warning:
      return LOG_WARNING;
    case LogLevel::info:
      return LOG_INFO;
    case LogLevel::debug:
      return LOG_DEBUG;
  }
  return LOG_DEBUG;
}

}  // namespace

Logger::Sink Logger::stderrSink() {
  // Under systemd, standard error is the journal: a "<N>" prefix keeps each line's level.
  bool journal = std::getenv("JOURNAL_STREAM") != nullptr;  // NOLINT(concurrency-mt-unsafe)
  return [journal](LogLevel level, std::string_view message) {
    std::string line = journal ? "<" + std::to_string(syslogPriority(level)) + ">" : "";
    line += "metadatafs[" + std::to_string(getpid()) + "]: " + levelName(level) + ": " +
            std::string(message) + "\n";
    // One write per line so concurrent threads never interleave within a line.
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

Logger::Sink Logger::syslogSink(const char* ident) {
  openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
  return [](LogLevel level, std::string_view message) {
    std::string text(message);
    syslog(syslogPriority(level), "%s", text.c_str());
  };
}

Logger::Sink Logger::nullSink() {
  return [](LogLevel, std::string_view) {};
}

}  // namespace mdfs
