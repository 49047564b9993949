// The instance metadata service emulator: a local stand-in for the real service that
// every test, benchmark and the demo run against. It speaks IBM Cloud VPC by default and
// AWS EC2 (IMDSv2), Google Compute Engine or Azure IMDS as another personality
// (personality.h); the controls below work the same for every cloud. Tests link it in-process
// and drive it through this class; the standalone program build/metadata-emulator wraps
// the same class and exposes the controls over HTTP under /_emulator/.
//
// Fidelity rules come from ../shared/reference/ibm-metadata-api.md (cited as "ref §N").
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "emulator/personality.h"

namespace mdfs::emu {

struct Options {
  std::string bind_address = "127.0.0.1";
  int port = 0;              // 0 picks a free port
  Cloud cloud = Cloud::ibm;  // which service to be
  // A shipped scenario name, or a path to a JSON file. "default" means the cloud's own
  // default scenario (default.json for IBM, aws.json, gcp.json, azure.json).
  std::string scenario = "default";
  bool https = false;            // serve TLS only (ref §7 secure access)
  std::string tls_dir;           // where ca.pem/cert/key are written; empty = new temp dir
  const Clock* clock = nullptr;  // token iat/exp/expiry; nullptr = the system clock
  int control_port = -1;         // separate plain-HTTP control listener; -1 = none
  int keep_alive_timeout_s = 5;  // idle keep-alive connections are closed after this
};

// One injected misbehaviour. Matching requests: `method` ("" = any) and `path`: an exact
// request path ("/metadata/v1/keys"), a prefix ending in '*' ("/metadata/v1/*"), or "*"
// for every API route. Control routes (/_emulator/...) are never faulted.
struct Fault {
  enum class Kind {
    latency,    // delay the answer by `latency`, then answer normally
    status,     // answer `status` with an IBM error body; 429/503 carry Retry-After when set
    reset,      // read the request, then reset the TCP connection (RST, no response)
    hang,       // read the request and never answer (until the fault is cleared or stop())
    truncate,   // send headers with the full Content-Length, then half the body, then close
    malformed,  // 200 with a body that is not JSON
    oversized,  // 200 with a valid JSON body of `oversized_bytes`
    impostor,   // the normal answer without the headers only the real service sends
                // (GCE's Metadata-Flavor: Google): something else answered
    overlong,   // the normal answer with a Content-Length twice its size: the whole body,
                // then silence until the fault is cleared or stop(), then close
    endless,    // the normal answer chunked: half the body, then a space every `latency`
                // (200 ms when 0) and never the last chunk, until cleared or stop()
    trickle,    // the normal answer, one byte every `latency` (1 s when 0)
    redirect,   // `status` (302 unless a 3xx is set) with Location: `location`
    body,       // 200 with `body` as it is (any bytes): a service answering nonsense
                // of the caller's choosing (token answers, looping pages)
  };
  Kind kind = Kind::status;
  std::string method;
  std::string path = "*";
  Millis latency{0};
  int status = 500;
  int retry_after_s = -1;  // >= 0 adds "Retry-After: N"
  std::size_t oversized_bytes = std::size_t{8} << 20;
  std::string location = "http://192.0.2.1/metadata/v1/instance";  // redirect
  std::string body;                                                // body
  int count = -1;  // apply to the next `count` matching requests only; -1 = until cleared
};

class Emulator {
 public:
  explicit Emulator(Options options);
  ~Emulator();  // stops the server
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Loads the scenario and starts serving. Fails with a message naming the problem.
  Status start();
  void stop();

  // "http://127.0.0.1:PORT", or "https://127.0.0.1:PORT" with https.
  [[nodiscard]] std::string url() const;
  [[nodiscard]] int port() const;
  // PEM of the CA that signed the server certificate (https only; "" otherwise).
  [[nodiscard]] std::string caCertPath() const;
  // "http://127.0.0.1:PORT" of the separate control listener; "" without one.
  [[nodiscard]] std::string controlUrl() const;

  // Counters of API requests by method and request path without the query string
  // ("GET", "/metadata/v1/placement_groups" counts every page). Control routes excluded.
  // A long poll (GCE's wait_for_change=true) counts under its path with
  // "?wait_for_change" appended, so refetches and long polls are told apart.
  [[nodiscard]] std::uint64_t requests(std::string_view method, std::string_view path) const;
  [[nodiscard]] std::uint64_t totalRequests() const;
  // Every counter, keyed "METHOD /path".
  [[nodiscard]] std::map<std::string, std::uint64_t> requestCounts() const;
  // TCP connections accepted on the API port since start (or the last reset).
  [[nodiscard]] std::uint64_t connectionsAccepted() const;
  void resetCounters();

  // Tokens.
  // Every identity, IAM and AWS session token issued so far becomes invalid.
  void expireAllTokens();
  // Caps the lifetime of identity tokens and AWS session tokens (expires_in or the TTL
  // granted is reduced to the cap; 0 = no cap) and sets the lifetime of IAM tokens and
  // Azure managed-identity tokens (default 3600 s). Lets tests cross several token
  // lifetimes quickly.
  void setTokenLifetimes(Seconds identity_cap, Seconds iam_lifetime);
  // True when `token` is an unexpired IAM token this emulator issued (the IAM-protected
  // check; also served as GET /_emulator/iam/check with a Bearer token).
  [[nodiscard]] bool iamTokenValid(std::string_view token) const;

  // Scenario data, addressed by JSON Pointer (RFC 6901) into the scenario document,
  // e.g. "/instance/name" or "/keys/0/name". Values are JSON text.
  Status setData(std::string_view pointer, std::string_view json_value);  // replace or create
  Status addData(std::string_view pointer,
                 std::string_view json_value);  // append to the array at pointer
  Status deleteData(std::string_view pointer);
  [[nodiscard]] std::string scenarioJson() const;  // the current document, serialized
  [[nodiscard]] Result<std::string> data(std::string_view pointer) const;  // JSON text

  // Faults.
  void addFault(const Fault& fault);
  void clearFaults();  // also releases requests held by `hang` (their connections close)
  [[nodiscard]] std::vector<Fault> faults() const;  // active ones, with remaining counts
  // Disabled: the API port refuses connections and open connections are reset, as a
  // real instance with the metadata service disabled gives no HTTP answer at all.
  void setServiceEnabled(bool enabled);
  // Disabled now, enabled again by itself after `duration`.
  void disableServiceFor(Millis duration);
  [[nodiscard]] bool serviceEnabled() const;

  // Behaviour switches.
  [[nodiscard]] Cloud cloud() const;
  // AWS: answer GETs without a session token (IMDSv1). Default false: IMDSv2 only, a
  // tokenless GET is 401.
  void setAwsImdsV1Allowed(bool allowed);
  [[nodiscard]] bool awsImdsV1Allowed() const;
  void setKeysPaginated(bool paginated);  // default false: {"keys":[...]} in one answer
  // IBM: versions after `date` (YYYY-MM-DD) get 400 invalid_version_range; "" = none.
  Status setNewestVersion(std::string_view date);
  void setLegacyTokenStatus(int status);  // default 200 on /instance_identity/v1/token
  // IBM: identity token answers say `expires_in` is this JSON text ("0", "-5",
  // "99999999999999999999") while the token stays valid for the lifetime it was given;
  // "" = the truth (the default).
  void setReportedTokenExpiresIn(std::string json_number);
  [[nodiscard]] bool keysPaginated() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Directory holding the shipped scenario files (default.json, large.json).
std::string scenarioDirectory();

}  // namespace mdfs::emu
