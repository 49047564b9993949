// Logging as an administrator meets it (issue 5): standard error with -f, syslog (the
// journal) when detached, four levels, one start-up line with endpoint, API version and
// TTLs, failure lines with endpoint, HTTP status and IBM trace id, and never a token, an
// Authorization header or user data, even at debug level with the HTTP wire trace.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <thread>
#include <vector>

#include "integration/mount_fixture.h"

namespace mdfs::itest {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Asserts that `log` holds none of the secrets a full walk of the mount reads.
void expectNoSecrets(const std::string& log, const std::vector<std::string>& secrets) {
  // Identity and IAM tokens are JWTs; every JWT starts with the base64 of '{"'.
  EXPECT_EQ(log.find("eyJ"), std::string::npos) << "a JWT in the log";
  EXPECT_EQ(lower(log).find("authorization"), std::string::npos) << "an Authorization header";
  EXPECT_EQ(lower(log).find("bearer"), std::string::npos);
  EXPECT_EQ(log.find("access_token"), std::string::npos);
  for (const auto& secret : secrets) {
    for (const auto& line : linesOf(secret)) {
      // Long enough lines only: short ones ("users:") could occur by chance.
      std::string trimmed = line.substr(0, line.find_last_not_of(" \r") + 1);
      trimmed.erase(0, trimmed.find_first_not_of(' '));
      if (trimmed.size() < 10) continue;
      EXPECT_EQ(log.find(trimmed), std::string::npos) << "secret text in the log: " << trimmed;
    }
  }
}

class OpsLog : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(emulator_.start().ok()); }

  void addStatusFault(const char* path, int status) {
    emu::Fault f;
    f.kind = emu::Fault::Kind::status;
    f.status = status;
    f.path = path;
    emulator_.addFault(f);
  }

  emu::Emulator emulator_{emu::Options{}};
};

TEST_F(OpsLog, StartupLineNamesEndpointApiVersionAndTtls) {
  Mount m(emulator_, {"api_version=2024-11-12", "ttl=30", "ttl.keys=300", "token_ttl=600",
                      "max_stale=120", "timeout=7"});
  // The line is written just after the mount appears; give the daemon a moment.
  for (int i = 0; i < 250 && m.log().find("serving") == std::string::npos; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  auto lines = linesOf(m.log());
  ASSERT_FALSE(lines.empty());
  const std::string& first = lines.front();
  EXPECT_NE(first.find("info: serving " + m.path() + " from " + emulator_.url()), std::string::npos)
      << first;
  for (const char* part : {"API version 2024-11-12", "ttl 30 s", "keys 300 s", "token_ttl 600 s",
                           "max_stale 120 s", "timeout 7 s"}) {
    EXPECT_NE(first.find(part), std::string::npos) << part << " in " << first;
  }
  EXPECT_EQ(first.rfind("metadatafs[", 0), 0U) << first;
}

TEST_F(OpsLog, InfoLevelByDefaultDebugOnlyWithDashDWireTraceOnlyWithDebugHttp) {
  {
    Mount m(emulator_);
    ASSERT_FALSE(readFile(m.at("instance/name")).empty());
    std::string log = m.log();
    EXPECT_EQ(log.find(": debug: "), std::string::npos) << log;
    EXPECT_NE(log.find(": info: "), std::string::npos) << log;
  }
  {
    // -d is metadatafs's own debug lines, without libcurl's wire trace (issue 17).
    Mount m(emulator_, {"debug"});
    ASSERT_FALSE(readFile(m.at("instance/name")).empty());
    std::string log = m.log();
    EXPECT_NE(log.find(": debug: "), std::string::npos) << log;
    EXPECT_EQ(log.find("curl: "), std::string::npos) << log;
  }
  {
    // debug_http adds the exchanges themselves, which is what makes the secrets test below
    // meaningful.
    Mount m(emulator_, {"debug_http"});
    ASSERT_FALSE(readFile(m.at("instance/name")).empty());
    std::string log = m.log();
    EXPECT_NE(log.find("curl: > GET /metadata/v1/instance"), std::string::npos) << log;
    EXPECT_NE(log.find("curl: > PUT /identity/v1/token"), std::string::npos) << log;
  }
}

TEST_F(OpsLog, DebugLogOfAFullWalkHoldsNoTokenAuthorizationOrUserData) {
  // A user_data of our own, so a leak cannot hide among common words.
  const std::string user_data =
      "#cloud-config\nruncmd:\n  - echo mdfs-ops-user-data-marker-5e1f9c > /root/marker\n"
      "write_files:\n  - content: db-password-of-the-ops-test-2b7d\n";
  std::string json;
  for (char c : user_data) {
    json += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  ASSERT_TRUE(emulator_.setData("/initialization/user_data", "\"" + json + "\"").ok());
  Mount m(emulator_, {"debug_http", "identity", "trusted_profile=default", "ttl=1"});

  // Everything a curious administrator could do, twice, across a TTL and a token renewal.
  const std::string walk = "find " + quote(m.path()) + " -type f -exec cat {} + ; find " +
                           quote(m.path()) + " -type l -exec readlink {} + ; ls -laR " +
                           quote(m.path()) + "; cat " + quote(m.at(".status"));
  auto first = run(walk, 60s);
  emulator_.expireAllTokens();
  std::this_thread::sleep_for(1200ms);
  auto second = run(walk, 60s);
  EXPECT_NE(first.out.find("mdfs-ops-user-data-marker-5e1f9c"), std::string::npos)
      << "the walk read user_data";
  EXPECT_NE(second.out.find("\"endpoints\""), std::string::npos);

  std::vector<std::string> secrets = {user_data, readFile(m.at("instance/initialization.json"))};
  // The token files, when this build has them (identity, trusted_profile).
  for (const char* rel : {"identity/token", "identity/iam_token"}) {
    int err = 0;
    std::string token = readFile(m.at(rel), &err);
    if (err == 0 && !token.empty()) {
      EXPECT_EQ(token.rfind("eyJ", 0), 0U) << rel;
      secrets.push_back(token);
    }
  }
  std::string password = readFile(m.at("instance/initialization/password/encrypted_password"));
  if (!password.empty()) secrets.push_back(password);

  std::string log = m.log();
  ASSERT_NE(log.find(": debug: "), std::string::npos);
  expectNoSecrets(log, secrets);
  // Bodies are summarized, and the token's body is marked secret.
  EXPECT_NE(log.find("bytes of response body, secret]"), std::string::npos);
}

TEST_F(OpsLog, FailureLinesNameTheEndpointTheHttpStatusAndTheTraceId) {
  addStatusFault("/metadata/v1/keys", 503);
  addStatusFault("/metadata/v1/placement_groups", 403);
  addStatusFault("/metadata/v1/instance", 500);
  Mount m(emulator_, {"timeout=2"});
  int err = 0;
  readFile(m.at("keys/by-name/ops-rsa/name"), &err);
  EXPECT_EQ(err, EIO);
  readFile(m.at("placement_groups.json"), &err);
  EXPECT_EQ(err, EACCES);
  readFile(m.at("instance/name"), &err);
  EXPECT_EQ(err, EIO);

  struct Expect {
    const char* level;
    const char* path;
    const char* status;
  };
  auto lines = linesOf(m.log());
  for (const Expect& e : {Expect{"warning", "/metadata/v1/keys", "HTTP 503"},
                          Expect{"error", "/metadata/v1/placement_groups", "HTTP 403"},
                          Expect{"warning", "/metadata/v1/instance", "HTTP 500"}}) {
    auto it = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.find(std::string(": ") + e.level + ": ") != std::string::npos &&
             l.find(e.path) != std::string::npos;
    });
    ASSERT_NE(it, lines.end()) << e.level << " line for " << e.path << " in\n" << m.log();
    EXPECT_NE(it->find(emulator_.url() + e.path), std::string::npos) << *it;
    EXPECT_NE(it->find(e.status), std::string::npos) << *it;
    EXPECT_NE(it->find(", trace "), std::string::npos) << *it;
  }
  // Every warning or error names the endpoint it is about.
  for (const auto& l : lines) {
    if (l.find(": warning: ") == std::string::npos && l.find(": error: ") == std::string::npos) {
      continue;
    }
    EXPECT_NE(l.find(emulator_.url() + "/metadata/v1/"), std::string::npos) << l;
  }
  emulator_.clearFaults();
}

// A datagram socket standing in for /dev/log, the socket syslog(3) writes to.
class SyslogCatcher {
 public:
  explicit SyslogCatcher(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    chmod(path.c_str(), 0666);
  }
  ~SyslogCatcher() {
    close(fd_);
    unlink(path_.c_str());
  }
  SyslogCatcher(const SyslogCatcher&) = delete;
  SyslogCatcher& operator=(const SyslogCatcher&) = delete;

  std::vector<std::string> messages() {
    std::vector<std::string> out;
    char buf[8192];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.emplace_back(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// The test's folder; removed last, after the catcher has removed its socket.
struct SyslogDir {
  SyslogDir() {
    char t[] = "/tmp/mdfs-ops-syslog-XXXXXX";
    if (mkdtemp(t) != nullptr) path = t;
  }
  ~SyslogDir() {
    if (path.empty()) return;
    if (isMounted(path + "/m")) run("umount -l " + quote(path + "/m"), std::chrono::seconds(10));
    for (const char* sub : {"/m", "/realdev", ""})
      rmdir((path + sub).c_str());
  }
  SyslogDir(const SyslogDir&) = delete;
  SyslogDir& operator=(const SyslogDir&) = delete;
  std::string path;
};

TEST_F(OpsLog, DetachedDaemonLogsToSyslogAtTheRightPriorities) {
  SyslogDir tmp;
  ASSERT_FALSE(tmp.path.empty());
  const std::string dir = tmp.path;
  const std::string mnt = dir + "/m";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  SyslogCatcher catcher(dir + "/log");
  addStatusFault("/metadata/v1/keys", 503);

  // In a private mount namespace, a fresh /dev holds only the devices metadatafs needs and
  // /dev/log pointing at the catcher, so the rest of the machine is untouched.
  const std::string d = quote(dir);
  const std::string m = quote(mnt);
  std::string script = "mkdir " + d +
                       "/realdev\n"
                       "mount --rbind /dev " +
                       d +
                       "/realdev\n"
                       "mount -t tmpfs mdfs-ops-dev /dev\n"
                       "for n in fuse null zero random urandom; do\n"
                       "  touch /dev/$n; mount --bind " +
                       d +
                       "/realdev/$n /dev/$n\n"
                       "done\n"
                       "umount -l " +
                       d +
                       "/realdev\n"
                       "ln -s " +
                       d + "/log /dev/log\n" + quote(buildDir() + "/metadatafs") + " " + m +
                       " -o cloud=ibm,endpoint=" + emulator_.url() +
                       ",timeout=2\n"
                       "cat " +
                       m +
                       "/instance/name\n"
                       "cat " +
                       m +
                       "/keys/by-name/ops-rsa/name 2>/dev/null && exit 3\n"
                       "kill -HUP \"$(daemons_under " +
                       m +
                       ")\"; sleep 0.3\n"
                       "unmount_and_wait " +
                       m + "\n";
  auto r = runInPrivateMountNamespace(script, 60s);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("web-frontend-01"), std::string::npos) << r.out;
  // Once detached, nothing goes to standard error.
  EXPECT_EQ(r.err.find("metadatafs["), std::string::npos) << r.err;

  auto messages = catcher.messages();
  std::string all;
  for (const auto& msg : messages)
    all += msg + "\n";
  // <priority> is facility daemon (3) * 8 + severity: info 6, warning 4, debug 7.
  auto has = [&](const std::string& priority, const std::string& text) {
    return std::any_of(messages.begin(), messages.end(), [&](const std::string& msg) {
      return msg.rfind(priority, 0) == 0 && msg.find("metadatafs[") != std::string::npos &&
             msg.find(text) != std::string::npos;
    });
  };
  EXPECT_TRUE(has("<30>", "serving " + mnt + " from " + emulator_.url() + " (API version")) << all;
  EXPECT_TRUE(has("<28>", "/metadata/v1/keys")) << all;
  EXPECT_TRUE(has("<28>", "HTTP 503, code service_unavailable, trace ")) << all;
  EXPECT_TRUE(has("<30>", "SIGHUP")) << all;
  EXPECT_TRUE(has("<30>", "unmounted " + mnt)) << all;
  EXPECT_EQ(all.find("<31>"), std::string::npos) << "no debug lines at the default level";
  EXPECT_EQ(all.find("eyJ"), std::string::npos);

  emulator_.clearFaults();
}

}  // namespace
}  // namespace mdfs::itest
