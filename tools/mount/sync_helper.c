/* vfs_sync_helper: runs a list of file operations with the real system calls,
 * in order, as an application on a `vfs mount` would, and stops at the first
 * failure with "STEP PATH: errno NAME" on stderr and exit status 1.
 *
 *   vfs_sync_helper write F TEXT     open(O_WRONLY|O_CREAT|O_TRUNC), write, close
 *   vfs_sync_helper append F TEXT    open(O_WRONLY|O_APPEND), write, close
 *   vfs_sync_helper fsync F          open(O_RDONLY), fsync, close (F may be a directory)
 *   vfs_sync_helper fdatasync F      open(O_RDONLY), fdatasync, close
 *   vfs_sync_helper writesync F TEXT open(O_WRONLY|O_CREAT|O_TRUNC), write, fsync, close
 *   vfs_sync_helper rename A B       rename(2)
 *   vfs_sync_helper noreplace A B    renameat2(RENAME_NOREPLACE)
 *   vfs_sync_helper mkfifo F         mkfifo(3), mode 0644
 *
 * Steps chain: `vfs_sync_helper write /m/a x fsync /m/a fsync /m`. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char* ErrnoName(int err) {
  switch (err) {
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EPERM: return "EPERM";
    default: return "other";
  }
}

static int Fail(const char* step, const char* path) {
  const int err = errno;
  fprintf(stderr, "%s %s: errno %s (%s)\n", step, path, ErrnoName(err), strerror(err));
  return 1;
}

static int WriteAll(int fd, const char* text) {
  size_t left = strlen(text);
  while (left > 0) {
    const ssize_t n = write(fd, text, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    text += n;
    left -= (size_t)n;
  }
  return 0;
}

static int Usage(void) {
  fprintf(stderr, "usage: vfs_sync_helper STEP ARGS [STEP ARGS ...] (see sync_helper.c)\n");
  return 2;
}

int main(int argc, char** argv) {
  int i = 1;
  if (argc < 2) return Usage();
  while (i < argc) {
    const char* step = argv[i];
    const int left = argc - i - 1;
    if ((!strcmp(step, "write") || !strcmp(step, "append") || !strcmp(step, "writesync")) &&
        left >= 2) {
      const char* path = argv[i + 1];
      const int flags = !strcmp(step, "append") ? O_WRONLY | O_APPEND : O_WRONLY | O_CREAT | O_TRUNC;
      const int fd = open(path, flags, 0644);
      if (fd < 0) return Fail("open", path);
      if (WriteAll(fd, argv[i + 2]) != 0) return Fail(step, path);
      if (!strcmp(step, "writesync") && fsync(fd) != 0) return Fail("fsync", path);
      if (close(fd) != 0) return Fail("close", path);
      i += 3;
    } else if ((!strcmp(step, "fsync") || !strcmp(step, "fdatasync")) && left >= 1) {
      const char* path = argv[i + 1];
      const int fd = open(path, O_RDONLY);
      if (fd < 0) return Fail("open", path);
      if ((!strcmp(step, "fsync") ? fsync(fd) : fdatasync(fd)) != 0) return Fail(step, path);
      if (close(fd) != 0) return Fail("close", path);
      i += 2;
    } else if (!strcmp(step, "rename") && left >= 2) {
      if (rename(argv[i + 1], argv[i + 2]) != 0) return Fail(step, argv[i + 1]);
      i += 3;
    } else if (!strcmp(step, "noreplace") && left >= 2) {
      if (renameat2(AT_FDCWD, argv[i + 1], AT_FDCWD, argv[i + 2], RENAME_NOREPLACE) != 0) {
        return Fail(step, argv[i + 1]);
      }
      i += 3;
    } else if (!strcmp(step, "mkfifo") && left >= 1) {
      if (mkfifo(argv[i + 1], 0644) != 0) return Fail(step, argv[i + 1]);
      i += 2;
    } else {
      return Usage();
    }
  }
  return 0;
}
