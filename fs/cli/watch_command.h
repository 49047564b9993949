// metadatafs watch [--once] [--timeout S] PATH...: waits for files of a metadatafs mount to
// change (issue 15) and prints each changed PATH on a line of its own as it happens. A
// client of the mount: it polls the files (poll(2), POLLPRI), it mounts nothing.
// Exit status: 0 at the first change with --once (or, with --timeout, when a change was
// printed), 1 when --timeout passes first, 2 on errors: a bad command line, a path that is
// not a regular file of a metadatafs mount, or the daemon behind the mount ending.
#pragma once

namespace mdfs::cli {

// argv[0] is "watch".
int watchCommand(int argc, char** argv);

}  // namespace mdfs::cli
