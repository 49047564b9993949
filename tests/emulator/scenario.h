// The scenario: one JSON document holding everything the emulated instance serves
// (see the Scenarios section of tests/emulator/README.md for the format). Tests edit it through
// JSON Pointers while the server reads it from many threads.
#pragma once

#include <rapidjson/document.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "common/error.h"

namespace mdfs::emu {

class ScenarioStore {
 public:
  // A shipped scenario by name ("default", "large": `directory`/NAME.json) or a JSON file
  // by path. Expands "extends" and "generate"; the stored document has neither.
  Status load(const std::string& name_or_path, const std::string& directory);

  // Runs `fn(const rapidjson::Value& document)` under a shared lock.
  template <class Fn>
  auto read(Fn&& fn) const {
    std::shared_lock lock(mu_);
    return fn(static_cast<const rapidjson::Value&>(doc_));
  }

  Status set(std::string_view pointer, std::string_view json_value);  // replace or create
  Status add(std::string_view pointer, std::string_view json_value);  // append to an array
  Status remove(std::string_view pointer);
  [[nodiscard]] Result<std::string> get(std::string_view pointer) const;
  [[nodiscard]] std::string serialize() const;

  // Every change bumps the version; read it inside read() to pair it with what was read.
  [[nodiscard]] std::uint64_t version() const { return version_.load(); }
  // Blocks until the version differs from `seen` or `deadline` passes; false when the
  // waiters were released (the service went away) and the caller should answer now.
  bool waitForChange(std::uint64_t seen, std::chrono::steady_clock::time_point deadline) const;
  void releaseWaiters();  // wakes every waiter once
  void shutdown();        // for good: every wait returns at once

 private:
  void changed();  // after a change, with mu_ released

  mutable std::shared_mutex mu_;
  rapidjson::Document doc_{rapidjson::kObjectType};
  std::atomic<std::uint64_t> version_{0};
  mutable std::mutex wait_mu_;
  mutable std::condition_variable wait_cv_;
  std::uint64_t release_generation_ = 0;
  bool shutdown_ = false;
};

// Compact JSON text of a value.
std::string toJson(const rapidjson::Value& value);

// Member `name` of `object` when `object` is an object and has it, else null.
const rapidjson::Value* member(const rapidjson::Value& object, std::string_view name);
// String member or "" (also for non-strings).
std::string stringAt(const rapidjson::Value& root, const char* pointer);

}  // namespace mdfs::emu
