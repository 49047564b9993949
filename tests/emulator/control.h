// Test controls: injected faults, request counters, and the HTTP control API under
// /_emulator/ that exposes every in-process control of Emulator to other processes.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "emulator/emulator.h"
#include "emulator/http_server.h"
#include "emulator/personality.h"

namespace mdfs::emu {

class FaultSet {
 public:
  struct Match {
    Millis latency{0};           // the sum of every matching latency fault
    std::optional<Fault> fault;  // the first matching fault of another kind
  };

  void add(const Fault& fault);
  void clear();  // and releases hung requests
  [[nodiscard]] std::vector<Fault> list() const;
  // The faults that apply to one request; counts go down, spent faults go away.
  Match take(std::string_view method, std::string_view path);

  bool sleep(Millis duration);  // false when shut down meanwhile
  void hang();                  // until clear(), releaseWaiters() or shutdown()
  // Waits `duration`; false when, before or meanwhile, the faults were cleared (or waiters
  // released) since `generation()` was read, or the set was shut down.
  bool sleepUnlessCleared(Millis duration, std::uint64_t generation);
  [[nodiscard]] std::uint64_t generation() const;
  void releaseWaiters();
  void shutdown();  // for good: every wait returns at once

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Fault> faults_;
  std::uint64_t generation_ = 0;  // bumped to release hung requests
  bool shutdown_ = false;
};

class RequestCounters {
 public:
  void count(std::string_view method, std::string_view path);
  [[nodiscard]] std::uint64_t get(std::string_view method, std::string_view path) const;
  [[nodiscard]] std::uint64_t total() const;
  [[nodiscard]] std::map<std::string, std::uint64_t> snapshot() const;
  void reset();

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t, std::less<>> counts_;
  std::uint64_t total_ = 0;
};

// The answer to a request that a fault replaces entirely (latency, truncate and impostor
// never do); status faults answer in the personality's error shape.
std::optional<HttpResponse> faultResponse(const Fault& fault, FaultSet& faults,
                                          const Personality& personality);

// JSON forms of a fault, shared by the control API and the command line.
Result<Fault> faultFromJson(std::string_view text);
std::string faultToJson(const Fault& fault);

// Routes under /_emulator/, served on the API port and on the control port.
class ControlApi {
 public:
  explicit ControlApi(Emulator& emulator) : emu_(emulator) {}
  [[nodiscard]] HttpResponse handle(const HttpRequest& request) const;

 private:
  Emulator& emu_;
};

constexpr std::string_view kControlPrefix = "/_emulator";

}  // namespace mdfs::emu
