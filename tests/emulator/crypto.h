// Small cryptographic helpers the emulator needs, all on OpenSSL: encodings and random ids,
// the HMAC that signs emulated tokens, and the private CA and server certificate for --https.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"

using SSL_CTX = struct ssl_ctx_st;

namespace mdfs::emu {

std::string base64(std::string_view bytes);     // standard alphabet, padded
std::string base64Url(std::string_view bytes);  // URL alphabet, unpadded (JWT segments)
std::string randomBytes(std::size_t n);
std::string uuid4();  // random RFC 4122 version 4, lower case
std::string sha256(std::string_view bytes);
std::string hmacSha256(std::string_view key, std::string_view message);

// header.claims.signature, each segment base64url; the signature is HMAC-SHA256 over
// "header.claims" with `key`. Stands in for IBM's RS256: the emulator validates tokens by
// looking them up, so the signature only has to be well formed and unforgeable in practice.
std::string signJwt(std::string_view header_json, std::string_view claims_json,
                    std::string_view key);

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const;
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// The files behind --https: a private CA (reused when `dir` already holds ca.pem and
// ca-key.pem, so clients that trust it keep working across restarts) and a fresh server
// certificate for api.metadata.cloud.ibm.com, localhost, 127.0.0.1 and ::1.
struct TlsFiles {
  std::string dir;
  std::string ca_cert;      // dir/ca.pem: what clients pass as their CA bundle
  std::string ca_key;       // dir/ca-key.pem
  std::string server_cert;  // dir/server.pem
  std::string server_key;   // dir/server-key.pem
  bool temporary = false;   // dir was created here and is removed by removeTlsFiles()
};

// `dir` empty: a new private temporary directory.
Result<TlsFiles> prepareTlsFiles(const std::string& dir);
void removeTlsFiles(const TlsFiles& files);
Result<SslCtxPtr> makeServerContext(const TlsFiles& files);

}  // namespace mdfs::emu
