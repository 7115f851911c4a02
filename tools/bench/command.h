// The `vfs bench` subcommand: parses its arguments, runs the jobs on their
// backends and prints the results; with --matrix, runs every strategy and
// writes a report directory with a plot. Usage() gives the options.
//
// Thread-safety: call from one thread (it starts and joins its own).
#ifndef TOOLS_BENCH_COMMAND_H_
#define TOOLS_BENCH_COMMAND_H_

#include <string>

namespace vfs::bench {

// The arguments after `vfs bench`. Returns the exit code: 0 on success, 1
// when a job failed to run, 2 for bad arguments or a bad job (the message
// names the bad key or value).
int BenchMain(int argc, char** argv);

std::string Usage();

}  // namespace vfs::bench

#endif  // TOOLS_BENCH_COMMAND_H_
