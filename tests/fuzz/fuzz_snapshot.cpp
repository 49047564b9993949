// The JSON -> snapshot builder with the names and rendering rules. The first byte picks
// the endpoint and render options; the rest is the body.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/tree_invariants.h"
#include "tree/catalog.h"
#include "tree/snapshot.h"

namespace {

const mdfs::tree::EndpointSpec& pick(std::uint8_t selector) {
  static const auto all = mdfs::tree::allEndpoints();
  return all[selector % all.size()];
}

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "invariant broken: %s\n", why.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const mdfs::tree::EndpointSpec& spec = pick(data[0] >> 1);
  mdfs::tree::RenderOptions options;
  options.newline = (data[0] & 1) == 0;
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> hidden;
  if (spec.mount_path == "instance") hidden = {"initialization", "network_interfaces"};
  auto built = mdfs::tree::Snapshot::build(spec, body, options, hidden, 1);
  if (!built.ok()) {
    if (built.error().errnum != EIO) fail("unexpected errno " + built.error().message);
    return 0;
  }
  const mdfs::tree::Snapshot& snap = *built.value();
  if (std::string bad = mdfs::tree::snapshotViolation(snap); !bad.empty()) fail(bad);
  for (const auto& h : hidden) {
    if (snap.child(snap.root(), h) != nullptr || snap.child(snap.root(), h + ".json") != nullptr)
      fail("a member took the synthesized name " + h);
  }
  auto again = mdfs::tree::Snapshot::build(spec, body, options, hidden, 2);
  if (!again.ok()) fail("a second build of the same body failed");
  mdfs::tree::ChangeList changes;
  again.value()->inheritTimes(snap, &changes);
  if (!changes.empty()) fail("equal bodies reported changes");
  return 0;
}
