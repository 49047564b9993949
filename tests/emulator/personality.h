// A personality is one cloud's metadata service: its URL space, headers, tokens and error
// shapes. The emulator keeps what every cloud shares (scenario store, counters, faults,
// the service switch, the control API) and hands each API request to the personality of
// the cloud it was started as.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/cloud.h"
#include "emulator/http_server.h"

namespace mdfs::emu {

class ScenarioStore;
class TokenTable;
struct TokenSettings;

// The daemon's own list of clouds and their names.
using mdfs::Cloud;
using mdfs::cloudName;
using mdfs::parseCloud;

// Switches tests flip while requests are served, whatever the cloud.
struct CloudSwitches {
  std::atomic<bool> keys_paginated{false};  // IBM: /metadata/v1/keys with pagination fields
  std::atomic<bool> aws_imdsv1{false};      // AWS: tokenless GETs allowed (IMDSv1)
  // IBM: the newest API version the service knows (YYYYMMDD); later ones get 400, as from
  // a service release that lags behind the API. 0 = any.
  std::atomic<int> ibm_newest_version{0};
};

// What a personality may use. Everything outlives it.
struct PersonalityContext {
  const Clock& clock;
  ScenarioStore& store;
  TokenTable& tokens;
  TokenSettings& token_settings;
  CloudSwitches& switches;
};

class Personality {
 public:
  virtual ~Personality() = default;
  // An API request (never a control route). Counters and faults were applied before.
  [[nodiscard]] virtual HttpResponse serve(const HttpRequest& request) const = 0;
  // The cloud's own error answer with `status`, e.g. for an injected status fault.
  [[nodiscard]] virtual HttpResponse error(int status, std::string message) const = 0;
  // Headers the real service puts on every answer, faults included (GCE's
  // Metadata-Flavor). The `impostor` fault leaves them off.
  virtual void decorate(HttpResponse& response) const { (void)response; }
};

std::unique_ptr<Personality> makePersonality(Cloud cloud, const PersonalityContext& context);

}  // namespace mdfs::emu
