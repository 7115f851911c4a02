// The `vfs mount` and `vfs ctl` subcommands (docs/mount.md).
#ifndef TOOLS_MOUNT_MOUNT_COMMAND_H_
#define TOOLS_MOUNT_MOUNT_COMMAND_H_

namespace vfs {

// `vfs mount [options] MOUNTPOINT` with the arguments after "mount". Serves
// in the foreground until unmounted or signalled. Returns the exit code: 0
// clean unmount, 1 the mount or the final VFS unmount failed, 2 bad usage.
int MountCommand(int argc, char** argv);

// `vfs ctl SOCKET COMMAND...`: sends one control command and prints the
// reply. Returns 0 for an "ok" reply, 1 for an "error:" reply, 2 for bad
// usage or an unreachable socket.
int CtlCommand(int argc, char** argv);

}  // namespace vfs

#endif  // TOOLS_MOUNT_MOUNT_COMMAND_H_
