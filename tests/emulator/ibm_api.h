// The IBM Cloud VPC personality: the metadata API and the identity API behind the
// `version` rule (ref §3, §5.4), with IBM's error shape (ref §6).
#pragma once

#include "emulator/identity_api.h"
#include "emulator/metadata_api.h"
#include "emulator/personality.h"

namespace mdfs::emu {

class IbmPersonality final : public Personality {
 public:
  explicit IbmPersonality(const PersonalityContext& context);
  [[nodiscard]] HttpResponse serve(const HttpRequest& request) const override;
  [[nodiscard]] HttpResponse error(int status, std::string message) const override;

 private:
  PersonalityContext context_;
  IdentityApi identity_;
  MetadataApi metadata_;
};

}  // namespace mdfs::emu
