#include "cli/signal_thread.h"

#include <pthread.h>

#include <string>

namespace mdfs::cli {
namespace {

// SIGUSR2 is internal: it only wakes the thread so that it can stop.
sigset_t handledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR2);
  return set;
}

}  // namespace

SignalThread::SignalThread(std::function<void()> on_hup, std::function<void()> on_stop,
                           const Logger& log)
    : on_hup_(std::move(on_hup)), on_stop_(std::move(on_stop)), log_(log) {}

SignalThread::~SignalThread() {
  stop();
}

void SignalThread::blockHandledSignals() {
  sigset_t set = handledSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void SignalThread::start() {
  thread_ = std::thread([this] { run(); });
}

void SignalThread::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  pthread_kill(thread_.native_handle(), SIGUSR2);
  thread_.join();
}

void SignalThread::run() {
  sigset_t set = handledSignals();
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (stopping_) return;
    if (sig == SIGUSR2) continue;
    if (sig == SIGHUP) {
      log_.info("SIGHUP: dropping every cached snapshot");
      on_hup_();
      continue;
    }
    log_.info(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", unmounting");
    on_stop_();
  }
}

}  // namespace mdfs::cli
