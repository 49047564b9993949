// The pagination merger: pages separated by a 0x01 byte (never valid inside JSON). When
// every page is accepted, the merged document must read back as JSON whose list holds
// exactly the items of every page, and the tree must build from it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/json_reader.h"
#include "service/collection.h"
#include "tree/catalog.h"
#include "tree/snapshot.h"

namespace {

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "invariant broken: %s\n", why.c_str());
  std::abort();
}

// Counts the elements of the first top-level "keys" member.
class ListCounter final : public mdfs::json::Handler {
 public:
  bool scalar(mdfs::json::Kind /*kind*/, std::string_view /*text*/) override {
    count();
    return true;
  }
  bool key(std::string_view name) override {
    if (depth_ == 1) in_list_ = !seen_ && name == "keys";
    seen_ = seen_ || in_list_;
    return true;
  }
  bool open(mdfs::json::Kind /*kind*/) override {
    count();
    ++depth_;
    return true;
  }
  bool close(mdfs::json::Kind /*kind*/) override {
    --depth_;
    return true;
  }
  std::size_t items = 0;

 private:
  void count() {
    if (depth_ == 2 && in_list_) ++items;
  }
  int depth_ = 0;
  bool in_list_ = false;
  bool seen_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  mdfs::service::CollectionMerger merger("keys");
  while (true) {
    std::size_t cut = input.find('\x01');
    if (!merger.add(input.substr(0, cut)).ok()) return 0;
    if (cut == std::string_view::npos) break;
    input.remove_prefix(cut + 1);
  }
  std::string doc = merger.document();
  mdfs::json::JsonReader reader(doc);
  ListCounter counter;
  if (!reader.read(counter).ok()) fail("merged document is not JSON: " + doc);
  if (counter.items != merger.itemCount()) fail("item count differs: " + doc);
  static const auto all = mdfs::tree::allEndpoints();
  for (const auto& spec : all) {
    if (spec.list_key != "keys") continue;
    if (!mdfs::tree::Snapshot::build(spec, doc, {}, {}, 1).ok()) fail("no tree from " + doc);
  }
  return 0;
}
