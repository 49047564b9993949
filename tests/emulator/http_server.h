// The emulator's HTTP/1.1 server. cpp-httplib parses requests and writes responses,
// through its public API only (so any release from 0.11 to 0.18 will do): an
// httplib::Server listens on a loopback port of its own, and this layer relays each client
// connection to it. This layer owns everything the client sees below HTTP: the listening
// socket, one thread per connection, TLS, and the socket-level behaviour the fault
// controls need (reset a connection, close without answering, stop accepting while
// connections are reset, count connections, stop at once).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/error.h"

using SSL_CTX = struct ssl_ctx_st;

namespace mdfs::emu {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;
  std::string path;    // percent-decoded, without the query string
  HeaderList params;   // query parameters only (never form fields of the body), decoded
  HeaderList headers;  // as received
  std::string body;
  std::string scheme;  // "http" or "https"

  // First value, or null. Header names compare case-insensitively.
  [[nodiscard]] const std::string* header(std::string_view name) const;
  [[nodiscard]] const std::string* param(std::string_view name) const;
  // "scheme://host[:port]" as the client addressed us (Host header).
  [[nodiscard]] std::string origin() const;
};

struct HttpResponse {
  // How the response reaches the client.
  enum class Delivery {
    normal,
    truncate,  // headers with the full Content-Length, half the body, then close
    reset,     // nothing at all: the connection is reset (RST)
    close,     // nothing at all: the connection is closed (FIN)
    overlong,  // a Content-Length twice the body's, the whole body, then silence until
               // `pause` says stop; then close
    endless,   // chunked: the first half of the body, then one space every `pace`, with no
               // last chunk, until `pause` says stop
    trickle,   // the whole body with its Content-Length, one byte every `pace`
  };
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  HeaderList headers;
  std::string body;
  Delivery delivery = Delivery::normal;
  // overlong, endless, trickle: the time between writes, and an interruptible sleep that
  // answers false when the delivery must end (the fault was cleared, the server stops).
  Millis pace{1000};
  std::function<bool(Millis)> pause;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerConfig {
  std::string bind_address = "127.0.0.1";
  int port = 0;                   // 0 picks a free port
  SSL_CTX* tls = nullptr;         // serve TLS only when set; must outlive the server
  Seconds keep_alive_timeout{5};  // idle time before a kept-alive connection is closed
  Seconds io_timeout{5};          // wait for the rest of a request, or for the peer to read
  HttpHandler handler;            // called on the connection's thread
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerConfig config);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status start();  // binds and accepts on a background thread
  void stop();     // closes the listener, resets open connections, joins every thread

  // false: the listening socket is closed (connections are refused) and open connections
  // are reset; true: listens on the same port again.
  Status setAccepting(bool accepting);
  [[nodiscard]] bool accepting() const;

  [[nodiscard]] int port() const;
  [[nodiscard]] std::uint64_t connectionsAccepted() const;
  void resetConnectionCount();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "%2F" → "/", and '+' → ' ' when `plus_is_space` (query strings).
std::string percentDecode(std::string_view text, bool plus_is_space);

}  // namespace mdfs::emu
