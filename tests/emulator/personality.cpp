#include "emulator/personality.h"

#include "emulator/aws_api.h"
#include "emulator/azure_api.h"
#include "emulator/gcp_api.h"
#include "emulator/ibm_api.h"

namespace mdfs::emu {

std::string_view cloudName(Cloud cloud) {
  switch (cloud) {
    case Cloud::ibm:
      return "ibm";
    case Cloud::aws:
      return "aws";
    case Cloud::gcp:
      return "gcp";
    case Cloud::azure:
      return "azure";
  }
  return "ibm";
}

std::optional<Cloud> parseCloud(std::string_view name) {
  for (const Cloud c : {Cloud::ibm, Cloud::aws, Cloud::gcp, Cloud::azure}) {
    if (cloudName(c) == name) return c;
  }
  return std::nullopt;
}

std::unique_ptr<Personality> makePersonality(Cloud cloud, const PersonalityContext& context) {
  switch (cloud) {
    case Cloud::aws:
      return std::make_unique<AwsPersonality>(context);
    case Cloud::gcp:
      return std::make_unique<GcpPersonality>(context);
    case Cloud::azure:
      return std::make_unique<AzurePersonality>(context);
    case Cloud::ibm:
      break;
  }
  return std::make_unique<IbmPersonality>(context);
}

}  // namespace mdfs::emu
