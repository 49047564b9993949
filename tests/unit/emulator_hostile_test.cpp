// The emulator's hostile answers: lying lengths, endless and trickled bodies, redirects,
// answers of the caller's choosing and token answers that misstate their lifetime.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "emulator/control.h"
#include "emulator/emulator.h"
#include "emulator/testing.h"

namespace mdfs::emu {
namespace {

using namespace std::chrono_literals;
using testing::Client;
using testing::Reply;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kKeys = "/metadata/v1/keys";

class EmulatorHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(emu.start().ok());
    token = Client(emu.url()).token();
  }
  void TearDown() override { emu.clearFaults(); }

  testing::RawExchange rawKeys(std::chrono::milliseconds timeout) {
    return testing::rawExchange(
        emu.port(), testing::rawGet(std::string(kKeys) + "?version=2024-11-12", token), timeout);
  }
  static Fault fault(Fault::Kind kind, int count = -1) {
    Fault f;
    f.kind = kind;
    f.path = kKeys;
    f.count = count;
    return f;
  }
  static std::size_t announcedLength(const std::string& received) {
    const auto cl = received.find("Content-Length: ");
    return cl == std::string::npos ? 0 : std::stoul(received.substr(cl + 16));
  }
  static std::size_t bodyBytes(const std::string& received) {
    const auto end = received.find("\r\n\r\n");
    return end == std::string::npos ? 0 : received.size() - end - 4;
  }

  Emulator emu{Options{}};
  std::string token;
};

TEST_F(EmulatorHostile, OverlongSendsTheBodyThenStaysSilentUntilCleared) {
  emu.addFault(fault(Fault::Kind::overlong, 1));
  const auto raw = rawKeys(500ms);
  ASSERT_EQ(raw.received.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << raw.received;
  EXPECT_TRUE(raw.timed_out) << "the connection stays open";
  const std::size_t got = bodyBytes(raw.received);
  EXPECT_GT(got, 100U);
  EXPECT_EQ(announcedLength(raw.received), got * 2 + 16);
  emu.clearFaults();
  EXPECT_EQ(Client(emu.url())
                .get(std::string(kKeys) + "?version=2024-11-12", Client::bearer(token))
                .status,
            200);
}

TEST_F(EmulatorHostile, EndlessSendsChunksWithoutTheLastOne) {
  Fault f = fault(Fault::Kind::endless);
  f.latency = 50ms;
  emu.addFault(f);
  const auto raw = rawKeys(700ms);
  EXPECT_TRUE(raw.timed_out);
  EXPECT_NE(raw.received.find("Transfer-Encoding: chunked"), std::string::npos) << raw.received;
  EXPECT_EQ(raw.received.find("\r\n0\r\n\r\n"), std::string::npos) << "no last chunk";
  EXPECT_GE(raw.received.find_last_of(' '), raw.received.size() - 3);
  const auto lines = std::count(raw.received.begin(), raw.received.end(), '\n');
  EXPECT_GT(lines, 20) << "a chunk about every 50 ms";
}

TEST_F(EmulatorHostile, TrickleSendsOneBytePerPace) {
  Fault f = fault(Fault::Kind::trickle);
  f.latency = 100ms;
  emu.addFault(f);
  const auto raw = rawKeys(1050ms);
  EXPECT_TRUE(raw.timed_out);
  EXPECT_GT(announcedLength(raw.received), 100U);
  const std::size_t got = bodyBytes(raw.received);
  EXPECT_GE(got, 5U);
  EXPECT_LE(got, 12U);
}

TEST_F(EmulatorHostile, ClearingEndsASlowDeliveryAndClosesTheConnection) {
  Fault f = fault(Fault::Kind::trickle);
  f.latency = 10s;
  emu.addFault(f);
  auto pending = std::async(std::launch::async, [&] { return rawKeys(5s); });
  std::this_thread::sleep_for(200ms);
  const auto cleared_at = SteadyClock::now();
  emu.clearFaults();
  const auto raw = pending.get();
  EXPECT_FALSE(raw.timed_out);
  EXPECT_LT(SteadyClock::now() - cleared_at, 2s);
}

TEST_F(EmulatorHostile, RedirectAnswersLocation) {
  Fault f = fault(Fault::Kind::redirect, 2);
  emu.addFault(f);
  Client client(emu.url());
  Reply r = client.get(kKeys, Client::bearer(token));
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.header("Location"), "http://192.0.2.1/metadata/v1/instance");
  f.status = 301;
  f.location = "http://127.0.0.1:1/elsewhere";
  emu.clearFaults();
  emu.addFault(f);
  r = client.get(kKeys, Client::bearer(token));
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.header("Location"), "http://127.0.0.1:1/elsewhere");
}

TEST_F(EmulatorHostile, BodyAnswersExactlyTheBytesGiven) {
  Fault f = fault(Fault::Kind::body, 1);
  f.body = std::string("{\"a\":\"\xff\xfe\"}");
  emu.addFault(f);
  const Reply r = Client(emu.url()).get(kKeys, Client::bearer(token));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, f.body);
}

TEST_F(EmulatorHostile, TokenAnswersClaimTheReportedExpiresInButStayValid) {
  for (const char* claimed : {"0", "-30", "99999999999999999999"}) {
    emu.setReportedTokenExpiresIn(claimed);
    Client client(emu.url());
    const Reply r = client.put("/identity/v1/token?version=2024-11-12", R"({"expires_in":60})",
                               {{"Metadata-Flavor", "ibm"}});
    ASSERT_EQ(r.status, 201) << claimed;
    EXPECT_NE(r.body.find(std::string("\"expires_in\":") + claimed), std::string::npos) << r.body;
    const std::string fresh = r.at("/access_token");
    EXPECT_EQ(client.get(std::string(kKeys) + "?version=2024-11-12", Client::bearer(fresh)).status,
              200)
        << claimed;
  }
  emu.setReportedTokenExpiresIn("");
  EXPECT_EQ(Client(emu.url())
                .put("/identity/v1/token?version=2024-11-12", R"({"expires_in":60})",
                     {{"Metadata-Flavor", "ibm"}})
                .at("/expires_in"),
            "60");
}

TEST(EmulatorHostileJson, NewKindsAndFieldsRoundTrip) {
  for (const char* kind : {"overlong", "endless", "trickle", "redirect", "body"}) {
    const auto f = faultFromJson(std::string(R"({"kind":")") + kind +
                                 R"(","location":"http://x/","body":"{}","latency_ms":5})");
    ASSERT_TRUE(f.ok()) << kind;
    EXPECT_EQ(f->location, "http://x/");
    EXPECT_EQ(f->body, "{}");
    const auto again = faultFromJson(faultToJson(*f));
    ASSERT_TRUE(again.ok()) << faultToJson(*f);
    EXPECT_EQ(again->kind, f->kind);
  }
}

}  // namespace
}  // namespace mdfs::emu
