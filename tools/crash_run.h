// `vfs crash --run 'WORKLOAD' --check 'CHECKER'`: crash-tests an unmodified
// program through a FUSE mount (docs/crash-testing.md, "Any program").
//
// The program runs once on a recording mount: the store requests, the FUSE
// operations that made them (operation, path, pid, program name) and the
// program's standard output (its acknowledgements, one per line) are
// recorded in one order. The crash explorer then builds every crash state a
// profile allows, serves each at a mount point by swapping the Filesystem
// under a long-lived FUSE mount, and runs the checker there. Failures are
// grouped by cause, shrunk, and attributed to the program's own calls.
#ifndef TOOLS_CRASH_RUN_H_
#define TOOLS_CRASH_RUN_H_

namespace vfs {

// True if the arguments after "crash" ask for a program run (--run, or a
// saved --trace explored with --check) rather than a script.
bool IsCrashRunInvocation(int argc, char** argv);
// Runs it. Returns the exit code: 0 no failure, 1 failures, 2 bad usage (a
// workload that cannot start, a checker missing, a mount impossible).
int CrashRunCommand(int argc, char** argv);
// `vfs crash merge A.json B.json ...`: the reports of shards, merged by cause.
int CrashMergeCommand(int argc, char** argv);
// The options of --run, for `vfs crash --help`.
const char* CrashRunUsage();

}  // namespace vfs

#endif  // TOOLS_CRASH_RUN_H_
