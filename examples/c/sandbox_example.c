/* sandbox_example.c: embedding the VFS from C as a guest's filesystem.
 *
 * Mounts a memory-backed filesystem with limits, lets a "guest" write a file
 * through a directory descriptor whose rights were narrowed, makes the file
 * and its name durable, pulls the plug, and checks what survived. Every
 * answer is checked; the program prints "example: all checks passed" and
 * exits 0 only if each was the one POSIX or WASI prescribes.
 *
 * Build: part of the CMake build (target vfs_c_example); CTest runs it. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "vfs/vfs.h"

static int failures = 0;

/* Reports a check: `got` should equal `want`. */
static void expect(const char* what, long long got, long long want) {
  if (got != want) {
    fprintf(stderr, "FAILED %s: got %lld, want %lld\n", what, got, want);
    ++failures;
  } else {
    printf("ok %s = %lld\n", what, got);
  }
}

int main(void) {
  vfs_options options;
  vfs_fs* fs = NULL;
  int dir, fd, i;
  uint64_t base = 0, inheriting = 0;
  char buf[64];
  char block[4096];
  long long n;
  vfs_stat_buf st;

  vfs_options_init(&options);
  options.max_bytes = 64 * 4096; /* 64 pages for the guest */
  options.max_inodes = 16;
  options.max_open_fds = 8;
  options.personality = VFS_PERSONALITY_WASI;
  expect("mount", vfs_mount(&options, &fs), 0);
  if (fs == NULL) return 1;

  /* The embedder prepares the guest's directory and hands over a descriptor
   * that may open files, read and write them, and sync data but not fsync. */
  expect("mkdir /guest", vfs_mkdir(fs, "/guest", 0755), 0);
  dir = vfs_open(fs, "/guest", O_RDONLY | O_DIRECTORY, 0);
  expect("open /guest is fd 0", dir, 0);
  expect("narrow rights",
         vfs_set_rights(fs, dir, VFS_RIGHTS_ALL,
                        VFS_RIGHT_FD_READ | VFS_RIGHT_FD_WRITE | VFS_RIGHT_FD_SEEK |
                            VFS_RIGHT_FD_DATASYNC | VFS_RIGHT_FD_FILESTAT_GET),
         0);
  expect("rights cannot widen", vfs_set_rights(fs, dir, VFS_RIGHTS_ALL, VFS_RIGHTS_ALL), -EPERM);

  /* The guest writes a file and makes its data durable. */
  fd = vfs_openat(fs, dir, "data.txt", O_RDWR | O_CREAT, 0644);
  expect("openat data.txt", fd >= 0, 1);
  expect("inherited rights", vfs_get_rights(fs, fd, &base, &inheriting), 0);
  expect("no fd_sync right", (long long)(base & VFS_RIGHT_FD_SYNC), 0);
  expect("write", vfs_write(fs, fd, "hello, sandbox", 14), 14);
  expect("fd_datasync", vfs_fd_datasync(fs, fd), VFS_WASI_SUCCESS);
  expect("fd_sync without the right is acces (Wasmer)", vfs_fd_sync(fs, fd), VFS_WASI_ACCES);
  expect("fsync in the wasi personality is EACCES", vfs_fsync(fs, fd), -EACCES);
  expect("fd_sync of a directory is isdir", vfs_fd_sync(fs, dir), VFS_WASI_ISDIR);

  /* The embedder makes the name durable (rule D3); then the power goes. */
  expect("fdatasync of a directory is EISDIR (wasi)", vfs_fdatasync(fs, dir), -EISDIR);
  {
    int parent = vfs_open(fs, "/guest", O_RDONLY | O_DIRECTORY, 0);
    int root = vfs_open(fs, "/", O_RDONLY | O_DIRECTORY, 0);
    /* In the wasi personality a directory sync is isdir, as Wasmer; the
     * embedder commits names with syncfs instead. */
    expect("syncfs", vfs_syncfs(fs, root), 0);
    vfs_close(fs, parent);
    vfs_close(fs, root);
  }
  fd = vfs_openat(fs, dir, "lost.txt", O_WRONLY | O_CREAT, 0644);
  expect("write never synced", vfs_write(fs, fd, "gone", 4), 4);
  expect("crash", vfs_crash_and_remount(fs), 0);
  expect("old descriptors are gone", vfs_close(fs, fd), -EBADF);
  fd = vfs_open(fs, "/guest/data.txt", O_RDONLY, 0);
  expect("data.txt survived", fd >= 0, 1);
  memset(buf, 0, sizeof buf);
  expect("read back", vfs_read(fs, fd, buf, sizeof buf), 14);
  expect("same bytes", strcmp(buf, "hello, sandbox"), 0);
  expect("lost.txt did not", vfs_stat(fs, "/guest/lost.txt", &st), -ENOENT);
  vfs_close(fs, fd);

  /* Confinement: ".." at the root stays at the root. */
  expect("/../../guest/data.txt", vfs_stat(fs, "/../../guest/data.txt", &st), 0);
  expect("its size", (long long)st.size, 14);

  /* Quota: the guest fills its 64 pages and is refused with ENOSPC. */
  fd = vfs_open(fs, "/guest/big", O_WRONLY | O_CREAT, 0644);
  memset(block, 'x', sizeof block);
  n = 0;
  for (i = 0; i < 100; ++i) {
    long long w = vfs_write(fs, fd, block, sizeof block);
    if (w < 0) {
      expect("full filesystem", w, -ENOSPC);
      break;
    }
    n += w;
  }
  expect("refused before 100 pages", i < 100, 1);
  expect("bytes written stay within the quota", n <= 64 * 4096, 1);
  vfs_close(fs, fd);

  /* Bad input is an errno, never a crash. */
  expect("NULL path", vfs_open(fs, NULL, O_RDONLY, 0), -EFAULT);
  expect("bad descriptor", vfs_read(fs, 42, buf, 1), -EBADF);

  expect("unmount", vfs_unmount(fs), 0);
  if (failures != 0) {
    fprintf(stderr, "example: %d checks failed\n", failures);
    return 1;
  }
  printf("example: all checks passed\n");
  return 0;
}
