#include "emulator/crypto.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

namespace mdfs::emu {
namespace {

constexpr std::string_view kB64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kB64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode64(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    auto n = (static_cast<unsigned char>(bytes[i]) << 16U) |
             (static_cast<unsigned char>(bytes[i + 1]) << 8U) |
             static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(n >> 18U) & 63U];
    out += alphabet[(n >> 12U) & 63U];
    out += alphabet[(n >> 6U) & 63U];
    out += alphabet[n & 63U];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16U;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8U;
    out += alphabet[(n >> 18U) & 63U];
    out += alphabet[(n >> 12U) & 63U];
    if (rest == 2) out += alphabet[(n >> 6U) & 63U];
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

std::string errnoText(int err) {
  return std::error_code(err, std::generic_category()).message();
}

std::string opensslError(std::string_view what) {
  std::array<char, 256> buf{};
  const unsigned long code = ERR_get_error();
  if (code != 0) ERR_error_string_n(code, buf.data(), buf.size());
  ERR_clear_error();
  return std::string(what) + (code != 0 ? std::string(": ") + buf.data() : std::string());
}

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PKeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using PKeyPtr = std::unique_ptr<EVP_PKEY, PKeyDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct Identity {
  X509Ptr cert;
  PKeyPtr key;
};

bool addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool setRandomSerial(X509* cert) {
  BIGNUM* bn = BN_new();
  bool ok = bn != nullptr && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
            BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

bool setSubject(X509* cert, const char* common_name) {
  X509_NAME* name = X509_get_subject_name(cert);
  const auto* org = reinterpret_cast<const unsigned char*>("metadatafs emulator");
  const auto* cn = reinterpret_cast<const unsigned char*>(common_name);
  return X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, org, -1, -1, 0) == 1 &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) == 1;
}

// A certificate for `key`, signed by `issuer` (self-signed when issuer is null).
Result<X509Ptr> issue(const char* common_name, EVP_PKEY* key, const Identity* issuer, bool ca,
                      long days) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 || !setRandomSerial(cert.get()) ||
      !setSubject(cert.get(), common_name) || X509_set_pubkey(cert.get(), key) != 1) {
    return makeError(EIO, opensslError("cannot build certificate"));
  }
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : cert.get();
  EVP_PKEY* signing_key = issuer != nullptr ? issuer->key.get() : key;
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert));
  // Valid from an hour ago, so clocks a little behind still accept it.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 24 * 3600);
  bool ok = addExtension(cert.get(), issuer_cert, NID_subject_key_identifier, "hash");
  if (ca) {
    ok = ok && addExtension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE") &&
         addExtension(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && addExtension(cert.get(), issuer_cert, NID_authority_key_identifier, "keyid") &&
         addExtension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE") &&
         addExtension(cert.get(), issuer_cert, NID_key_usage,
                      "critical,digitalSignature,keyEncipherment") &&
         addExtension(cert.get(), issuer_cert, NID_ext_key_usage, "serverAuth") &&
         addExtension(cert.get(), issuer_cert, NID_subject_alt_name,
                      "DNS:api.metadata.cloud.ibm.com,DNS:localhost,IP:127.0.0.1,IP:::1");
  }
  if (!ok || X509_sign(cert.get(), signing_key, EVP_sha256()) == 0) {
    return makeError(EIO, opensslError("cannot sign certificate"));
  }
  return cert;
}

// A P-256 key. The key-generation context works from OpenSSL 1.1.1 (Debian 11) on;
// EVP_EC_gen would need 3.0.
Result<PKeyPtr> newKey() {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr), &EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx.get(), NID_X9_62_prime256v1) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return makeError(EIO, opensslError("cannot generate a key"));
  }
  return PKeyPtr(raw);
}

Result<BioPtr> openForWrite(const std::string& path, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return makeError(errno, "cannot write " + path + ": " + errnoText(errno));
  BioPtr bio(BIO_new_fd(fd, BIO_CLOSE));
  if (!bio) {
    ::close(fd);
    return makeError(EIO, opensslError("cannot write " + path));
  }
  return bio;
}

Status writeCert(const std::string& path, const std::initializer_list<X509*> certs) {
  auto bio = openForWrite(path, 0644);
  if (!bio) return bio.error();
  for (X509* cert : certs) {
    if (PEM_write_bio_X509(bio->get(), cert) != 1) {
      return makeError(EIO, opensslError("cannot write " + path));
    }
  }
  return Ok{};
}

Status writeKey(const std::string& path, EVP_PKEY* key) {
  auto bio = openForWrite(path, 0600);
  if (!bio) return bio.error();
  if (PEM_write_bio_PrivateKey(bio->get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return makeError(EIO, opensslError("cannot write " + path));
  }
  return Ok{};
}

Result<Identity> loadCa(const TlsFiles& files) {
  BioPtr cert_bio(BIO_new_file(files.ca_cert.c_str(), "r"));
  BioPtr key_bio(BIO_new_file(files.ca_key.c_str(), "r"));
  if (!cert_bio || !key_bio) return makeError(EIO, opensslError("cannot read the CA"));
  Identity ca;
  ca.cert.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  ca.key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!ca.cert || !ca.key) {
    return makeError(EIO, opensslError("cannot read the CA in " + files.dir));
  }
  return ca;
}

Result<Identity> newCa(const TlsFiles& files) {
  auto key = newKey();
  if (!key) return key.error();
  auto cert = issue("metadatafs emulator CA", key->get(), nullptr, true, 3650);
  if (!cert) return cert.error();
  Identity ca{std::move(*cert), std::move(*key)};
  if (auto s = writeKey(files.ca_key, ca.key.get()); !s) return s.error();
  if (auto s = writeCert(files.ca_cert, {ca.cert.get()}); !s) return s.error();
  return ca;
}

Result<std::string> makeTempDir() {
  const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): nothing sets it
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/metadata-emulator-tls-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return makeError(errno,
                     "cannot create a directory for TLS files: " + std::string(errnoText(errno)));
  }
  // The CA certificate (0644) is public and must be readable by a metadatafs that serves
  // as an unprivileged user; the keys stay 0600, and the folder cannot be listed.
  ::chmod(pattern.c_str(), 0711);
  return pattern;
}

}  // namespace

std::string base64(std::string_view bytes) {
  return encode64(bytes, kB64, true);
}
std::string base64Url(std::string_view bytes) {
  return encode64(bytes, kB64Url, false);
}

std::string randomBytes(std::size_t n) {
  std::string out(n, '\0');
  // RAND_bytes only fails when the system has no entropy source at all.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();
  }
  return out;
}

std::string uuid4() {
  std::string b = randomBytes(16);
  b[6] = static_cast<char>((static_cast<unsigned char>(b[6]) & 0x0FU) | 0x40U);
  b[8] = static_cast<char>((static_cast<unsigned char>(b[8]) & 0x3FU) | 0x80U);
  constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    const auto c = static_cast<unsigned char>(b[i]);
    out += hex[c >> 4U];
    out += hex[c & 15U];
  }
  return out;
}

std::string sha256(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr);
  return {reinterpret_cast<const char*>(md.data()), len};
}

std::string hmacSha256(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), md.data(), &len);
  return {reinterpret_cast<const char*>(md.data()), len};
}

std::string signJwt(std::string_view header_json, std::string_view claims_json,
                    std::string_view key) {
  std::string signing_input = base64Url(header_json) + "." + base64Url(claims_json);
  return signing_input + "." + base64Url(hmacSha256(key, signing_input));
}

void SslCtxDeleter::operator()(SSL_CTX* ctx) const {
  SSL_CTX_free(ctx);
}

Result<TlsFiles> prepareTlsFiles(const std::string& dir) {
  TlsFiles files;
  if (dir.empty()) {
    auto tmp = makeTempDir();
    if (!tmp) return tmp.error();
    files.dir = *tmp;
    files.temporary = true;
  } else {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return makeError(EIO, "cannot create TLS directory " + dir + ": " + ec.message());
    files.dir = dir;
  }
  files.ca_cert = files.dir + "/ca.pem";
  files.ca_key = files.dir + "/ca-key.pem";
  files.server_cert = files.dir + "/server.pem";
  files.server_key = files.dir + "/server-key.pem";

  const bool have_ca =
      ::access(files.ca_cert.c_str(), R_OK) == 0 && ::access(files.ca_key.c_str(), R_OK) == 0;
  auto ca = have_ca ? loadCa(files) : newCa(files);
  if (!ca) return ca.error();
  auto key = newKey();
  if (!key) return key.error();
  auto cert = issue("api.metadata.cloud.ibm.com", key->get(), &*ca, false, 365);
  if (!cert) return cert.error();
  if (auto s = writeKey(files.server_key, key->get()); !s) return s.error();
  if (auto s = writeCert(files.server_cert, {cert->get(), ca->cert.get()}); !s) return s.error();
  return files;
}

void removeTlsFiles(const TlsFiles& files) {
  if (!files.temporary || files.dir.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(files.dir, ec);
}

Result<SslCtxPtr> makeServerContext(const TlsFiles& files) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return makeError(EIO, opensslError("cannot create a TLS context"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.server_cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), files.server_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    return makeError(EIO, opensslError("cannot load the server certificate"));
  }
  return ctx;
}

}  // namespace mdfs::emu
