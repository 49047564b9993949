// metadata-emulator: the instance metadata service emulator as a program (IBM Cloud VPC by
// default; AWS, Google Compute Engine or Azure with --cloud).
// Prints "listening on <URL>" first, serves until SIGTERM or SIGINT, then exits 0.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "emulator/emulator.h"

namespace {

constexpr const char* kUsage = R"(Usage: metadata-emulator [OPTION]...
Serves the IBM Cloud VPC instance metadata service (metadata API and identity API) for
tests and demos, or with --cloud the instance metadata service of AWS EC2 (IMDSv2),
Google Compute Engine or Azure. The first line on standard output is "listening on <URL>".

Options:
  --cloud ibm|aws|gcp|azure which service to be (default ibm)
  --port N                  API port (default 0: any free port)
  --bind ADDR               address to listen on (default 127.0.0.1)
  --scenario NAME|FILE      shipped scenario or a scenario JSON file (default: the
                            cloud's own: default for IBM, aws, gcp, azure; also large,
                            aws-private, gcp-private, azure-private)
  --https                   serve the API over TLS only, with a certificate for
                            api.metadata.cloud.ibm.com, localhost, 127.0.0.1 and ::1 signed
                            by a private CA; prints "ca certificate: <path>"
  --tls-dir DIR             where ca.pem, ca-key.pem, server.pem, server-key.pem go; an
                            existing CA there is reused (default: a temporary directory,
                            removed on exit)
  --control-port N          also serve the control API on a plain-HTTP port of its own
                            (0: any free port), which stays up while the service is
                            disabled; prints "control on <URL>"
  --keep-alive-timeout S    close idle keep-alive connections after S seconds (default 5)
  --aws-imdsv1              AWS: also answer GETs without a session token (IMDSv1)
  --keys-paginated          answer /metadata/v1/keys with pagination fields
  --legacy-token-status N   status of PUT /instance_identity/v1/token (default 200)
  --identity-token-cap S    cap IBM identity token and AWS session token lifetimes at S
                            seconds (default: no cap)
  --iam-token-lifetime S    lifetime of IBM IAM tokens and Azure managed-identity tokens
                            (default 3600)
  --help                    show this help

AWS (--cloud aws): PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds: 1..21600),
  then GET /latest/meta-data/…, /latest/user-data, /latest/dynamic/… with
  X-aws-ec2-metadata-token. GCE (--cloud gcp): GET /computeMetadata/v1/… with
  Metadata-Flavor: Google (recursive, alt, wait_for_change, last_etag, timeout_sec).
  Azure (--cloud azure): GET /metadata/instance…, /metadata/scheduledevents,
  /metadata/identity/oauth2/token, /metadata/versions with Metadata: true and
  api-version. The scenario document mirrors the URL space: its JSON pointers are paths.

IBM API (every route needs ?version=YYYY-MM-DD, 2022-03-01 or later):
  PUT  /identity/v1/token               (201; legacy /instance_identity/v1/token: 200,
                                         404 from version 2025-08-26)
  POST /identity/v1/iam_tokens          (201; legacy /instance_identity/v1/iam_token)
  GET  /metadata/v1/instance, /instance/initialization, /instance/network_interfaces,
       /instance/network_attachments, /instance/volume_attachments,
       /instance/cluster_network_attachments, /instance/software_attachments,
       /virtual_network_interfaces, /keys, /placement_groups   (and …/{id})

Control API (JSON in and out; on the API port and on --control-port):
  GET  /_emulator/                      list of control routes
  GET  /_emulator/counters              {"total","connections","requests":{"GET /path":n}}
  POST /_emulator/counters/reset        zero the request and connection counters
  GET  /_emulator/connections           {"accepted": n}: TCP connections on the API port
  POST /_emulator/tokens/expire         every identity and IAM token issued becomes invalid
  PUT  /_emulator/tokens/lifetimes      {"identity_cap_s": 0, "iam_lifetime_s": 3600}
  GET  /_emulator/iam/check             Authorization: Bearer <IAM token> -> 200 or 401
  GET  /_emulator/scenario              the current scenario document
  GET  /_emulator/data?pointer=P        the value at JSON pointer P
  PUT  /_emulator/data?pointer=P        body: a JSON value; set (replace or create)
  POST /_emulator/data?pointer=P        body: a JSON value; append to the array at P
  DELETE /_emulator/data?pointer=P      delete the value at P
                                        (instead of ?pointer=: {"pointer": P, "value": V})
  GET  /_emulator/faults                active faults
  POST /_emulator/faults                add one: {"kind": "latency|status|reset|hang|
                                        truncate|malformed|oversized|impostor|
                                        overlong|endless|trickle|redirect|body",
                                        "method": "GET",
                                        "path": "/metadata/v1/keys" | "/metadata/*" | "*",
                                        "latency_ms", "status", "retry_after_s",
                                        "oversized_bytes", "location", "body",
                                        "count": N (next N requests)}
  DELETE /_emulator/faults              clear all faults (releases hung requests)
  GET  /_emulator/service               {"enabled": true|false}
  PUT  /_emulator/service               {"enabled": false, "duration_ms"?: N}: disabled =
                                        connections refused, open ones reset
  GET|PUT /_emulator/keys_pagination    {"paginated": true|false}
  PUT  /_emulator/legacy_token_status   {"status": 200..299}
  PUT  /_emulator/token_expires_in      {"expires_in": "0"}: what token answers claim
  GET  /_emulator/cloud                 {"cloud": "ibm|aws|gcp|azure"}
  GET|PUT /_emulator/aws/imdsv1         {"allowed": true|false}: tokenless AWS GETs

Signals: SIGTERM and SIGINT stop the emulator; it exits 0.
)";

struct Cli {
  mdfs::emu::Options options;
  bool help = false;
  bool keys_paginated = false;
  bool aws_imdsv1 = false;
  int legacy_token_status = 200;
  long identity_cap_s = 0;
  long iam_lifetime_s = 3600;
};

std::optional<long> parseNumber(std::string_view text, long min, long max) {
  if (text.empty()) return std::nullopt;
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (errno != 0 || end == s.c_str() || *end != '\0' || v < min || v > max) return std::nullopt;
  return v;
}

// Returns an error message, or nothing when the arguments are good.
std::optional<std::string> parseArgs(int argc, char** argv, Cli& cli) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::optional<std::string_view> inline_value;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    const auto value = [&]() -> std::optional<std::string_view> {
      if (inline_value) return inline_value;
      if (i + 1 < args.size()) return args[++i];
      return std::nullopt;
    };
    const auto number = [&](long min, long max, long& out) -> std::optional<std::string> {
      const auto v = value();
      if (!v) return std::string(arg) + " needs a value";
      const auto n = parseNumber(*v, min, max);
      if (!n) {
        return std::string(arg) + ": '" + std::string(*v) + "' is not a number from " +
               std::to_string(min) + " to " + std::to_string(max);
      }
      out = *n;
      return std::nullopt;
    };
    const auto text = [&](std::string& out) -> std::optional<std::string> {
      const auto v = value();
      if (!v || v->empty()) return std::string(arg) + " needs a value";
      out = *v;
      return std::nullopt;
    };
    const auto flag = [&](bool& out) -> std::optional<std::string> {
      if (inline_value) return std::string(arg) + " takes no value";
      out = true;
      return std::nullopt;
    };
    long n = 0;
    std::optional<std::string> error;
    if (arg == "--help" || arg == "-h") {
      error = flag(cli.help);
    } else if (arg == "--cloud") {
      std::string name;
      if (!(error = text(name))) {
        const auto cloud = mdfs::emu::parseCloud(name);
        if (!cloud) error = "--cloud: '" + name + "' is not one of ibm, aws, gcp, azure";
        if (cloud) cli.options.cloud = *cloud;
      }
    } else if (arg == "--aws-imdsv1") {
      error = flag(cli.aws_imdsv1);
    } else if (arg == "--port") {
      if (!(error = number(0, 65535, n))) cli.options.port = static_cast<int>(n);
    } else if (arg == "--control-port") {
      if (!(error = number(0, 65535, n))) cli.options.control_port = static_cast<int>(n);
    } else if (arg == "--bind") {
      error = text(cli.options.bind_address);
    } else if (arg == "--scenario") {
      error = text(cli.options.scenario);
    } else if (arg == "--https") {
      error = flag(cli.options.https);
    } else if (arg == "--tls-dir") {
      error = text(cli.options.tls_dir);
    } else if (arg == "--keep-alive-timeout") {
      if (!(error = number(1, 3600, n))) cli.options.keep_alive_timeout_s = static_cast<int>(n);
    } else if (arg == "--keys-paginated") {
      error = flag(cli.keys_paginated);
    } else if (arg == "--legacy-token-status") {
      if (!(error = number(200, 299, n))) cli.legacy_token_status = static_cast<int>(n);
    } else if (arg == "--identity-token-cap") {
      error = number(0, 3600, cli.identity_cap_s);
    } else if (arg == "--iam-token-lifetime") {
      error = number(1, 86400, cli.iam_lifetime_s);
    } else {
      error = "unknown option '" + std::string(args[i]) + "'";
    }
    if (error) return error;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli;
  if (auto error = parseArgs(argc, argv, cli)) {
    std::cerr << "metadata-emulator: " << *error << "\nTry 'metadata-emulator --help'.\n";
    return 2;
  }
  if (cli.help) {
    std::cout << kUsage;
    return 0;
  }
  // Signals are taken by sigwait() below; every thread the emulator starts inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  mdfs::emu::Emulator emulator(cli.options);
  if (auto s = emulator.start(); !s) {
    std::cerr << "metadata-emulator: " << s.error().message << "\n";
    return 1;
  }
  emulator.setKeysPaginated(cli.keys_paginated);
  emulator.setAwsImdsV1Allowed(cli.aws_imdsv1);
  emulator.setLegacyTokenStatus(cli.legacy_token_status);
  emulator.setTokenLifetimes(mdfs::Seconds(cli.identity_cap_s), mdfs::Seconds(cli.iam_lifetime_s));

  std::cout << "listening on " << emulator.url() << "\n";
  if (cli.options.https) std::cout << "ca certificate: " << emulator.caCertPath() << "\n";
  if (!emulator.controlUrl().empty()) std::cout << "control on " << emulator.controlUrl() << "\n";
  std::cout.flush();

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  emulator.stop();
  return 0;
}
