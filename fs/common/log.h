// A Logger is created in main() and handed down by reference; there is no global logger.
// Sinks: standard error (foreground), syslog/journald (detached), or a capture function
// (tests). Callers pass only text that is safe to log: no token, Authorization header or
// user data ever reaches this class.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace mdfs {

const char* levelName(LogLevel level);

class Logger {
 public:
  using Sink = std::function<void(LogLevel, std::string_view)>;

  Logger(LogLevel threshold, Sink sink);

  [[nodiscard]] bool enabled(LogLevel level) const { return level <= threshold_; }
  [[nodiscard]] LogLevel threshold() const { return threshold_; }

  void log(LogLevel level, std::string_view message) const;
  void error(std::string_view message) const { log(LogLevel::error, message); }
  void warning(std::string_view message) const { log(LogLevel::warning, message); }
  void info(std::string_view message) const { log(LogLevel::info, message); }
  void debug(std::string_view message) const { log(LogLevel::debug, message); }
  // Logs an Error at its own level with its status, IBM code and trace id.
  void report(const Error& error, std::string_view context) const;

  // "metadatafs[pid]: warning: ..." on standard error.
  static Sink stderrSink();
  // syslog(3); journald picks it up. The identity string must outlive the sink.
  static Sink syslogSink(const char* ident);
  // Discards everything.
  static Sink nullSink();

 private:
  LogLevel threshold_;
  Sink sink_;
};

}  // namespace mdfs
