// The libFuzzer entry point of the store-loader fuzzer (store_loader.h):
// each input builds a disk store directory, which is opened, mounted and
// read whole. An oracle failure prints its line and aborts, which libFuzzer
// saves as crash-<sha1> (fuzz/README.md "The store loader").
#include <cstdio>
#include <cstdlib>

#include "fuzz/store_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vfs::fuzz::StoreOutcome outcome = vfs::fuzz::RunStoreInput(data, size);
  if (!outcome.failure.empty()) {
    std::fprintf(stderr, "store loader: %s\n", outcome.failure.c_str());
    std::abort();
  }
  return 0;
}
