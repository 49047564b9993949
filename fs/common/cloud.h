// The clouds whose metadata services metadatafs speaks (DESIGN §7), and their names as
// options, logs and the emulator's --cloud spell them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mdfs {

enum class Cloud : std::uint8_t { ibm, aws, gcp, azure };

std::string_view cloudName(Cloud cloud);  // "ibm", "aws", "gcp", "azure"
std::optional<Cloud> parseCloud(std::string_view name);

}  // namespace mdfs
