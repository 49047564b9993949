// Helpers for tests that talk to the emulator over real HTTP: a small client, raw-socket
// exchanges for the faults that misbehave below HTTP, and JSON parsing of answers.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <string_view>

#include "emulator/emulator.h"

namespace mdfs::emu::testing {

inline constexpr const char* kVersion = "2024-11-12";

struct Reply {
  int status = 0;  // 0: no HTTP answer
  std::string body;
  httplib::Headers headers;

  [[nodiscard]] std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  [[nodiscard]] rapidjson::Document json() const {
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    return doc;
  }
  // String or number at a JSON pointer of the body, as text; "" when absent.
  [[nodiscard]] std::string at(const char* pointer) const {
    const auto doc = json();
    if (doc.HasParseError()) return {};
    const rapidjson::Value* v = rapidjson::Pointer(pointer).Get(doc);
    if (v == nullptr) return {};
    if (v->IsString()) return v->GetString();
    if (v->IsInt64()) return std::to_string(v->GetInt64());
    if (v->IsBool()) return v->GetBool() ? "true" : "false";
    return v->IsNull() ? "null" : "?";
  }
  [[nodiscard]] std::string errorCode() const { return at("/errors/0/code"); }
};

// One request per connection unless keepAlive() is called.
class Client {
 public:
  explicit Client(const std::string& base_url) : client_(base_url) {
    client_.set_connection_timeout(std::chrono::seconds(5));
    client_.set_read_timeout(std::chrono::seconds(10));
  }
  Client& keepAlive() {
    client_.set_keep_alive(true);
    return *this;
  }
  Client& readTimeout(std::chrono::milliseconds t) {
    client_.set_read_timeout(t);
    return *this;
  }
  Client& trustCa(const std::string& ca_path) {
    client_.set_ca_cert_path(ca_path);
    client_.enable_server_certificate_verification(true);
    return *this;
  }

  Reply get(const std::string& path, const httplib::Headers& headers = {}) {
    return wrap(client_.Get(path, headers));
  }
  Reply put(const std::string& path, const std::string& body, const httplib::Headers& headers = {},
            const char* content_type = "application/json") {
    return wrap(client_.Put(path, headers, body, content_type));
  }
  Reply post(const std::string& path, const std::string& body, const httplib::Headers& headers = {},
             const char* content_type = "application/json") {
    return wrap(client_.Post(path, headers, body, content_type));
  }
  Reply del(const std::string& path) { return wrap(client_.Delete(path)); }

  // A fresh identity token from the new path.
  std::string token(const std::string& version = kVersion, const std::string& body = "") {
    return put("/identity/v1/token?version=" + version, body, {{"Metadata-Flavor", "ibm"}})
        .at("/access_token");
  }
  // GET with a fresh token.
  Reply getAuthed(const std::string& path_and_query) {
    return get(path_and_query, bearer(token()));
  }
  static httplib::Headers bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }
  httplib::Error lastError() const { return last_error_; }

 private:
  Reply wrap(const httplib::Result& r) {
    Reply reply;
    last_error_ = r.error();
    if (r) {
      reply.status = r->status;
      reply.body = r->body;
      reply.headers = r->headers;
    }
    return reply;
  }
  httplib::Client client_;
  httplib::Error last_error_ = httplib::Error::Success;
};

// What a raw TCP exchange produced: the bytes received and how the stream ended.
struct RawExchange {
  bool connected = false;
  int connect_errno = 0;
  std::string received;
  bool reset = false;      // ECONNRESET
  bool timed_out = false;  // nothing more within the timeout
};

// Sends `request` as is and reads until the peer closes, resets, or `timeout` passes.
inline RawExchange rawExchange(int port, std::string_view request,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  RawExchange out;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    out.connect_errno = errno;
    ::close(fd);
    return out;
  }
  out.connected = true;
  if (!request.empty()) (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
      out.timed_out = true;
      break;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      out.received.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == ECONNRESET) out.reset = true;
    break;
  }
  ::close(fd);
  return out;
}

inline std::string rawGet(const std::string& path_and_query, const std::string& token = "") {
  std::string req = "GET " + path_and_query + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  return req + "Connection: close\r\n\r\n";
}

}  // namespace mdfs::emu::testing
