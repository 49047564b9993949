// The standalone program build/metadata-emulator: its first line, its signals and exit
// codes, --help and argument errors. Every child is killed and reaped by its guard.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "emulator/testing.h"

extern char** environ;

namespace mdfs::emu {
namespace {

using namespace std::chrono_literals;

// build/metadata-emulator: from MDFS_BUILD_DIR, else beside the folder of this test
// program (build/tests/unit_emulator).
std::string emulatorPath() {
  if (const char* dir = std::getenv("MDFS_BUILD_DIR"); dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/metadata-emulator";
  }
  std::string self(4096, '\0');
  const ssize_t n = ::readlink("/proc/self/exe", self.data(), self.size());
  self.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  const std::string tests_dir = self.substr(0, self.rfind('/'));
  return tests_dir.substr(0, tests_dir.rfind('/')) + "/metadata-emulator";
}

// A child process with its standard output and error on pipes.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    args.insert(args.begin(), emulatorPath());
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~Child() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
    if (err_ >= 0) ::close(err_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  [[nodiscard]] bool started() const { return pid_ > 0; }

  // The next line of standard output, or nullopt after `timeout`.
  std::optional<std::string> readLine(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (const auto nl = out_buf_.find('\n'); nl != std::string::npos) {
        std::string line = out_buf_.substr(0, nl);
        out_buf_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{out_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return std::nullopt;
      char buf[4096];
      const ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      out_buf_.append(buf, static_cast<std::size_t>(n));
    }
  }

  // Exit status after the process ends by itself within `timeout`; -1 if it did not.
  int wait(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        status_ = status;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) return -1;
      std::this_thread::sleep_for(10ms);
    }
    return WIFEXITED(*status_) ? WEXITSTATUS(*status_) : 128 + WTERMSIG(*status_);
  }
  void signal(int sig) const { ::kill(pid_, sig); }

  std::string readAll(int fd) {
    std::string all;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
      all.append(buf, static_cast<std::size_t>(n));
    return all;
  }
  std::string stdoutRest() { return out_buf_ + readAll(out_); }
  std::string stderrAll() { return readAll(err_); }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  std::string out_buf_;
  std::optional<int> status_;
};

int portOf(const std::string& url) {
  return std::stoi(url.substr(url.rfind(':') + 1));
}

TEST(EmulatorProgram, FirstLineIsTheUrlAndSigtermExitsZero) {
  for (int sig : {SIGTERM, SIGINT}) {
    Child child({"--port", "0"});
    ASSERT_TRUE(child.started());
    const auto line = child.readLine();
    ASSERT_TRUE(line) << child.stderrAll();
    std::smatch m;
    ASSERT_TRUE(std::regex_match(*line, m, std::regex(R"(listening on (http://127\.0\.0\.1:\d+))")))
        << *line;
    testing::Client client(m[1].str());
    EXPECT_EQ(client.put("/identity/v1/token?version=2024-11-12", "", {{"Metadata-Flavor", "ibm"}})
                  .status,
              201);
    child.signal(sig);
    EXPECT_EQ(child.wait(), 0) << "signal " << sig;
  }
}

TEST(EmulatorProgram, HttpsControlPortAndOptions) {
  Child child({"--https", "--control-port=0", "--scenario", "large", "--keys-paginated",
               "--legacy-token-status", "201", "--identity-token-cap", "30", "--keep-alive-timeout",
               "2"});
  const auto url = child.readLine();
  ASSERT_TRUE(url) << child.stderrAll();
  ASSERT_EQ(url->rfind("listening on https://127.0.0.1:", 0), 0U) << *url;
  const auto ca = child.readLine();
  ASSERT_TRUE(ca);
  ASSERT_EQ(ca->rfind("ca certificate: /", 0), 0U) << *ca;
  const std::string ca_path = ca->substr(16);
  const auto control = child.readLine();
  ASSERT_TRUE(control);
  ASSERT_EQ(control->rfind("control on http://127.0.0.1:", 0), 0U) << *control;

  httplib::SSLClient tls("127.0.0.1", portOf(*url));
  tls.set_ca_cert_path(ca_path.c_str());
  tls.enable_server_certificate_verification(true);
  auto token = tls.Put("/instance_identity/v1/token?version=2024-11-12",
                       {{"Metadata-Flavor", "ibm"}}, R"({"expires_in": 3600})", "application/json");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->status, 201);
  testing::Reply r;
  r.body = token->body;
  EXPECT_EQ(r.at("/expires_in"), "30");

  testing::Client c(control->substr(11));
  EXPECT_EQ(c.get("/_emulator/keys_pagination").at("/paginated"), "true");
  EXPECT_NE(c.get("/_emulator/scenario").body.find("pg-gen-10000"), std::string::npos);
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait(), 0);
  struct stat st {};
  EXPECT_NE(::stat(ca_path.c_str(), &st), 0) << "the temporary CA is removed on exit";
}

TEST(EmulatorProgram, HelpDocumentsEveryOptionAndTheControlApi) {
  Child child({"--help"});
  EXPECT_EQ(child.wait(), 0);
  const std::string help = child.stdoutRest();
  for (const char* text : {"--port",
                           "--bind",
                           "--scenario",
                           "--https",
                           "--tls-dir",
                           "--control-port",
                           "--keep-alive-timeout",
                           "--keys-paginated",
                           "--legacy-token-status",
                           "--identity-token-cap",
                           "--iam-token-lifetime",
                           "--help",
                           "/_emulator/counters",
                           "/_emulator/faults",
                           "/_emulator/service",
                           "/_emulator/data",
                           "/_emulator/iam/check",
                           "/_emulator/tokens/expire",
                           "/_emulator/tokens/lifetimes",
                           "/_emulator/scenario",
                           "/_emulator/keys_pagination",
                           "/_emulator/legacy_token_status",
                           "/_emulator/connections",
                           "SIGTERM"}) {
    EXPECT_NE(help.find(text), std::string::npos) << text;
  }
}

TEST(EmulatorProgram, BadArgumentsNameTheProblem) {
  struct Case {
    std::vector<std::string> args;
    const char* mention;
  };
  for (const Case& c : {Case{{"--port", "http"}, "--port"}, Case{{"--port"}, "--port"},
                        Case{{"--port", "70000"}, "--port"}, Case{{"--frobnicate"}, "--frobnicate"},
                        Case{{"--https=yes"}, "--https"}, Case{{"extra"}, "extra"},
                        Case{{"--scenario", "no-such-scenario"}, "no-such-scenario"},
                        Case{{"--bind", "999.1.1.1"}, "999.1.1.1"}}) {
    Child child(c.args);
    const int code = child.wait();
    EXPECT_NE(code, 0) << c.mention;
    EXPECT_NE(code, -1) << c.mention;
    const std::string err = child.stderrAll();
    EXPECT_NE(err.find(c.mention), std::string::npos) << err;
    EXPECT_TRUE(child.stdoutRest().empty());
  }
}

}  // namespace
}  // namespace mdfs::emu
