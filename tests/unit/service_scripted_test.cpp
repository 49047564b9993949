// The client against a scripted HTTP peer, for answers the emulator is not meant to give:
// pagination loops, foreign `next` hrefs, redirects, proxies.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "service/http_transport.h"
#include "service/metadata_client.h"
#include "service/token_source.h"

namespace mdfs::service {
namespace {

using namespace std::chrono_literals;

struct SeenRequest {
  std::string method;
  std::string target;
  std::string headers;
  std::string body;
};

std::string httpResponse(int status, const std::string& body,
                         const std::vector<std::string>& headers = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " Scripted\r\n";
  for (const auto& h : headers)
    out += h + "\r\n";
  out += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
  return out;
}

// Appended to a scripted response: close the connection once it is sent.
constexpr std::string_view kThenClose = "\x01then-close\x01";

// A minimal HTTP/1.1 peer on 127.0.0.1: one thread per connection, keep-alive, and a
// handler that returns raw response bytes (empty: close without answering).
class ScriptedServer {
 public:
  using Handler = std::function<std::string(const SeenRequest&)>;

  explicit ScriptedServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
      ADD_FAILURE() << "scripted server cannot listen";
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }

  ~ScriptedServer() {
    stop_ = true;
    acceptor_.join();
    std::vector<std::thread> workers;
    {
      std::lock_guard lock(mu_);
      workers.swap(workers_);
    }
    for (auto& w : workers)
      w.join();
    ::close(listen_fd_);
  }

  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] int connections() const { return connections_; }
  [[nodiscard]] std::vector<SeenRequest> requests() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  [[nodiscard]] int count(const std::string& method, const std::string& path_prefix) const {
    int n = 0;
    for (const auto& r : requests())
      n += r.method == method && r.target.starts_with(path_prefix);
    return n;
  }

 private:
  static bool waitReadable(int fd, const std::atomic<bool>& stop) {
    while (!stop) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }

  void acceptLoop() {
    while (waitReadable(listen_fd_, stop_)) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++connections_;
      std::lock_guard lock(mu_);
      workers_.emplace_back([this, fd] {
        serve(fd);
        ::close(fd);
      });
    }
  }

  // Reads one request into `out`; false when the peer closed or the server stops.
  bool readRequest(int fd, std::string& buffer, SeenRequest& out) {
    std::size_t header_end;
    while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!readMore(fd, buffer)) return false;
    }
    const std::string head = buffer.substr(0, header_end);
    const std::size_t sp1 = head.find(' ');
    const std::size_t sp2 = head.find(' ', sp1 + 1);
    out.method = head.substr(0, sp1);
    out.target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    out.headers = head.substr(head.find("\r\n") + 2);
    std::size_t length = 0;
    if (auto at = lowercase(out.headers).find("content-length:"); at != std::string::npos) {
      length = std::stoul(out.headers.substr(at + 15));
    }
    while (buffer.size() < header_end + 4 + length) {
      if (!readMore(fd, buffer)) return false;
    }
    out.body = buffer.substr(header_end + 4, length);
    buffer.erase(0, header_end + 4 + length);
    return true;
  }

  bool readMore(int fd, std::string& buffer) {
    if (!waitReadable(fd, stop_)) return false;
    char chunk[4096];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  void serve(int fd) {
    std::string buffer;
    SeenRequest request;
    while (readRequest(fd, buffer, request)) {
      {
        std::lock_guard lock(mu_);
        seen_.push_back(request);
      }
      std::string response = handler_(request);
      if (response.empty()) return;
      const bool close_after = response.ends_with(kThenClose);
      if (close_after) response.resize(response.size() - kThenClose.size());
      if (::send(fd, response.data(), response.size(), MSG_NOSIGNAL) < 0 || close_after) return;
    }
  }

  static std::string lowercase(std::string s) {
    for (char& c : s)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<SeenRequest> seen_;
};

constexpr const char* kToken =
    R"({"access_token":"scripted-token-value","created_at":"2026-01-05T10:00:00Z","expires_at":"2026-01-05T10:05:00Z","expires_in":300})";

std::string tokenOr(const SeenRequest& r, const std::function<std::string()>& otherwise) {
  if (r.method == "PUT" && r.target.starts_with("/identity/v1/token")) {
    return httpResponse(201, kToken);
  }
  return otherwise();
}

// A client stack pointed at one scripted server.
struct ScriptedClient {
  explicit ScriptedClient(const std::string& endpoint, TransportOptions options = {})
      : http(std::move(options), log),
        tokens(api, http, clock, log),
        client(api, http, tokens, log) {
    api.endpoint = endpoint;
    api.page_limit = 2;
    api.retry.initial_backoff = 10ms;
    api.retry.max_backoff = 50ms;
  }
  Logger log{LogLevel::error, Logger::nullSink()};
  ApiConfig api;
  SystemClock clock;
  HttpTransport http;
  TokenSource tokens;
  MetadataClient client;
};

TEST(ServiceScripted, PaginationLoopStops) {
  ScriptedServer server([](const SeenRequest& r) {
    return tokenOr(r, [] {
      return httpResponse(200,
                          R"({"things":[{"id":"a"}],"next":{"href":"/v1/things?start=same"}})");
    });
  });
  ScriptedClient c(server.url());
  auto result = c.client.get("/metadata/v1/things", "things", deadlineIn(5s));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().errnum, EIO);
  EXPECT_NE(result.error().message.find("pagination loop"), std::string::npos);
  EXPECT_EQ(server.count("GET", "/metadata/v1/things"), 2);  // first page, then `same` once
}

TEST(ServiceScripted, FollowsForeignHrefsAndNextStart) {
  // Page 1 links like IBM's example (absolute, no /metadata); page 2 relative; page 3 has
  // next.start; page 4 is the last.
  ScriptedServer server([](const SeenRequest& r) {
    return tokenOr(r, [&] {
      const std::string& t = r.target;
      if (t.find("start=") == std::string::npos) {
        return httpResponse(200, R"({"limit":2,"total_count":7,"things":[{"id":"1"},{"id":"2"}],
          "next":{"href":"http://169.254.169.254/v1/things?limit=2&start=p%2B2"}})");
      }
      if (t.find("start=p%2B2") != std::string::npos) {
        return httpResponse(
            200, R"({"things":[{"id":"3"},{"id":"4"}],"next":{"href":"things?start=p3"}})");
      }
      if (t.find("start=p3") != std::string::npos) {
        return httpResponse(200, R"({"things":[{"id":"5"},{"id":"6"}],"next":{"start":"p4"}})");
      }
      if (t.find("start=p4") != std::string::npos) {
        return httpResponse(200, R"({"things":[{"id":"7"}]})");
      }
      return httpResponse(400, R"({"errors":[{"code":"invalid_value","message":"bad start"}]})");
    });
  });
  ScriptedClient c(server.url());
  FetchStats stats;
  auto result = c.client.get("/metadata/v1/things", "things", deadlineIn(5s), &stats);
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ(*result,
            R"({"limit":2,"total_count":7,"things":[{"id":"1"},{"id":"2"},{"id":"3"},{"id":"4"},)"
            R"({"id":"5"},{"id":"6"},{"id":"7"}]})");
  EXPECT_EQ(stats.pages, 4);
  EXPECT_EQ(stats.attempts, 4);
  const auto requests = server.requests();
  std::vector<std::string> gets;
  for (const auto& r : requests) {
    if (r.method == "GET") gets.push_back(r.target);
  }
  ASSERT_EQ(gets.size(), 4U);
  EXPECT_EQ(gets[0], "/metadata/v1/things?version=2025-08-26&limit=2");
  EXPECT_EQ(gets[1], "/metadata/v1/things?version=2025-08-26&start=p%2B2&limit=2");
  EXPECT_EQ(gets[2], "/metadata/v1/things?version=2025-08-26&start=p3&limit=2");
  EXPECT_EQ(gets[3], "/metadata/v1/things?version=2025-08-26&start=p4&limit=2");
}

TEST(ServiceScripted, FailingLaterPageFailsTheCollection) {
  for (int status : {404, 500}) {
    ScriptedServer server([&](const SeenRequest& r) {
      return tokenOr(r, [&] {
        if (r.target.find("start=") == std::string::npos) {
          return httpResponse(200, R"({"things":[{"id":"1"}],"next":{"start":"p2"}})");
        }
        return httpResponse(status, R"({"errors":[{"code":"x","message":"gone"}],"trace":"t2"})");
      });
    });
    ScriptedClient c(server.url());
    c.api.retry.max_attempts = 2;
    auto result = c.client.get("/metadata/v1/things", "things", deadlineIn(5s));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().errnum, EIO) << status;  // never ENOENT: the collection exists
    EXPECT_EQ(result.error().http_status, status);
    EXPECT_EQ(result.error().trace, "t2");
  }
}

TEST(ServiceScripted, CutOffBodyIsRetriedThenReported) {
  std::atomic<int> gets{0};
  ScriptedServer server([&](const SeenRequest& r) {
    return tokenOr(r, [&] {
      ++gets;
      std::string full = httpResponse(200, R"({"name":"a fairly long instance name"})");
      full.resize(full.size() - 10);  // Content-Length promises more than arrives
      return full + std::string(kThenClose);
    });
  });
  ScriptedClient c(server.url());
  c.api.retry.max_attempts = 3;
  const auto start = std::chrono::steady_clock::now();
  auto result = c.client.get("/metadata/v1/instance", "", deadlineIn(5s));
  ASSERT_FALSE(result.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(result.error().errnum, EIO);
  EXPECT_EQ(result.error().level, LogLevel::warning);
  EXPECT_EQ(gets, 3);
}

TEST(ServiceScripted, PageCapStopsEndlessCollections) {
  std::atomic<int> n{0};
  ScriptedServer server([&](const SeenRequest& r) {
    return tokenOr(r, [&] {
      return httpResponse(
          200, R"({"things":[{"id":"x"}],"next":{"start":"s)" + std::to_string(++n) + R"("}})");
    });
  });
  ScriptedClient c(server.url());
  c.api.max_pages = 5;
  auto result = c.client.get("/metadata/v1/things", "things", deadlineIn(5s));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().errnum, EIO);
  EXPECT_EQ(server.count("GET", "/metadata/v1/things"), 5);
}

TEST(ServiceScripted, ServiceThatRefusesLimitIsAskedWithout) {
  ScriptedServer server([](const SeenRequest& r) {
    return tokenOr(r, [&] {
      if (r.target.find("limit=") != std::string::npos) {
        return httpResponse(
            400, R"({"errors":[{"code":"unknown_field","message":"limit"}],"trace":"t"})");
      }
      return httpResponse(200, R"({"things":[]})");
    });
  });
  ScriptedClient c(server.url());
  for (int i = 0; i < 3; ++i) {
    auto result = c.client.get("/metadata/v1/things", "things", deadlineIn(5s));
    ASSERT_TRUE(result.ok()) << result.error().describe();
    EXPECT_EQ(*result, R"({"things":[]})");
  }
  EXPECT_EQ(server.count("GET", "/metadata/v1/things?version=2025-08-26&limit="), 1);
  EXPECT_EQ(server.count("GET", "/metadata/v1/things"), 4);
}

TEST(ServiceScripted, RedirectsAreNotFollowed) {
  ScriptedServer server([](const SeenRequest& r) {
    return tokenOr(r, [&] {
      return httpResponse(302, "", {"Location: /metadata/v1/elsewhere?version=2025-08-26"});
    });
  });
  ScriptedClient c(server.url());
  auto result = c.client.get("/metadata/v1/instance", "", deadlineIn(5s));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().errnum, EIO);
  EXPECT_EQ(result.error().http_status, 302);
  EXPECT_EQ(server.count("GET", "/metadata/v1/elsewhere"), 0);
}

TEST(ServiceScripted, RetryAfterAsHttpDateIsHonoured) {
  std::atomic<int> n{0};
  ScriptedServer server([&](const SeenRequest& r) {
    return tokenOr(r, [&] {
      if (n++ == 0) {
        return httpResponse(503, "{}", {"Retry-After: Thu, 01 Jan 1970 00:00:00 GMT"});
      }
      return httpResponse(200, R"({"name":"x"})");
    });
  });
  ScriptedClient c(server.url());
  FetchStats stats;
  auto result = c.client.get("/metadata/v1/instance", "", deadlineIn(5s), &stats);
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ(stats.retries, 1);
}

TEST(ServiceScripted, ProxyEnvironmentIsIgnored) {
  ScriptedServer proxy([](const SeenRequest&) { return httpResponse(502, "{}"); });
  ScriptedServer server([](const SeenRequest& r) {
    return tokenOr(r, [] { return httpResponse(200, R"({"name":"direct"})"); });
  });
  for (const char* var :
       {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"}) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): no other thread reads the environment now
    ::setenv(var, proxy.url().c_str(), 1);
  }
  ::unsetenv("no_proxy");  // NOLINT(concurrency-mt-unsafe)
  ::unsetenv("NO_PROXY");  // NOLINT(concurrency-mt-unsafe)
  {
    ScriptedClient c(server.url());
    auto result = c.client.get("/metadata/v1/instance", "", deadlineIn(5s));
    ASSERT_TRUE(result.ok()) << result.error().describe();
    EXPECT_EQ(*result, R"({"name":"direct"})");
  }
  for (const char* var :
       {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"}) {
    ::unsetenv(var);  // NOLINT(concurrency-mt-unsafe)
  }
  EXPECT_EQ(proxy.connections(), 0);
}

TEST(ServiceScripted, ExplicitProxyIsUsed) {
  // A proxy gets the absolute URL in the request line.
  ScriptedServer proxy([](const SeenRequest& r) {
    return tokenOr(r, [&] {
      if (r.method == "PUT") return httpResponse(201, kToken);
      return httpResponse(200, R"({"via":"proxy"})");
    });
  });
  TransportOptions options;
  options.proxy = proxy.url();
  ScriptedClient c("http://metadata.invalid", options);
  auto result = c.client.get("/metadata/v1/instance", "", deadlineIn(5s));
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ(*result, R"({"via":"proxy"})");
  EXPECT_EQ(proxy.count("GET", "http://metadata.invalid/metadata/v1/instance"), 1);
}

TEST(ServiceScripted, OnlyHttpAndHttpsSchemes) {
  Logger log{LogLevel::error, Logger::nullSink()};
  HttpTransport http(TransportOptions{}, log);
  for (const char* url : {"file:///etc/hostname", "ftp://127.0.0.1/x", "gopher://127.0.0.1/"}) {
    HttpRequest request;
    request.url = url;
    HttpResult result = http.perform(request, deadlineIn(2s));
    auto* failure = std::get_if<TransferError>(&result);
    ASSERT_NE(failure, nullptr) << url;
    EXPECT_EQ(failure->outcome, Outcome::misconfigured) << url;
    EXPECT_FALSE(failure->retryable());
    EXPECT_EQ(failure->error.errnum, EIO);
  }
}

TEST(ServiceScripted, RequestsCarryTheDocumentedHeaders) {
  ScriptedServer server([](const SeenRequest& r) {
    return tokenOr(r, [] { return httpResponse(200, R"({"name":"x"})"); });
  });
  ScriptedClient c(server.url());
  c.api.token_ttl_s = 600;
  ASSERT_TRUE(c.client.get("/metadata/v1/instance", "", deadlineIn(5s)).ok());
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2U);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].target, "/identity/v1/token?version=2025-08-26");
  EXPECT_NE(requests[0].headers.find("Metadata-Flavor: ibm"), std::string::npos);
  EXPECT_NE(requests[0].headers.find("Content-Type: application/json"), std::string::npos);
  EXPECT_EQ(requests[0].body, R"({"expires_in": 600})");
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_NE(requests[1].headers.find("Authorization: Bearer scripted-token-value"),
            std::string::npos);
  EXPECT_NE(requests[1].headers.find("Accept: application/json"), std::string::npos);
  EXPECT_EQ(requests[1].headers.find("Metadata-Flavor"), std::string::npos);
}

}  // namespace
}  // namespace mdfs::service
