// Facts about how this binary was built that change what it may do at run time.
#pragma once

// MDFS_SANITIZER_BUILD: built with AddressSanitizer or ThreadSanitizer, whose runtimes make
// system calls and read files of their own (leak checking at exit stops the world with
// ptrace; reports read /proc/self/maps and run a symbolizer). The seccomp filter and the
// Landlock rules allow those in such builds only; nothing ships built this way.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MDFS_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MDFS_SANITIZER_BUILD 1
#endif
#endif
#ifndef MDFS_SANITIZER_BUILD
#define MDFS_SANITIZER_BUILD 0
#endif
