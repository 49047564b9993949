// The mounted tree by path, for synthesized files that derive their bytes from it (the
// well-known names, issue 15): the same lazy fetches, TTLs and naming as a reader's `cat`
// and `ls`, without inodes. The Filesystem implements it; tests give a map.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/error.h"

namespace mdfs::mount {

class TreeReader {
 public:
  TreeReader() = default;
  TreeReader(const TreeReader&) = delete;
  TreeReader& operator=(const TreeReader&) = delete;
  virtual ~TreeReader() = default;

  // The bytes of the regular file at `path` ("instance/zone/name"), as `cat` reads them.
  // ErrorKind::not_found when nothing is there or it is not a regular file; other errors
  // (the service fails) as a read would get them.
  virtual Result<std::string> readFile(std::string_view path, Deadline deadline) = 0;
  // The names in the directory at `path`, in listing order; not_found as above.
  virtual Result<std::vector<std::string>> listDirectory(std::string_view path,
                                                         Deadline deadline) = 0;
};

}  // namespace mdfs::mount
