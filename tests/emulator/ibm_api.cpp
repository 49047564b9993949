#include "emulator/ibm_api.h"

#include <algorithm>
#include <array>

namespace mdfs::emu {
namespace {

// The identity routes and their version rule (ref §5.4).
struct IdentityRoute {
  std::string_view path;
  std::string_view method;
  bool legacy;  // /instance_identity/*: 404 from 2025-08-26 on
  bool token;   // the token PUT (else the IAM token POST)
};

constexpr std::array kIdentityRoutes = {
    IdentityRoute{"/instance_identity/v1/token", "PUT", true, true},
    IdentityRoute{"/instance_identity/v1/iam_token", "POST", true, false},
    IdentityRoute{"/identity/v1/token", "PUT", false, true},
    IdentityRoute{"/identity/v1/iam_tokens", "POST", false, false},
};

const IdentityRoute* findIdentityRoute(std::string_view path) {
  const auto* it = std::find_if(kIdentityRoutes.begin(), kIdentityRoutes.end(),
                                [&](const IdentityRoute& r) { return r.path == path; });
  return it == kIdentityRoutes.end() ? nullptr : it;
}

HttpResponse methodNotAllowed(const HttpRequest& request, std::string_view allowed) {
  ApiError e;
  e.status = 405;
  e.code = "method_not_allowed";
  e.message = "The method " + request.method + " is not supported on " + request.path + ".";
  e.headers.emplace_back("Allow", std::string(allowed));
  return errorResponse(e);
}

std::string errorCodeFor(int status) {
  if (status == 429) return "too_many_requests";
  if (status == 503) return "service_unavailable";
  if (status >= 500) return "service_error";
  if (status == 404) return "not_found";
  if (status == 403) return "unauthorized";
  if (status == 401) return "unauthenticated";
  return "invalid_request";
}

}  // namespace

IbmPersonality::IbmPersonality(const PersonalityContext& context)
    : context_(context),
      identity_(context.clock, context.store, context.tokens, context.token_settings),
      metadata_(context.store) {}

HttpResponse IbmPersonality::error(int status, std::string message) const {
  ApiError e;
  e.status = status;
  e.code = errorCodeFor(status);
  e.message = std::move(message);
  return errorResponse(e);
}

HttpResponse IbmPersonality::serve(const HttpRequest& request) const {
  const IdentityRoute* identity_route = findIdentityRoute(request.path);
  const auto metadata_route =
      identity_route == nullptr ? resolveMetadataPath(request.path) : std::nullopt;
  if (identity_route == nullptr && !metadata_route) {
    return errorResponse(notFound("The requested path was not found."));
  }
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (identity_route != nullptr ? request.method != identity_route->method : !get) {
    return methodNotAllowed(request, identity_route != nullptr ? identity_route->method : "GET");
  }
  const auto version = requestVersion(request);
  if (const auto* error = std::get_if<ApiError>(&version)) return errorResponse(*error);
  const ApiDate date = std::get<ApiDate>(version);
  if (const int newest = context_.switches.ibm_newest_version.load();
      newest != 0 && date > newest) {
    // [infer] The code and wording for a version the service does not know yet are
    // undocumented (ref §12.3); the range code of the documented lower bound is reused.
    return errorResponse(
        versionError("invalid_version_range",
                     "The `version` value cannot be after the newest version "
                     "this service supports.",
                     ApiTarget{*request.param("version"), "parameter", std::nullopt}));
  }

  if (identity_route != nullptr) {
    if (identity_route->legacy && date >= kIdentityPathBreak) {
      return errorResponse(notFound("The requested path is not available with version " +
                                    *request.param("version") + "; use /identity/v1/."));
    }
    if (identity_route->token) return identity_.createToken(request, identity_route->legacy);
  } else if (date < metadata_route->endpoint->since) {
    return errorResponse(notFound("The requested path is not available with version " +
                                  *request.param("version") + "."));
  }
  const auto token = bearerToken(request);
  if (!token || !context_.tokens.valid(*token, TokenKind::identity)) {
    return errorResponse(unauthenticated());
  }
  if (identity_route != nullptr) return identity_.createIamToken(request, identity_route->legacy);
  return metadata_.get(*metadata_route, request, context_.switches.keys_paginated.load());
}

}  // namespace mdfs::emu
