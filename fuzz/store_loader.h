// The store-loader fuzzer's driver (issue 17, finding 3): input bytes become
// a disk store directory built record by record (frames and checkpoints
// sealed with valid checksums, so the loader's field checks are what is
// tested, then a few raw byte flips or cuts on top), which is then opened,
// mounted and read whole: every directory listed, every entry stat'ed,
// every file read, every symlink read.
//
// Oracles (a violation aborts, which libFuzzer reports):
//  - no sanitizer finding, no crash, no unbounded allocation;
//  - an open that fails leaves every file of the directory as it was;
//  - an open that fails answers EIO, EINVAL or ENOTSUP with one line;
//  - a store that opened and mounted, written to and unmounted cleanly,
//    opens and mounts again with the same tree (names, kinds, sizes, bytes).
//
// Thread-safety: RunStoreInput uses one scratch directory per process.
#ifndef FUZZ_STORE_LOADER_H_
#define FUZZ_STORE_LOADER_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace vfs::fuzz {

struct StoreOutcome {
  bool opened = false;   // OpenDiskStore succeeded
  bool mounted = false;  // and Filesystem::Mount
  std::string failure;   // non-empty: an oracle failed (what, in one line)
  std::string open_error;  // the open's message, when it failed
};

// Builds the store `data` describes in the scratch directory, opens it and
// reads everything. Deterministic for given bytes.
StoreOutcome RunStoreInput(const uint8_t* data, size_t size);

}  // namespace vfs::fuzz

#endif  // FUZZ_STORE_LOADER_H_
