// The Google Compute Engine personality (docs/clouds/gcp.md). The scenario's
// "computeMetadata"/"v1" member is the /computeMetadata/v1/ tree with its path
// (kebab-case) names; recursive=true answers convert them to camelCase, except the keys
// under `attributes`, which are the user's own. Service-account tokens and identity
// tokens are made on request; wait_for_change blocks on the scenario store.
#pragma once

#include "emulator/personality.h"

namespace mdfs::emu {

class GcpPersonality final : public Personality {
 public:
  explicit GcpPersonality(const PersonalityContext& context);
  [[nodiscard]] HttpResponse serve(const HttpRequest& request) const override;
  [[nodiscard]] HttpResponse error(int status, std::string message) const override;
  void decorate(HttpResponse& response) const override;

 private:
  struct Rendered;
  [[nodiscard]] Rendered render(const HttpRequest& request) const;
  [[nodiscard]] HttpResponse waitForChange(const HttpRequest& request, Rendered first) const;
  [[nodiscard]] HttpResponse accountToken(const HttpRequest& request, const std::string& account,
                                          bool identity) const;

  PersonalityContext context_;
  std::string signing_key_;
};

}  // namespace mdfs::emu
