#include "emulator/metadata_api.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <charconv>
#include <cinttypes>
#include <cstdio>

namespace mdfs::emu {
namespace {

using rapidjson::Value;
using Shape = MetadataEndpoint::Shape;

// DESIGN §1's table; `since` from ref §2.1 (endpoints answer 404 to older versions).
constexpr std::array kEndpoints = {
    MetadataEndpoint{"/metadata/v1/instance", "instance", "Instance", Shape::object, 20220301},
    MetadataEndpoint{"/metadata/v1/instance/initialization", "initialization",
                     "Instance initialization", Shape::object, 20220301},
    MetadataEndpoint{"/metadata/v1/instance/network_interfaces", "network_interfaces",
                     "Network interface", Shape::list, 20220301},
    MetadataEndpoint{"/metadata/v1/instance/network_attachments", "network_attachments",
                     "Network attachment", Shape::list, 20231219},
    MetadataEndpoint{"/metadata/v1/instance/volume_attachments", "volume_attachments",
                     "Volume attachment", Shape::list, 20220301},
    MetadataEndpoint{"/metadata/v1/instance/cluster_network_attachments",
                     "cluster_network_attachments", "Cluster network attachment", Shape::paged,
                     20241112},
    MetadataEndpoint{"/metadata/v1/instance/software_attachments", "software_attachments",
                     "Software attachment", Shape::list, 20260623},
    MetadataEndpoint{"/metadata/v1/virtual_network_interfaces", "virtual_network_interfaces",
                     "Virtual network interface", Shape::paged, 20231219},
    MetadataEndpoint{"/metadata/v1/keys", "keys", "Key", Shape::keys, 20220301},
    MetadataEndpoint{"/metadata/v1/placement_groups", "placement_groups", "Placement group",
                     Shape::paged, 20220301},
};

constexpr int kDefaultLimit = 50;
constexpr int kMaxLimit = 100;
// Page tokens are offsets, disguised so clients treat them as the opaque values they are.
constexpr std::uint64_t kStartMask = 0x5DEECE66DA3B9F17ULL;

ApiError parameterError(std::string name, std::string message, std::string value) {
  ApiError e;
  e.code = "invalid_value";
  e.message = std::move(message);
  e.target = ApiTarget{std::move(name), "parameter", std::move(value)};
  return e;
}

std::string startToken(std::size_t offset) {
  std::array<char, 24> buf{};
  std::snprintf(buf.data(), buf.size(), "%016" PRIx64,
                static_cast<std::uint64_t>(offset) ^ kStartMask);
  return buf.data();
}

std::optional<std::size_t> parseStart(const std::string& token) {
  std::uint64_t v = 0;
  if (token.size() != 16) return std::nullopt;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v, 16);
  if (ec != std::errc() || end != token.data() + token.size()) return std::nullopt;
  return static_cast<std::size_t>(v ^ kStartMask);
}

struct Page {
  std::size_t offset = 0;
  int limit = kDefaultLimit;
};

ApiResult<Page> pageOf(const HttpRequest& request) {
  Page page;
  if (const std::string* limit = request.param("limit")) {
    int v = 0;
    const auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), v);
    if (ec != std::errc() || end != limit->data() + limit->size() || v < 1 || v > kMaxLimit) {
      return parameterError("limit", "The `limit` query parameter must be between 1 and 100.",
                            *limit);
    }
    page.limit = v;
  }
  if (const std::string* start = request.param("start")) {
    const auto offset = parseStart(*start);
    if (!offset) {
      return parameterError("start", "The `start` query parameter is not valid.", *start);
    }
    page.offset = *offset;
  }
  return page;
}

const Value* collection(const Value& doc, std::string_view member_name) {
  const Value* v = member(doc, member_name);
  return v != nullptr && v->IsArray() ? v : nullptr;
}

std::string listBody(const Value* items, std::string_view key) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.StartArray();
  if (items != nullptr) {
    for (const auto& item : items->GetArray())
      item.Accept(w);
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

void writeHref(rapidjson::Writer<rapidjson::StringBuffer>& w, const char* key,
               const std::string& href) {
  w.Key(key);
  w.StartObject();
  w.Key("href");
  w.String(href);
  w.EndObject();
}

ApiResult<std::string> pagedBody(const Value* items, const MetadataEndpoint& endpoint,
                                 const HttpRequest& request) {
  auto page = pageOf(request);
  if (const auto* error = std::get_if<ApiError>(&page)) return *error;
  const auto [offset, limit] = std::get<Page>(page);
  const std::size_t total = items != nullptr ? items->Size() : 0;
  if (offset > total) {
    return parameterError("start", "The `start` query parameter is not valid.",
                          *request.param("start"));
  }
  const std::size_t end = std::min(total, offset + static_cast<std::size_t>(limit));
  // Like the real service, hrefs carry no `version`: clients take `start` from them.
  const std::string base =
      request.origin() + std::string(endpoint.path) + "?limit=" + std::to_string(limit);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  writeHref(w, "first", base);
  w.Key("limit");
  w.Int(limit);
  if (end < total) writeHref(w, "next", base + "&start=" + startToken(end));
  w.Key(endpoint.member.data(), static_cast<rapidjson::SizeType>(endpoint.member.size()));
  w.StartArray();
  for (std::size_t i = offset; i < end; ++i)
    (*items)[static_cast<rapidjson::SizeType>(i)].Accept(w);
  w.EndArray();
  w.Key("total_count");
  w.Uint64(total);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

ApiResult<std::string> itemBody(const Value* items, const MetadataEndpoint& endpoint,
                                const std::string& id) {
  if (items != nullptr) {
    for (const auto& item : items->GetArray()) {
      const Value* item_id = member(item, "id");
      if (item_id != nullptr && item_id->IsString() && id == item_id->GetString()) {
        return toJson(item);
      }
    }
  }
  ApiError e = notFound(std::string(endpoint.noun) + " not found.");
  e.target = ApiTarget{"id", "parameter", id};
  return e;
}

}  // namespace

std::optional<MetadataRoute> resolveMetadataPath(std::string_view path) {
  for (const auto& endpoint : kEndpoints) {
    if (path == endpoint.path) return MetadataRoute{&endpoint, std::nullopt};
    if (endpoint.shape == Shape::object || !path.starts_with(endpoint.path)) continue;
    const std::string_view rest = path.substr(endpoint.path.size());
    if (rest.size() > 1 && rest[0] == '/' && rest.find('/', 1) == std::string_view::npos) {
      return MetadataRoute{&endpoint, std::string(rest.substr(1))};
    }
  }
  return std::nullopt;
}

HttpResponse MetadataApi::get(const MetadataRoute& route, const HttpRequest& request,
                              bool keys_paginated) const {
  const MetadataEndpoint& endpoint = *route.endpoint;
  auto body = store_.read([&](const Value& doc) -> ApiResult<std::string> {
    if (endpoint.shape == Shape::object) {
      const Value* object = member(doc, endpoint.member);
      if (object == nullptr) return notFound(std::string(endpoint.noun) + " not found.");
      return toJson(*object);
    }
    const Value* items = collection(doc, endpoint.member);
    if (route.id) return itemBody(items, endpoint, *route.id);
    const bool paged =
        endpoint.shape == Shape::paged || (endpoint.shape == Shape::keys && keys_paginated);
    if (paged) return pagedBody(items, endpoint, request);
    return listBody(items, endpoint.member);
  });
  if (const auto* error = std::get_if<ApiError>(&body)) return errorResponse(*error);
  return jsonResponse(200, std::move(std::get<std::string>(body)));
}

}  // namespace mdfs::emu
