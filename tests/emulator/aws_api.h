// The AWS EC2 personality: IMDSv2 (docs/clouds/aws.md). The scenario's "latest" member is
// the /latest/ tree: objects are directories listed as text ("name/" for subdirectories),
// strings and numbers are leaves, the few JSON documents IMDS serves (IAM credentials,
// the identity document, events) are objects served whole, and `public-keys` is an array
// listed as "0=name".
#pragma once

#include "emulator/personality.h"

namespace mdfs::emu {

class AwsPersonality final : public Personality {
 public:
  explicit AwsPersonality(const PersonalityContext& context) : context_(context) {}
  [[nodiscard]] HttpResponse serve(const HttpRequest& request) const override;
  [[nodiscard]] HttpResponse error(int status, std::string message) const override;
  void decorate(HttpResponse& response) const override;

 private:
  [[nodiscard]] HttpResponse createToken(const HttpRequest& request) const;
  [[nodiscard]] HttpResponse get(const HttpRequest& request) const;

  PersonalityContext context_;
};

}  // namespace mdfs::emu
