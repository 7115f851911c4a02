// The `vfs crash` subcommand.
#ifndef TOOLS_CRASH_COMMAND_H_
#define TOOLS_CRASH_COMMAND_H_

namespace vfs {

// Runs `vfs crash` with the arguments after "crash". Returns the exit code:
// 0 no failure, 1 failures found (or the replayed state fails), 2 bad usage.
int CrashCommand(int argc, char** argv);

}  // namespace vfs

#endif  // TOOLS_CRASH_COMMAND_H_
