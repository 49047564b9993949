// Waits for SIGTERM, SIGINT and SIGHUP on its own thread, so that their handling runs as
// ordinary code rather than in signal context. The signals must be blocked in every other
// thread (blockHandledSignals() before any thread starts).
#pragma once

#include <atomic>
#include <csignal>
#include <functional>
#include <thread>

#include "common/log.h"

namespace mdfs::cli {

class SignalThread {
 public:
  // `on_hup` runs for SIGHUP; `on_stop` for SIGTERM and SIGINT.
  SignalThread(std::function<void()> on_hup, std::function<void()> on_stop, const Logger& log);
  ~SignalThread();
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

  // Blocks the handled signals in the calling thread, and so in every thread it starts
  // from then on; ignores SIGPIPE.
  static void blockHandledSignals();

  void start();
  void stop();

 private:
  void run();

  std::function<void()> on_hup_;
  std::function<void()> on_stop_;
  const Logger& log_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace mdfs::cli
