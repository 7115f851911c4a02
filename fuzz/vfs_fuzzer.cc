// The libFuzzer entry point: each input is a program of filesystem calls run
// against the VFS and the reference model (fuzz_driver.h). A disagreement
// prints the calls that led to it and aborts, which libFuzzer reports as a
// crash and saves as crash-<sha1>; copy it to fuzz/regressions/ once fixed
// (fuzz/README.md).
#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vfs::fuzz::RunOutcome outcome = vfs::fuzz::RunInput(data, size);
  if (outcome.mismatch) {
    // Again with the trace on: the fast run keeps no call log.
    vfs::fuzz::DriverOptions options;
    options.trace = true;
    outcome = vfs::fuzz::RunInput(data, size, options);
    std::fputs(outcome.report.c_str(), stderr);
    std::abort();
  }
  return 0;
}
