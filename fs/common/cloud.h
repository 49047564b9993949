// The clouds whose metadata services metadatafs speaks (DESIGN §7).
#pragma once

#include <cstdint>

namespace mdfs {

enum class Cloud : std::uint8_t { ibm, aws, gcp, azure };

}  // namespace mdfs
