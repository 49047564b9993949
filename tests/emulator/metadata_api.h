// The metadata API (ref §2.1, §4): GET-only views of the scenario, with the pagination of
// ref §4.12 on the collections that have it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "emulator/api.h"
#include "emulator/scenario.h"

namespace mdfs::emu {

struct MetadataEndpoint {
  enum class Shape { object, list, paged, keys };  // keys: list or paged, by a switch
  std::string_view path;                           // "/metadata/v1/placement_groups"
  std::string_view member;  // scenario member and collection key: "placement_groups"
  std::string_view noun;    // for "… not found." messages
  Shape shape;
  ApiDate since;
};

struct MetadataRoute {
  const MetadataEndpoint* endpoint;
  std::optional<std::string> id;  // set for …/{id}
};

// The endpoint a request path names, or nullopt when it names none.
std::optional<MetadataRoute> resolveMetadataPath(std::string_view path);

class MetadataApi {
 public:
  explicit MetadataApi(const ScenarioStore& store) : store_(store) {}
  [[nodiscard]] HttpResponse get(const MetadataRoute& route, const HttpRequest& request,
                                 bool keys_paginated) const;

 private:
  const ScenarioStore& store_;
};

}  // namespace mdfs::emu
