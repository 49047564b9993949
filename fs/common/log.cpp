#include "common/log.h"

#include <syslog.h>
#include <unistd.h>

#include <cstdio>
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

std::string Error::describe() const {
  std::string out = message;
  if (http_status != 0) out += " (HTTP " + std::to_string(http_status);
  if (!code.empty()) out += (http_status != 0 ? ", code " : " (code ") + code;
  if (!trace.empty()) out += (http_status != 0 || !code.empty() ? ", trace " : " (trace ") + trace;
  if (http_status != 0 || !code.empty() || !trace.empty()) out += ")";
  return out;
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

Logger::Sink Logger::stderrSink() {
  return [](LogLevel level, std::string_view message) {
    // One write per line so concurrent threads never interleave within a line.
    std::string line = "metadatafs[" + std::to_string(getpid()) + "]: " + levelName(level) + ": " +
                       std::string(message) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

Logger::Sink Logger::syslogSink(const char* ident) {
  openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
  return [](LogLevel level, std::string_view message) {
    int priority = LOG_DEBUG;
    switch (level) {
      case LogLevel::error:
        priority = LOG_ERR;
        break;
      case LogLevel::warning:
        priority = LOG_WARNING;
        break;
      case LogLevel::info:
        priority = LOG_INFO;
        break;
      case LogLevel::debug:
        priority = LOG_DEBUG;
        break;
    }
    std::string text(message);
    syslog(priority, "%s", text.c_str());
  };
}

Logger::Sink Logger::nullSink() {
  return [](LogLevel, std::string_view) {};
}

}  // namespace mdfs
