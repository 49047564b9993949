// Peak memory and time of one Snapshot::build for hostile bodies (issue 11 D3). Run with
// no argument for the whole table: each case runs in a child process of its own, so its
// peak RSS (getrusage ru_maxrss) is its own. Figures, not pass/fail.
//
//   build/tests/bench/bench_tree_memory           all cases, markdown table
//   build/tests/bench/bench_tree_memory zeros     one case: "peak_kib base_kib ms nodes"
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "tree/catalog.h"
#include "tree/snapshot.h"

namespace {

std::string repeat(const std::string& head, const std::string& item, std::size_t n,
                   const std::string& tail) {
  std::string body = head;
  body.reserve(head.size() + n * (item.size() + 1) + tail.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) body += ',';
    body += item;
  }
  return body + tail;
}

std::string nested(std::size_t copies) {
  std::string one;
  for (int i = 0; i < 60; ++i)
    one += R"({"k":1,"a":)";
  one += "0";
  one += std::string(60, '}');
  return repeat(R"({"name":"x","d":[)", one, copies, "]}");
}

std::string longKeys(std::size_t count) {
  std::string body = R"({"name":"x","d":{)";
  for (std::size_t i = 0; i < count; ++i) {
    std::string key = std::to_string(i) + std::string(240, 'k');
    body += (i ? ",\"" : "\"") + key + "\":" + std::to_string(i);
  }
  return body + "}}";
}

struct Case {
  const char* name;
  const char* what;
  std::function<std::string()> body;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"zeros", "`[0,0,...]`, 2,000,000 zeros",
       [] { return repeat(R"({"name":"x","l":[)", "0", 2000000, "]}"); }},
      {"empty-objects", "`[{},{},...]`, 2,000,000 elements",
       [] { return repeat(R"({"name":"x","l":[)", "{}", 2000000, "]}"); }},
      {"empty-objects-4mib", "`[{},{},...]`, 1,398,000 elements (4 MiB)",
       [] { return repeat(R"({"name":"x","l":[)", "{}", 1398000, "]}"); }},
      {"duplicates", "`{\"a\":0,...}`, 690,000 duplicate keys",
       [] { return repeat(R"({"name":"x","d":{)", R"("a":0)", 690000, "}}"); }},
      {"nested", "60-deep objects, 5,800 copies (4 MiB)", [] { return nested(5800); }},
      {"long-keys", "16,000 distinct 245-byte keys (4 MiB)", [] { return longKeys(16000); }},
      {"id-keyed", "`[{\"id\":..,\"name\":..}]`, 150,000 elements",
       [] {
         std::string body = R"({"keys":[)";
         for (int i = 0; i < 150000; ++i) {
           body += (i ? "," : "") + std::string(R"({"id":"r006-)") + std::to_string(i) +
                   R"(","name":"k)" + std::to_string(i) + "\"}";
         }
         return body + "]}";
       }},
  };
  return all;
}

long maxRssKib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

int runCase(const Case& c) {
  std::string body = c.body();
  const mdfs::tree::EndpointSpec* spec = nullptr;
  static const auto all = mdfs::tree::allEndpoints();
  for (const auto& e : all) {
    if (e.mount_path == (std::strcmp(c.name, "id-keyed") == 0 ? "keys" : "instance")) spec = &e;
  }
  long base = maxRssKib();
  std::size_t size = body.size();
  auto start = std::chrono::steady_clock::now();
  auto snap = mdfs::tree::Snapshot::build(*spec, std::move(body), {}, {}, 1);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  if (!snap.ok()) {
    std::fprintf(stderr, "%s: %s\n", c.name, snap.error().message.c_str());
    return 1;
  }
  std::printf("%ld %ld %.0f %zu %zu\n", maxRssKib(), base, ms.count(), size,
              snap.value()->memoryBytes());
  return 0;
}

void table(const char* self) {
  std::printf("| body | bytes | peak RSS | RSS before build | build time | snapshot kept |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const Case& c : cases()) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_t pid = fork();
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      execl(self, self, c.name, static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    char line[256] = {};
    ssize_t n = read(fds[0], line, sizeof line - 1);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    long peak = 0, base = 0;
    double ms = 0;
    std::size_t bytes = 0, kept = 0;
    if (n <= 0 || std::sscanf(line, "%ld %ld %lf %zu %zu", &peak, &base, &ms, &bytes, &kept) != 5) {
      std::printf("| %s | failed | | | | |\n", c.what);
      continue;
    }
    std::printf("| %s | %.1f MiB | %.0f MiB | %.0f MiB | %.0f ms | %.0f MiB |\n", c.what,
                bytes / 1048576.0, peak / 1024.0, base / 1024.0, ms, kept / 1048576.0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    for (const Case& c : cases()) {
      if (std::strcmp(c.name, argv[1]) == 0) return runCase(c);
    }
    std::fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
  }
  table(argv[0]);
  return 0;
}
