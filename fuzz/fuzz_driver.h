// The fuzz driver: turns bytes into a sequence of filesystem calls, runs each
// against a vfs::Filesystem on the memory store and against the reference
// model (fuzz/reference_model.h), and reports the first disagreement.
//
// The calls cover descriptors (open with every access mode and O_CREAT,
// O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_PATH, O_SYNC,
// O_DSYNC or raw flag words; openat with a directory descriptor; close, dup,
// read, write, pread, pwrite, lseek, ftruncate), the namespace (mkdir,
// rmdir, unlink, rename with flags, link, symlink, readlink, stat, lstat,
// fstat, readdir, truncate) and durability (fsync, fdatasync,
// sync_file_range with any flags, fsync_range, WASI fd_sync / fd_datasync,
// syncfs, sync), with invalid descriptors, negative and huge offsets and
// lengths, and odd paths (empty, "..", trailing slashes, too long, a NUL
// byte, symlink loops). A few inputs also cut the power: after Crash() and a
// new mount, everything the model knows to be durable must be there and no
// name that never existed may appear; the model then restarts from what
// the VFS mounted. At the end of each input both trees are compared whole.
//
//   vfs::fuzz::RunOutcome outcome = vfs::fuzz::RunInput(data, size);
//   if (outcome.mismatch) std::fputs(outcome.report.c_str(), stderr);
//
// Thread-safety: RunInput is reentrant; each call has its own filesystem.
#ifndef FUZZ_FUZZ_DRIVER_H_
#define FUZZ_FUZZ_DRIVER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vfs::fuzz {

struct DriverOptions {
  // Keep a readable line per call, printed with a mismatch.
  bool trace = false;
  // Let inputs crash and remount the filesystem.
  bool allow_crash = true;
  // Test hook: pretend the VFS's answer to call number `tamper_call` (0
  // based) was different, to show that the checker catches a wrong result:
  // another errno, or for a power cut, a mounted tree without the first
  // entry of the root.
  int64_t tamper_call = -1;
};

struct RunOutcome {
  bool mismatch = false;
  // What differed, then (with DriverOptions::trace) the calls that led there.
  std::string report;
  // With DriverOptions::trace: every call and its answer, one per line.
  std::string trace;
  size_t calls = 0;    // calls run, the failing one included
  size_t crashes = 0;  // power cuts checked
};

RunOutcome RunInput(const uint8_t* data, size_t size, const DriverOptions& options = {});

// The files of a directory (regressions and corpus), sorted by name; empty
// if it does not exist.
std::vector<std::string> ListInputs(const std::string& dir);
// The bytes of a file; false if it cannot be read.
bool ReadInput(const std::string& path, std::vector<uint8_t>* out);

}  // namespace vfs::fuzz

#endif  // FUZZ_FUZZ_DRIVER_H_
