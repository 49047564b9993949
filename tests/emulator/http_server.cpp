#include "emulator/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <limits>
#include <list>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

namespace mdfs::emu {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

const std::string* findIn(const HeaderList& list, std::string_view name, bool ignore_case) {
  for (const auto& [key, value] : list) {
    if (ignore_case ? equalsIgnoreCase(key, name) : key == name) return &value;
  }
  return nullptr;
}

// A wake-up signal for poll(): once signalled it stays readable.
class EventFd {
 public:
  EventFd() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~EventFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  EventFd(const EventFd&) = delete;
  EventFd& operator=(const EventFd&) = delete;
  void signal() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
  }
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_;
};

enum class Interrupt { none, close, reset };

struct Connection {
  explicit Connection(int socket_fd) : fd(socket_fd) {}
  const int fd;  // closed only by the connection's own thread, after its last use
  EventFd wake;
  std::atomic<Interrupt> interrupt{Interrupt::none};
  std::atomic<bool> close_after_response{false};
  std::atomic<bool> finished{false};
  std::thread thread;

  // Any thread: every pending and later I/O on the connection fails at once. A reset
  // wins over a close.
  void interruptWith(Interrupt how) {
    if (how == Interrupt::reset) {
      interrupt.store(how);
    } else {
      auto expected = Interrupt::none;
      interrupt.compare_exchange_strong(expected, how);
    }
    wake.signal();
  }
  [[nodiscard]] bool interrupted() const { return interrupt.load() != Interrupt::none; }
};

void describeEndpoint(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if ((peer ? ::getpeername(fd, sa, &len) : ::getsockname(fd, sa, &len)) != 0) return;
  std::array<char, NI_MAXHOST> host{};
  std::array<char, NI_MAXSERV> service{};
  if (::getnameinfo(sa, len, host.data(), host.size(), service.data(), service.size(),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host.data();
    port = std::atoi(service.data());
  }
}

// httplib's view of one connection: buffered reads and writes over a non-blocking socket,
// optionally through TLS. Every wait also watches the connection's wake-up signal, so
// stop() and resets never wait for a timeout.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(Connection& conn, SSL* ssl, Millis io_timeout)
      : conn_(conn), ssl_(ssl), io_timeout_(io_timeout) {}

  bool is_readable() const override {
    return buffered() || wait(POLLIN, io_timeout_) == Wait::ready;
  }
  bool is_writable() const override { return wait(POLLOUT, io_timeout_) == Wait::ready; }

  ssize_t read(char* ptr, size_t size) override {
    if (begin_ == end_) {
      if (size >= buffer_.size()) return receive(ptr, size);
      const ssize_t n = receive(buffer_.data(), buffer_.size());
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<std::size_t>(n);
    }
    const std::size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, buffer_.data() + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (size == 0) return 0;
    for (;;) {
      if (conn_.interrupted()) return -1;
      short waitFor = 0;
      if (ssl_ != nullptr) {
        ERR_clear_error();
        const int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, INT_MAX)));
        if (n > 0) return n;
        waitFor = sslWait(SSL_get_error(ssl_, n));
      } else {
        const ssize_t n = ::send(conn_.fd, ptr, size, MSG_NOSIGNAL);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) waitFor = POLLOUT;
      }
      if (waitFor == 0 || wait(waitFor, io_timeout_) != Wait::ready) return -1;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    describeEndpoint(conn_.fd, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    describeEndpoint(conn_.fd, false, ip, port);
  }
  socket_t socket() const override { return conn_.fd; }

  // The TLS server handshake; true at once without TLS.
  bool handshake() {
    if (ssl_ == nullptr) return true;
    if (SSL_set_fd(ssl_, conn_.fd) != 1) return false;
    for (;;) {
      ERR_clear_error();
      const int r = SSL_accept(ssl_);
      if (r == 1) return true;
      const short waitFor = sslWait(SSL_get_error(ssl_, r));
      if (waitFor == 0 || wait(waitFor, io_timeout_) != Wait::ready) {
        ERR_clear_error();
        return false;
      }
    }
  }

  // Keep-alive: true when the next request starts within `idle`.
  bool awaitRequest(Millis idle) const { return buffered() || wait(POLLIN, idle) == Wait::ready; }

  void closeTls() {
    if (ssl_ != nullptr && !conn_.interrupted()) {
      SSL_shutdown(ssl_);  // best effort: sends close_notify, does not wait for the peer's
      ERR_clear_error();
    }
  }

 private:
  enum class Wait { ready, timeout, interrupted };

  [[nodiscard]] bool buffered() const {
    return begin_ < end_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0);
  }

  static short sslWait(int ssl_error) {
    if (ssl_error == SSL_ERROR_WANT_READ) return POLLIN;
    if (ssl_error == SSL_ERROR_WANT_WRITE) return POLLOUT;
    ERR_clear_error();
    return 0;
  }

  Wait wait(short events, Millis timeout) const {
    if (conn_.interrupted()) return Wait::interrupted;
    std::array<pollfd, 2> fds{{{conn_.fd, events, 0}, {conn_.wake.fd(), POLLIN, 0}}};
    int n = 0;
    do {
      n = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
    } while (n < 0 && errno == EINTR);
    if (n < 0 || fds[1].revents != 0) return Wait::interrupted;
    return n == 0 ? Wait::timeout : Wait::ready;  // errors and hang-ups show in the next call
  }

  // One recv or SSL_read, waiting up to the I/O timeout for data. 0 = end of stream.
  ssize_t receive(char* ptr, size_t size) {
    for (;;) {
      if (conn_.interrupted()) return -1;
      short waitFor = 0;
      if (ssl_ != nullptr) {
        ERR_clear_error();
        const int n = SSL_read(ssl_, ptr, static_cast<int>(std::min<size_t>(size, INT_MAX)));
        if (n > 0) return n;
        const int err = SSL_get_error(ssl_, n);
        if (err == SSL_ERROR_ZERO_RETURN) return 0;
        waitFor = sslWait(err);
      } else {
        const ssize_t n = ::recv(conn_.fd, ptr, size, 0);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) waitFor = POLLIN;
      }
      if (waitFor == 0 || wait(waitFor, io_timeout_) != Wait::ready) return -1;
    }
  }

  Connection& conn_;
  SSL* ssl_;
  Millis io_timeout_;
  std::array<char, std::size_t{16} * 1024> buffer_{};
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

// httplib's request parsing and response writing, driven one request at a time by our
// own connection loop (process_request is the protected entry point httplib offers).
class RequestProcessor final : public httplib::Server {
 public:
  using Dispatch = std::function<void(const httplib::Request&, httplib::Response&)>;

  RequestProcessor(Dispatch dispatch, Seconds keep_alive) : dispatch_(std::move(dispatch)) {
    const auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      dispatch_(req, res);
    };
    // A request with neither Content-Length nor chunking has no body (RFC 9112 §6.3);
    // httplib would otherwise wait for one until the client gives up.
    const auto reading = [this](const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& read) {
      httplib::Request with_body = req;
      if (req.has_header("Content-Length") ||
          req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos) {
        read([&](const char* data, std::size_t n) {
          with_body.body.append(data, n);
          return true;
        });
      }
      dispatch_(with_body, res);
    };
    Get(".*", handler);
    Post(".*", reading);
    Put(".*", reading);
    Patch(".*", reading);
    Delete(".*", reading);
    Options(".*", handler);
    // Only used for the Keep-Alive response header: our loop has no request limit.
    set_keep_alive_max_count(std::numeric_limits<int>::max());
    set_keep_alive_timeout(keep_alive.count());
    set_payload_max_length(std::size_t{16} << 20);
    // httplib stops writing provider content once it believes the listener is closed,
    // which it reads from svr_sock_. Our listener lives elsewhere, so mark this one open;
    // httplib never touches the value otherwise, as its own listen() is never called.
    svr_sock_ = std::numeric_limits<int>::max();
  }

  bool serveOne(httplib::Stream& stream, bool& connection_closed) {
    return process_request(stream, false, connection_closed, nullptr);
  }

 private:
  Dispatch dispatch_;
};

HeaderList parseQuery(std::string_view target) {
  HeaderList params;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return params;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    params.emplace_back(
        percentDecode(pair.substr(0, eq), true),
        eq == std::string_view::npos ? std::string{} : percentDecode(pair.substr(eq + 1), true));
  }
  return params;
}

bool isInjectedHeader(const std::string& name) {
  return name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
         name == "LOCAL_PORT";
}

Result<int> listenOn(const std::string& address, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const std::string where = address + ":" + service;
  if (int rc = ::getaddrinfo(address.empty() ? nullptr : address.c_str(), service.c_str(), &hints,
                             &found);
      rc != 0) {
    return makeError(EINVAL, "cannot listen on " + where + ": " + ::gai_strerror(rc));
  }
  int last_errno = EADDRNOTAVAIL;
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      last_errno = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0)
    return makeError(last_errno,
                     "cannot listen on " + where + ": " +
                         std::error_code(last_errno, std::generic_category()).message());
  return fd;
}

int boundPort(int fd) {
  std::string ip;
  int port = 0;
  describeEndpoint(fd, false, ip, port);
  return port;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
  return findIn(headers, name, true);
}
const std::string* HttpRequest::param(std::string_view name) const {
  return findIn(params, name, false);
}
std::string HttpRequest::origin() const {
  const std::string* host = header("Host");
  return scheme + "://" + (host != nullptr && !host->empty() ? *host : "localhost");
}

std::string percentDecode(std::string_view text, bool plus_is_space) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else if (plus_is_space && text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

struct HttpServer::Impl {
  explicit Impl(HttpServerConfig c)
      : config(std::move(c)),
        processor(
            [this](const httplib::Request& req, httplib::Response& res) { dispatch(req, res); },
            config.keep_alive_timeout) {}

  HttpServerConfig config;
  RequestProcessor processor;

  // Listener state, changed by start/stop/setAccepting. Handlers may read `port` and
  // `listening` at any time, so those two never need the lock.
  std::mutex state_mu;
  int listen_fd = -1;
  bool stopped = false;
  std::atomic<int> port{0};
  std::atomic<bool> listening{false};
  std::unique_ptr<EventFd> accept_stop;
  std::thread accept_thread;

  std::mutex connections_mu;
  std::list<std::unique_ptr<Connection>> connections;
  std::map<std::thread::id, Connection*> by_thread;  // the connection each thread serves

  std::atomic<std::uint64_t> accepted{0};

  Status listen(int wanted_port) {
    auto fd = listenOn(config.bind_address, wanted_port);
    if (!fd) return fd.error();
    listen_fd = *fd;
    port.store(boundPort(listen_fd));
    listening.store(true);
    accept_stop = std::make_unique<EventFd>();
    accept_thread =
        std::thread([this, lfd = listen_fd, stop = accept_stop.get()] { acceptLoop(lfd, *stop); });
    return Ok{};
  }

  void closeListener() {
    if (listen_fd < 0) return;
    listening.store(false);
    accept_stop->signal();
    accept_thread.join();
    ::close(listen_fd);
    listen_fd = -1;
  }

  void acceptLoop(int lfd, const EventFd& stop) {
    for (;;) {
      std::array<pollfd, 2> fds{{{lfd, POLLIN, 0}, {stop.fd(), POLLIN, 0}}};
      const int n = ::poll(fds.data(), fds.size(), -1);
      if (n < 0 && errno != EINTR) return;
      if (fds[1].revents != 0) return;
      if ((fds[0].revents & POLLIN) == 0) continue;
      const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        // Out of descriptors: let connections finish rather than spin.
        if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(Millis(10));
        continue;
      }
      accepted.fetch_add(1);
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      launch(fd);
    }
  }

  void launch(int fd) {
    std::lock_guard lock(connections_mu);
    reapFinished();
    auto& conn = connections.emplace_back(std::make_unique<Connection>(fd));
    conn->thread = std::thread([this, c = conn.get()] { serve(*c); });
  }

  // Joins the threads of closed connections; they take no lock after `finished` is set.
  void reapFinished() {
    for (auto it = connections.begin(); it != connections.end();) {
      if ((*it)->finished.load()) {
        (*it)->thread.join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }

  void interruptAll(Interrupt how) {
    std::lock_guard lock(connections_mu);
    const auto self = by_thread.find(std::this_thread::get_id());
    for (auto& conn : connections) {
      // A control request that disables the service on its own connection still gets
      // its answer; the connection closes right after.
      if (self != by_thread.end() && self->second == conn.get()) {
        conn->close_after_response.store(true);
      } else {
        conn->interruptWith(how);
      }
    }
  }

  void joinAll() {
    std::list<std::unique_ptr<Connection>> all;
    {
      std::lock_guard lock(connections_mu);
      all.swap(connections);
    }
    for (auto& conn : all)
      conn->thread.join();
  }

  void serve(Connection& conn) {
    {
      std::lock_guard lock(connections_mu);
      by_thread[std::this_thread::get_id()] = &conn;
    }
    SSL* ssl = config.tls != nullptr ? SSL_new(config.tls) : nullptr;
    {
      ConnectionStream stream(conn, ssl, Millis(config.io_timeout));
      if ((config.tls == nullptr || ssl != nullptr) && stream.handshake()) {
        while (stream.awaitRequest(Millis(config.keep_alive_timeout))) {
          bool closed = false;
          const bool ok = processor.serveOne(stream, closed);
          if (!ok || closed || conn.interrupted() || conn.close_after_response.load()) break;
        }
        stream.closeTls();
      }
    }
    if (ssl != nullptr) SSL_free(ssl);
    {
      std::lock_guard lock(connections_mu);
      by_thread.erase(std::this_thread::get_id());
    }
    if (conn.interrupt.load() == Interrupt::reset) {
      const linger abort_on_close{1, 0};  // close() then sends RST instead of FIN
      ::setsockopt(conn.fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    }
    ::close(conn.fd);
    conn.finished.store(true);
  }

  Connection* currentConnection() {
    std::lock_guard lock(connections_mu);
    const auto it = by_thread.find(std::this_thread::get_id());
    return it == by_thread.end() ? nullptr : it->second;
  }

  HttpRequest convert(const httplib::Request& req) const {
    HttpRequest out;
    out.method = req.method;
    out.path = req.path;
    out.params = parseQuery(req.target);
    for (const auto& [name, value] : req.headers) {
      if (!isInjectedHeader(name)) out.headers.emplace_back(name, value);
    }
    out.body = req.body;
    out.scheme = config.tls != nullptr ? "https" : "http";
    return out;
  }

  void dispatch(const httplib::Request& req, httplib::Response& res) {
    HttpResponse response = config.handler(convert(req));
    Connection* conn = currentConnection();
    res.status = response.status;
    for (const auto& [name, value] : response.headers)
      res.set_header(name, value);
    using Delivery = HttpResponse::Delivery;
    Delivery delivery = response.delivery;
    if (delivery == Delivery::truncate && response.body.size() < 2) delivery = Delivery::close;
    switch (delivery) {
      case Delivery::normal:
        res.set_content(response.body, response.content_type);
        break;
      case Delivery::truncate: {
        auto body = std::make_shared<std::string>(std::move(response.body));
        res.set_content_provider(
            body->size(), response.content_type,
            [body](std::size_t offset, std::size_t, httplib::DataSink& sink) {
              if (offset == 0) sink.write(body->data(), body->size() / 2);
              return false;  // httplib stops writing and the connection is closed
            });
        break;
      }
      case Delivery::reset:
      case Delivery::close:
        if (conn != nullptr) {
          conn->interruptWith(delivery == Delivery::reset ? Interrupt::reset : Interrupt::close);
        }
        break;
    }
  }
};

HttpServer::HttpServer(HttpServerConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::start() {
  std::lock_guard lock(impl_->state_mu);
  if (impl_->stopped) return makeError(EINVAL, "the server was stopped");
  if (impl_->listen_fd >= 0) return Ok{};
  return impl_->listen(impl_->config.port);
}

void HttpServer::stop() {
  {
    std::lock_guard lock(impl_->state_mu);
    impl_->stopped = true;
    impl_->closeListener();
  }
  // Without the state lock: a handler still running may call setAccepting() or port().
  impl_->interruptAll(Interrupt::close);
  impl_->joinAll();
}

Status HttpServer::setAccepting(bool accepting) {
  std::lock_guard lock(impl_->state_mu);
  if (impl_->stopped) return makeError(EINVAL, "the server was stopped");
  if (accepting) {
    if (impl_->listen_fd >= 0) return Ok{};
    return impl_->listen(impl_->port.load());
  }
  impl_->closeListener();
  impl_->interruptAll(Interrupt::reset);
  return Ok{};
}

bool HttpServer::accepting() const {
  return impl_->listening.load();
}
int HttpServer::port() const {
  return impl_->port.load();
}

std::uint64_t HttpServer::connectionsAccepted() const {
  return impl_->accepted.load();
}
void HttpServer::resetConnectionCount() {
  impl_->accepted.store(0);
}

}  // namespace mdfs::emu
