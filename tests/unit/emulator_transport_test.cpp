// The emulator below the API: connections and keep-alive, counters, injected faults,
// the service switch, HTTPS, stopping, and the HTTP control API.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "emulator/emulator.h"
#include "emulator/testing.h"

namespace mdfs::emu {
namespace {

using namespace std::chrono_literals;
using testing::Client;
using testing::Reply;

constexpr const char* kKeys = "/metadata/v1/keys";

class EmulatorTransport : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(emu.start().ok());
    token = Client(emu.url()).token();
    emu.resetCounters();
  }
  Reply getKeys() {
    return Client(emu.url()).get(std::string(kKeys) + "?version=2024-11-12", Client::bearer(token));
  }
  testing::RawExchange rawKeys(std::chrono::milliseconds timeout = 5s) {
    return testing::rawExchange(
        emu.port(), testing::rawGet(std::string(kKeys) + "?version=2024-11-12", token), timeout);
  }
  static Fault fault(Fault::Kind kind, const std::string& path = kKeys, int count = -1) {
    Fault f;
    f.kind = kind;
    f.path = path;
    f.count = count;
    return f;
  }

  Emulator emu{Options{}};
  std::string token;
};

TEST_F(EmulatorTransport, HundredSequentialGetsReuseOneConnection) {
  Client client(emu.url());
  client.keepAlive();
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(client.get(std::string(kKeys) + "?version=2024-11-12", Client::bearer(token)).status,
              200);
  }
  EXPECT_EQ(emu.connectionsAccepted(), 1U);
  EXPECT_EQ(emu.requests("GET", kKeys), 100U);
}

TEST_F(EmulatorTransport, EachNewConnectionIsCounted) {
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(getKeys().status, 200);
  EXPECT_EQ(emu.connectionsAccepted(), 3U);
  emu.resetCounters();
  EXPECT_EQ(emu.connectionsAccepted(), 0U);
  EXPECT_EQ(emu.totalRequests(), 0U);
}

TEST_F(EmulatorTransport, CountersAreByMethodAndPathWithoutQuery) {
  Client client(emu.url());
  client.get("/metadata/v1/placement_groups?version=2024-11-12&limit=2", Client::bearer(token));
  client.get("/metadata/v1/placement_groups?version=2024-11-12&limit=3", Client::bearer(token));
  client.put("/identity/v1/token?version=2024-11-12", "", {{"Metadata-Flavor", "ibm"}});
  client.get("/nowhere");
  client.get("/_emulator/counters");  // control routes are not counted
  EXPECT_EQ(emu.requests("GET", "/metadata/v1/placement_groups"), 2U);
  EXPECT_EQ(emu.requests("PUT", "/identity/v1/token"), 1U);
  EXPECT_EQ(emu.requests("GET", "/nowhere"), 1U);
  EXPECT_EQ(emu.requests("GET", "/_emulator/counters"), 0U);
  EXPECT_EQ(emu.totalRequests(), 4U);
  EXPECT_EQ(emu.requestCounts().size(), 3U);
}

TEST_F(EmulatorTransport, StatusFaultWithRetryAfterForTheNextRequestsOnly) {
  Fault f = fault(Fault::Kind::status, kKeys, 2);
  f.status = 429;
  f.retry_after_s = 3;
  emu.addFault(f);
  for (int i = 0; i < 2; ++i) {
    const Reply r = getKeys();
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.header("Retry-After"), "3");
    EXPECT_EQ(r.at("/trace"), r.header("X-Request-Id"));
    EXPECT_FALSE(r.errorCode().empty());
  }
  EXPECT_EQ(getKeys().status, 200);
  EXPECT_TRUE(emu.faults().empty());
  for (int status : {500, 503}) {
    Fault s = fault(Fault::Kind::status, "*", 1);
    s.status = status;
    emu.addFault(s);
    EXPECT_EQ(getKeys().status, status);
  }
}

TEST_F(EmulatorTransport, FaultsMatchByMethodAndPathPrefix) {
  Fault f = fault(Fault::Kind::status, "/metadata/*");
  f.status = 503;
  f.method = "GET";
  emu.addFault(f);
  EXPECT_EQ(getKeys().status, 503);
  EXPECT_EQ(Client(emu.url()).token().empty(), false);                  // identity PUT unaffected
  EXPECT_EQ(Client(emu.url()).get("/_emulator/counters").status, 200);  // control never faulted
  emu.clearFaults();
  EXPECT_EQ(getKeys().status, 200);
}

TEST_F(EmulatorTransport, LatencyFaultDelaysTheAnswer) {
  Fault f = fault(Fault::Kind::latency, kKeys, 1);
  f.latency = 200ms;
  emu.addFault(f);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(getKeys().status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  const auto again = std::chrono::steady_clock::now();
  EXPECT_EQ(getKeys().status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - again, 150ms);
}

TEST_F(EmulatorTransport, ResetFaultResetsTheConnection) {
  emu.addFault(fault(Fault::Kind::reset, kKeys, 1));
  const auto raw = rawKeys();
  EXPECT_TRUE(raw.connected);
  EXPECT_TRUE(raw.reset);
  EXPECT_TRUE(raw.received.empty()) << raw.received;
  EXPECT_EQ(getKeys().status, 200);
}

TEST_F(EmulatorTransport, HangFaultNeverAnswersUntilCleared) {
  emu.addFault(fault(Fault::Kind::hang));
  const auto timed = rawKeys(300ms);
  EXPECT_TRUE(timed.timed_out);
  EXPECT_TRUE(timed.received.empty());
  auto pending = std::async(std::launch::async, [&] { return rawKeys(10s); });
  std::this_thread::sleep_for(100ms);
  const auto cleared_at = std::chrono::steady_clock::now();
  emu.clearFaults();
  const auto released = pending.get();
  EXPECT_FALSE(released.timed_out);
  EXPECT_TRUE(released.received.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - cleared_at, 2s);
  EXPECT_EQ(getKeys().status, 200);
}

TEST_F(EmulatorTransport, TruncateFaultSendsHalfTheAnnouncedBody) {
  emu.addFault(fault(Fault::Kind::truncate, kKeys, 1));
  const auto raw = rawKeys();
  ASSERT_EQ(raw.received.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << raw.received;
  const auto header_end = raw.received.find("\r\n\r\n");
  ASSERT_NE(header_end, std::string::npos);
  const auto cl = raw.received.find("Content-Length: ");
  ASSERT_NE(cl, std::string::npos);
  const std::size_t announced = std::stoul(raw.received.substr(cl + 16));
  const std::size_t got = raw.received.size() - header_end - 4;
  EXPECT_GT(announced, 1000U);
  EXPECT_EQ(got, announced / 2);
  EXPECT_FALSE(raw.timed_out);
}

TEST_F(EmulatorTransport, MalformedFaultAnswers200WithNonJson) {
  emu.addFault(fault(Fault::Kind::malformed, kKeys, 1));
  const Reply r = getKeys();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_FALSE(r.body.empty());
  EXPECT_TRUE(r.json().HasParseError());
}

TEST_F(EmulatorTransport, OversizedFaultAnswersValidJsonOfTheGivenSize) {
  Fault f = fault(Fault::Kind::oversized, kKeys, 1);
  f.oversized_bytes = (std::size_t{4} << 20) + 1;
  emu.addFault(f);
  const Reply r = getKeys();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), f.oversized_bytes);
  EXPECT_FALSE(r.json().HasParseError());
}

TEST_F(EmulatorTransport, DisabledServiceRefusesAndResetsThenComesBackOnTheSamePort) {
  const int port = emu.port();
  // An idle kept-alive connection is reset when the service goes away.
  const int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::this_thread::sleep_for(50ms);  // accepted by the server

  emu.setServiceEnabled(false);
  EXPECT_FALSE(emu.serviceEnabled());
  pollfd p{idle, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  char c = 0;
  EXPECT_EQ(::recv(idle, &c, 1, 0), -1);
  EXPECT_EQ(errno, ECONNRESET);
  ::close(idle);
  const auto refused = rawKeys();
  EXPECT_FALSE(refused.connected);
  EXPECT_EQ(refused.connect_errno, ECONNREFUSED);

  emu.setServiceEnabled(true);
  EXPECT_EQ(emu.port(), port);
  EXPECT_EQ(getKeys().status, 200);
}

TEST_F(EmulatorTransport, DisableForADurationComesBackByItself) {
  emu.disableServiceFor(300ms);
  EXPECT_EQ(rawKeys().connect_errno, ECONNREFUSED);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!emu.serviceEnabled() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(emu.serviceEnabled());
  EXPECT_EQ(getKeys().status, 200);
}

TEST_F(EmulatorTransport, StopIsPromptWithIdleAndHungConnections) {
  emu.addFault(fault(Fault::Kind::hang));
  auto hung = std::async(std::launch::async, [&] { return rawKeys(10s); });
  Client idle(emu.url());
  idle.keepAlive();
  ASSERT_EQ(idle.get("/_emulator/counters").status, 200);  // stays open, 5 s keep-alive
  std::this_thread::sleep_for(100ms);
  const auto start = std::chrono::steady_clock::now();
  emu.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_FALSE(hung.get().timed_out);
}

TEST_F(EmulatorTransport, ConcurrentClientsAreServed) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      Client client(emu.url());
      client.keepAlive();
      for (int i = 0; i < 25; ++i) {
        if (client.get("/metadata/v1/instance?version=2024-11-12", Client::bearer(token)).status ==
            200)
          ++ok;
      }
    });
  }
  EXPECT_TRUE(emu.setData("/instance/name", R"("changing")").ok());
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(emu.connectionsAccepted(), 8U);
}

TEST_F(EmulatorTransport, ControlApiOverHttp) {
  Client c(emu.url());
  EXPECT_EQ(c.get("/_emulator/").status, 200);
  EXPECT_EQ(c.get("/_emulator/no-such-control").status, 404);

  ASSERT_EQ(getKeys().status, 200);
  Reply counters = c.get("/_emulator/counters");
  EXPECT_EQ(counters.at("/requests/GET ~1metadata~1v1~1keys"), "1");
  EXPECT_EQ(counters.at("/total"), "1");
  // getKeys, three control requests and this one, each on a connection of its own.
  EXPECT_EQ(c.get("/_emulator/connections").at("/accepted"), "5");
  EXPECT_EQ(c.post("/_emulator/counters/reset", "").status, 200);
  EXPECT_EQ(emu.totalRequests(), 0U);

  // Data by ?pointer= and by body.
  EXPECT_EQ(c.put("/_emulator/data?pointer=/instance/name", R"("via-http")").status, 200);
  EXPECT_EQ(c.get("/_emulator/data?pointer=/instance/name").body, R"("via-http")");
  EXPECT_EQ(
      c.post("/_emulator/data", R"({"pointer":"/keys","value":{"id":"k3","name":"third"}})").status,
      200);
  EXPECT_EQ(c.del("/_emulator/data?pointer=/keys/0").status, 200);
  EXPECT_EQ(c.del("/_emulator/data?pointer=/nothing").status, 404);
  EXPECT_EQ(c.put("/_emulator/data?pointer=/instance/name", "{bad").status, 400);
  EXPECT_NE(c.get("/_emulator/scenario").body.find("\"third\""), std::string::npos);

  // Faults.
  EXPECT_EQ(
      c.post(
           "/_emulator/faults",
           R"({"kind":"status","path":"/metadata/v1/keys","status":503,"retry_after_s":1,"count":1})")
          .status,
      200);
  EXPECT_EQ(c.post("/_emulator/faults", R"({"kind":"explode"})").status, 400);
  EXPECT_EQ(c.post("/_emulator/faults", R"({"kind":"status","colour":"red"})").status, 400);
  EXPECT_EQ(c.get("/_emulator/faults").at("/faults/0/status"), "503");
  EXPECT_EQ(getKeys().status, 503);
  EXPECT_EQ(c.post("/_emulator/faults", R"({"kind":"reset"})").status, 200);
  EXPECT_EQ(c.del("/_emulator/faults").status, 200);
  EXPECT_TRUE(emu.faults().empty());

  // Switches.
  EXPECT_EQ(c.put("/_emulator/keys_pagination", R"({"paginated":true})").at("/paginated"), "true");
  EXPECT_TRUE(emu.keysPaginated());
  EXPECT_EQ(c.put("/_emulator/legacy_token_status", R"({"status":201})").status, 200);
  EXPECT_EQ(
      c.put("/instance_identity/v1/token?version=2024-11-12", "", {{"Metadata-Flavor", "ibm"}})
          .status,
      201);
  EXPECT_EQ(
      c.put("/_emulator/tokens/lifetimes", R"({"identity_cap_s":7,"iam_lifetime_s":9})").status,
      200);
  EXPECT_EQ(c.put("/identity/v1/token?version=2024-11-12", "", {{"Metadata-Flavor", "ibm"}})
                .at("/expires_in"),
            "7");
  EXPECT_EQ(c.post("/_emulator/tokens/expire", "").status, 200);
  EXPECT_EQ(getKeys().status, 401);
  EXPECT_EQ(c.put("/_emulator/service", R"({"enabled":"no"})").status, 400);
  EXPECT_EQ(c.get("/_emulator/service").at("/enabled"), "true");
}

TEST(EmulatorControlPort, StaysUpWhileTheServiceIsDisabled) {
  Options o;
  o.control_port = 0;
  Emulator emu(o);
  ASSERT_TRUE(emu.start().ok());
  ASSERT_FALSE(emu.controlUrl().empty());
  Client control(emu.controlUrl());
  EXPECT_EQ(control.get("/metadata/v1/instance?version=2024-11-12").status, 404);  // control only
  EXPECT_EQ(control.put("/_emulator/service", R"({"enabled":false})").at("/enabled"), "false");
  EXPECT_EQ(testing::rawExchange(emu.port(), "").connect_errno, ECONNREFUSED);
  EXPECT_EQ(control.get("/_emulator/service").at("/enabled"), "false");
  EXPECT_EQ(control.put("/_emulator/service", R"({"enabled":false,"duration_ms":100})").status,
            200);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!emu.serviceEnabled() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(Client(emu.url()).token().empty(), false);
  EXPECT_EQ(emu.connectionsAccepted(), 1U);  // control connections are not counted
}

TEST(EmulatorHttps, ServesTlsThatVerifiesAgainstTheWrittenCa) {
  Options o;
  o.https = true;
  Emulator emu(o);
  ASSERT_TRUE(emu.start().ok());
  EXPECT_EQ(emu.url().rfind("https://127.0.0.1:", 0), 0U) << emu.url();
  const std::string ca = emu.caCertPath();
  struct stat st {};
  ASSERT_EQ(::stat(ca.c_str(), &st), 0) << ca;

  httplib::SSLClient tls("127.0.0.1", emu.port());
  tls.set_ca_cert_path(ca.c_str());
  tls.enable_server_certificate_verification(true);
  auto token = tls.Put("/identity/v1/token?version=2024-11-12", {{"Metadata-Flavor", "ibm"}}, "",
                       "application/json");
  ASSERT_TRUE(token) << httplib::to_string(token.error());
  EXPECT_EQ(token->status, 201);

  httplib::SSLClient untrusting("127.0.0.1", emu.port());
  untrusting.enable_server_certificate_verification(true);
  untrusting.set_ca_cert_path("/dev/null");
  EXPECT_FALSE(untrusting.Get("/metadata/v1/instance?version=2024-11-12"));

  // Plain HTTP gets no HTTP answer.
  const auto plain = testing::rawExchange(emu.port(), testing::rawGet("/"), 2s);
  EXPECT_EQ(plain.received.find("HTTP/1.1 200"), std::string::npos);

  emu.stop();
  EXPECT_NE(::stat(ca.c_str(), &st), 0) << "temporary TLS files are removed";
}

TEST(EmulatorHttps, ATlsDirKeepsItsCaAcrossRuns) {
  char dir[] = "/tmp/emulator-tls-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  std::string first;
  for (int run = 0; run < 2; ++run) {
    Options o;
    o.https = true;
    o.tls_dir = dir;
    Emulator emu(o);
    ASSERT_TRUE(emu.start().ok());
    EXPECT_EQ(emu.caCertPath(), std::string(dir) + "/ca.pem");
    const std::string ca = read(emu.caCertPath());
    EXPECT_NE(ca.find("BEGIN CERTIFICATE"), std::string::npos);
    if (run == 0) first = ca;
    EXPECT_EQ(ca, first);
    httplib::SSLClient tls("127.0.0.1", emu.port());
    tls.set_ca_cert_path(emu.caCertPath().c_str());
    tls.enable_server_certificate_verification(true);
    auto r = tls.Get("/metadata/v1/instance?version=2024-11-12");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
  }
  for (const char* f : {"ca.pem", "ca-key.pem", "server.pem", "server-key.pem"}) {
    ::unlink((std::string(dir) + "/" + f).c_str());
  }
  ::rmdir(dir);
}

TEST(EmulatorLifecycle, PortInUseFailsWithAMessage) {
  Emulator first{Options{}};
  ASSERT_TRUE(first.start().ok());
  Options o;
  o.port = first.port();
  Emulator second(o);
  const auto s = second.start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(std::to_string(first.port())), std::string::npos)
      << s.error().message;
}

}  // namespace
}  // namespace mdfs::emu
