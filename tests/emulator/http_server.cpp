#include "emulator/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
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
#include <type_traits>

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
  const int fd;       // the client's; closed only by the connection's own thread
  int upstream = -1;  // the relay to the backend; likewise
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

// The client's side of one connection: reads and writes over its non-blocking socket,
// optionally through TLS. Every wait also watches the connection's wake-up signal, so
// stop() and resets never wait for a timeout.
class ClientStream {
 public:
  ClientStream(Connection& conn, SSL* ssl, Millis io_timeout)
      : conn_(conn), ssl_(ssl), io_timeout_(io_timeout) {}

  // Decrypted bytes that poll() on the socket cannot see.
  [[nodiscard]] bool pending() const { return ssl_ != nullptr && SSL_pending(ssl_) > 0; }

  // What one recv or SSL_read gives (0 = end of stream, -1 = failed or interrupted); waits
  // only when a TLS record is incomplete.
  ssize_t read(char* ptr, std::size_t size) {
    for (;;) {
      if (conn_.interrupted()) return -1;
      short waitFor = 0;
      if (ssl_ != nullptr) {
        ERR_clear_error();
        const int n = SSL_read(ssl_, ptr, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
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
      if (waitFor == 0 || waitOn(conn_.fd, waitFor) != Wait::ready) return -1;
    }
  }

  // All of it, or false when the peer does not take it within the I/O timeout.
  bool writeAll(const char* ptr, std::size_t size) {
    while (size > 0) {
      const ssize_t n = writeSome(ptr, size);
      if (n <= 0) return false;
      ptr += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  }

  // The TLS server handshake; true at once without TLS.
  bool handshake() {
    if (ssl_ == nullptr) return true;
    if (SSL_set_fd(ssl_, conn_.fd) != 1) return false;
    for (;;) {
      ERR_clear_error();
      const int r = SSL_accept(ssl_);
      if (r == 1) return true;
      const short waitFor = sslWait(SSL_get_error(ssl_, r));
      if (waitFor == 0 || waitOn(conn_.fd, waitFor) != Wait::ready) {
        ERR_clear_error();
        return false;
      }
    }
  }

  void closeTls() {
    if (ssl_ != nullptr && !conn_.interrupted()) {
      SSL_shutdown(ssl_);  // best effort: sends close_notify, does not wait for the peer's
      ERR_clear_error();
    }
  }

  enum class Wait { ready, timeout, interrupted };

  // Waits up to the I/O timeout for `events` on `fd` (this connection's client or relay
  // socket) or for the connection to be interrupted.
  [[nodiscard]] Wait waitOn(int fd, short events) const {
    if (conn_.interrupted()) return Wait::interrupted;
    std::array<pollfd, 2> fds{{{fd, events, 0}, {conn_.wake.fd(), POLLIN, 0}}};
    int n = 0;
    do {
      n = ::poll(fds.data(), fds.size(), static_cast<int>(io_timeout_.count()));
    } while (n < 0 && errno == EINTR);
    if (n < 0 || fds[1].revents != 0) return Wait::interrupted;
    return n == 0 ? Wait::timeout : Wait::ready;  // errors and hang-ups show in the next call
  }

 private:
  static short sslWait(int ssl_error) {
    if (ssl_error == SSL_ERROR_WANT_READ) return POLLIN;
    if (ssl_error == SSL_ERROR_WANT_WRITE) return POLLOUT;
    ERR_clear_error();
    return 0;
  }

  ssize_t writeSome(const char* ptr, std::size_t size) {
    for (;;) {
      if (conn_.interrupted()) return -1;
      short waitFor = 0;
      if (ssl_ != nullptr) {
        ERR_clear_error();
        const int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
        if (n > 0) return n;
        waitFor = sslWait(SSL_get_error(ssl_, n));
      } else {
        const ssize_t n = ::send(conn_.fd, ptr, size, MSG_NOSIGNAL);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) waitFor = POLLOUT;
      }
      if (waitFor == 0 || waitOn(conn_.fd, waitFor) != Wait::ready) return -1;
    }
  }

  Connection& conn_;
  SSL* ssl_;
  Millis io_timeout_;
};

// Sends all of `data` on the non-blocking relay socket; false when the backend is gone,
// does not read within the I/O timeout, or the connection is interrupted.
bool sendToBackend(const ClientStream& stream, int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (stream.waitOn(fd, POLLOUT) != ClientStream::Wait::ready) return false;
    } else {
      return false;
    }
  }
  return true;
}

// Copies bytes both ways between the client and the backend until either side is done
// or the connection is interrupted. A client that closes its sending side still gets the
// rest of its answer; the backend closing its side ends the connection (after a response
// that asked for it, an idle timeout, a truncated body). Nothing the backend sends after
// an interruption reaches the client.
void relay(Connection& conn, ClientStream& client) {
  std::array<char, std::size_t{16} * 1024> buf{};
  bool client_open = true;
  for (;;) {
    bool from_client = client_open && client.pending();
    bool from_backend = false;
    if (!from_client) {
      std::array<pollfd, 3> fds{{{client_open ? conn.fd : -1, POLLIN, 0},
                                 {conn.upstream, POLLIN, 0},
                                 {conn.wake.fd(), POLLIN, 0}}};
      int n = 0;
      do {
        n = ::poll(fds.data(), fds.size(), -1);  // idle limits are the backend's timeouts
      } while (n < 0 && errno == EINTR);
      if (n < 0 || fds[2].revents != 0) return;
      from_client = fds[0].revents != 0;
      from_backend = fds[1].revents != 0;
    }
    if (from_backend) {
      const ssize_t n = ::recv(conn.upstream, buf.data(), buf.size(), 0);
      if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN))) return;
      if (conn.interrupted()) return;
      if (n > 0 && !client.writeAll(buf.data(), static_cast<std::size_t>(n))) return;
    }
    if (from_client) {
      const ssize_t n = client.read(buf.data(), buf.size());
      if (n < 0) return;
      if (n == 0) {
        client_open = false;
        ::shutdown(conn.upstream, SHUT_WR);
      } else if (!sendToBackend(client, conn.upstream, buf.data(), static_cast<std::size_t>(n))) {
        return;
      }
    }
  }
}

// httplib calls enqueue() once per accepted connection; each gets a thread of its own, as
// the emulator's own side does (its pool would make the ninth concurrent client wait).
// httplib 0.11 declares enqueue() void, later releases bool: take whichever it is.
using EnqueueResult =
    decltype(std::declval<httplib::TaskQueue&>().enqueue(std::function<void()>{}));

template <class R>
R accepted() {
  if constexpr (std::is_void_v<R>) {
    return;
  } else {
    return true;
  }
}

class ThreadPerTask final : public httplib::TaskQueue {
 public:
  ThreadPerTask() = default;
  ThreadPerTask(const ThreadPerTask&) = delete;
  ThreadPerTask& operator=(const ThreadPerTask&) = delete;
  ~ThreadPerTask() override { shutdown(); }

  EnqueueResult enqueue(std::function<void()> fn) override {
    std::lock_guard lock(mu_);
    for (auto it = tasks_.begin(); it != tasks_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = tasks_.erase(it);
      } else {
        ++it;
      }
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    tasks_.push_back({std::thread([fn = std::move(fn), done] {
                        fn();
                        done->store(true);
                      }),
                      done});
    return accepted<EnqueueResult>();
  }

  void shutdown() override {
    std::list<Task> all;
    {
      std::lock_guard lock(mu_);
      all.swap(tasks_);
    }
    for (auto& task : all)
      task.thread.join();
  }

 private:
  struct Task {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex mu_;
  std::list<Task> tasks_;
};

// httplib's request parsing and response writing, through its public API only: a server
// on a loopback port of its own, to which every client connection is relayed.
class Backend {
 public:
  using Dispatch = std::function<void(const httplib::Request&, httplib::Response&)>;

  Backend(Dispatch dispatch, Seconds keep_alive, Seconds io_timeout)
      : dispatch_(std::move(dispatch)) {
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
    server_.Get(".*", handler);
    server_.Post(".*", reading);
    server_.Put(".*", reading);
    server_.Patch(".*", reading);
    server_.Delete(".*", reading);
    server_.Options(".*", handler);
    server_.new_task_queue = [] { return new ThreadPerTask; };
    // Headers and body are separate writes: without this, Nagle's algorithm holds the body
    // back until the relay's delayed ACK (40 ms per response).
    server_.set_tcp_nodelay(true);
    // No limit on requests per connection; the count only shows in the Keep-Alive header.
    server_.set_keep_alive_max_count(std::numeric_limits<int>::max());
    server_.set_keep_alive_timeout(keep_alive.count());
    server_.set_read_timeout(io_timeout.count());
    server_.set_write_timeout(io_timeout.count());
    server_.set_payload_max_length(std::size_t{16} << 20);
  }
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;
  ~Backend() { stop(); }

  Status start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return makeError(EADDRNOTAVAIL, "cannot listen on a loopback port");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() does nothing until the accept loop runs.
    while (!server_.is_running())
      std::this_thread::sleep_for(Millis(1));
    return Ok{};
  }

  // Ends the accept loop and joins every connection's thread: their relays must be gone.
  void stop() {
    if (!thread_.joinable()) return;
    server_.stop();
    thread_.join();
  }

  [[nodiscard]] int port() const { return port_; }

 private:
  Dispatch dispatch_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

// A connected, non-blocking socket to the backend and its local port.
Result<std::pair<int, int>> connectBackend(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return makeError(errno, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    return makeError(err, "connect to the backend");
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::string ip;
  int local_port = 0;
  describeEndpoint(fd, false, ip, local_port);
  return std::make_pair(fd, local_port);
}

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
        backend([this](const httplib::Request& req, httplib::Response& res) { dispatch(req, res); },
                config.keep_alive_timeout, config.io_timeout) {}

  HttpServerConfig config;
  Backend backend;

  // Listener state, changed by start/stop/setAccepting. Handlers may read `port` and
  // `listening` at any time, so those two never need the lock.
  std::mutex state_mu;
  int listen_fd = -1;
  bool stopped = false;
  bool backend_started = false;
  std::atomic<int> port{0};
  std::atomic<bool> listening{false};
  std::unique_ptr<EventFd> accept_stop;
  std::thread accept_thread;

  std::mutex connections_mu;
  std::list<std::shared_ptr<Connection>> connections;
  // The backend sees each connection as the local port of its relay socket.
  std::map<int, std::shared_ptr<Connection>> by_relay_port;
  // The connection whose request each backend thread is handling right now.
  std::map<std::thread::id, std::shared_ptr<Connection>> by_thread;

  std::atomic<std::uint64_t> accepted{0};

  Status listen(int wanted_port) {
    if (!backend_started) {
      if (auto s = backend.start(); !s) return s;
      backend_started = true;
    }
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
    auto& conn = connections.emplace_back(std::make_shared<Connection>(fd));
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
      if (self != by_thread.end() && self->second == conn) {
        conn->close_after_response.store(true);
      } else {
        conn->interruptWith(how);
      }
    }
  }

  void joinAll() {
    std::list<std::shared_ptr<Connection>> all;
    {
      std::lock_guard lock(connections_mu);
      all.swap(connections);
    }
    for (auto& conn : all)
      conn->thread.join();
  }

  // Relays to the backend, so the relay's port names the connection to dispatch().
  bool attachRelay(Connection& conn, const std::shared_ptr<Connection>& self) {
    auto relay_socket = connectBackend(backend.port());
    if (!relay_socket) return false;
    conn.upstream = relay_socket->first;
    std::lock_guard lock(connections_mu);
    by_relay_port[relay_socket->second] = self;
    return true;
  }

  void detachRelay(Connection& conn) {
    std::lock_guard lock(connections_mu);
    for (auto it = by_relay_port.begin(); it != by_relay_port.end(); ++it) {
      if (it->second.get() == &conn) {
        by_relay_port.erase(it);
        break;
      }
    }
  }

  std::shared_ptr<Connection> sharedOf(const Connection& conn) {
    std::lock_guard lock(connections_mu);
    for (auto& c : connections) {
      if (c.get() == &conn) return c;
    }
    return nullptr;
  }

  void serve(Connection& conn) {
    SSL* ssl = config.tls != nullptr ? SSL_new(config.tls) : nullptr;
    {
      ClientStream stream(conn, ssl, Millis(config.io_timeout));
      const auto self = sharedOf(conn);
      if ((config.tls == nullptr || ssl != nullptr) && self && stream.handshake() &&
          attachRelay(conn, self)) {
        relay(conn, stream);
        stream.closeTls();
      }
    }
    if (ssl != nullptr) SSL_free(ssl);
    if (conn.upstream >= 0) {
      detachRelay(conn);
      ::close(conn.upstream);
    }
    if (conn.interrupt.load() == Interrupt::reset) {
      const linger abort_on_close{1, 0};  // close() then sends RST instead of FIN
      ::setsockopt(conn.fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    }
    ::close(conn.fd);
    conn.finished.store(true);
  }

  [[nodiscard]] HttpRequest convert(const httplib::Request& req) const {
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

  // Runs the handler on the backend's thread, with the client connection known to
  // interruptAll() and to the delivery below.
  void dispatch(const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<Connection> conn;
    {
      std::lock_guard lock(connections_mu);
      const auto it = by_relay_port.find(req.remote_port);
      if (it != by_relay_port.end()) conn = it->second;
      if (conn) by_thread[std::this_thread::get_id()] = conn;
    }
    HttpResponse response = config.handler(convert(req));
    {
      std::lock_guard lock(connections_mu);
      by_thread.erase(std::this_thread::get_id());
    }
    deliver(std::move(response), conn.get(), res);
  }

  // The slow and never-ending answers: each write waits `pace` through `pause`, which
  // ends the delivery (and so the connection) when it answers false. A client that went
  // away makes the next write fail, which ends it too.
  static void deliverPaced(HttpResponse response, HttpResponse::Delivery delivery,
                           httplib::Response& res) {
    using Delivery = HttpResponse::Delivery;
    // An empty first chunk would be the last one.
    auto body = std::make_shared<std::string>(response.body.empty() ? " " : response.body);
    const Millis pace = response.pace;
    std::function<bool(Millis)> pause = std::move(response.pause);
    if (!pause) {
      pause = [](Millis d) {
        std::this_thread::sleep_for(d);
        return true;
      };
    }
    if (delivery == Delivery::endless) {
      res.set_chunked_content_provider(
          response.content_type, [body, pace, pause](std::size_t offset, httplib::DataSink& sink) {
            if (offset == 0)
              return sink.write(body->data(), std::max<std::size_t>(1, body->size() / 2));
            return pause(pace) && sink.write(" ", 1);
          });
      return;
    }
    if (delivery == Delivery::overlong) {
      res.set_content_provider(body->size() * 2 + 16, response.content_type,
                               [body, pause](std::size_t, std::size_t, httplib::DataSink& sink) {
                                 if (sink.write(body->data(), body->size())) {
                                   while (pause(Millis(100))) {
                                   }
                                 }
                                 return false;
                               });
      return;
    }
    res.set_content_provider(
        body->size(), response.content_type,
        [body, pace, pause](std::size_t offset, std::size_t, httplib::DataSink& sink) {
          if (offset > 0 && !pause(pace)) return false;
          return sink.write(body->data() + offset, 1);
        });
  }

  static void deliver(HttpResponse response, Connection* conn, httplib::Response& res) {
    res.status = response.status;
    for (const auto& [name, value] : response.headers)
      res.set_header(name, value);
    using Delivery = HttpResponse::Delivery;
    Delivery delivery = response.delivery;
    if (delivery == Delivery::truncate && response.body.size() < 2) delivery = Delivery::close;
    const bool then_close = conn != nullptr && conn->close_after_response.load();
    switch (delivery) {
      case Delivery::normal:
        if (!then_close) {
          res.set_content(response.body, response.content_type);
          break;
        }
        [[fallthrough]];
      case Delivery::truncate: {
        // A provider that stops early makes httplib close the connection after what it
        // wrote: half the body, or all of it when the connection must close afterwards.
        auto body = std::make_shared<std::string>(std::move(response.body));
        const std::size_t send = delivery == Delivery::truncate ? body->size() / 2 : body->size();
        res.set_content_provider(
            body->size(), response.content_type,
            [body, send](std::size_t offset, std::size_t, httplib::DataSink& sink) {
              if (offset == 0 && send > 0) sink.write(body->data(), send);
              return false;
            });
        break;
      }
      case Delivery::overlong:
      case Delivery::endless:
      case Delivery::trickle:
        deliverPaced(std::move(response), delivery, res);
        break;
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
  impl_->backend.stop();
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
