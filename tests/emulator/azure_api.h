// The Azure IMDS personality (docs/clouds/azure.md). The scenario's "metadata" member is
// the /metadata/ tree: "instance" is the instance document (route parameters walk into
// it), "scheduledevents" the scheduled-events document; "managed_identity" (outside the
// served tree) describes the VM's identity for /metadata/identity/oauth2/token.
#pragma once

#include "emulator/personality.h"

namespace mdfs::emu {

class AzurePersonality final : public Personality {
 public:
  explicit AzurePersonality(const PersonalityContext& context)
      : context_(context), signing_key_(randomKey()) {}
  [[nodiscard]] HttpResponse serve(const HttpRequest& request) const override;
  [[nodiscard]] HttpResponse error(int status, std::string message) const override;

 private:
  static std::string randomKey();
  [[nodiscard]] HttpResponse instance(const HttpRequest& request) const;
  [[nodiscard]] HttpResponse scheduledEvents(const HttpRequest& request) const;
  [[nodiscard]] HttpResponse identityToken(const HttpRequest& request) const;

  PersonalityContext context_;
  std::string signing_key_;
};

}  // namespace mdfs::emu
