#include "emulator/personality.h"

#include "emulator/aws_api.h"
#include "emulator/azure_api.h"
#include "emulator/gcp_api.h"
#include "emulator/ibm_api.h"

namespace mdfs::emu {

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
