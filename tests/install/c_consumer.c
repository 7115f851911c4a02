/* An out-of-tree C program using the installed C API through pkg-config:
 *
 *   cc c_consumer.c $(pkg-config --cflags --libs vfs)
 *
 * Built and run by CTest against a temporary install prefix
 * (Install.CConsumerViaPkgConfig) and by scripts/package-test.sh against the
 * installed .deb. It checks the compile-time and run-time versions agree,
 * then writes a file, fsyncs it and its directory, writes again without a
 * sync, cuts the power and reads back exactly the synced bytes (rule D1). */
#define _POSIX_C_SOURCE 200809L /* O_DIRECTORY under -std=c99 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <vfs/vfs.h>

#define CHECK(cond)                                              \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "c_consumer: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                  \
    }                                                            \
  } while (0)

int main(void) {
  CHECK(strcmp(vfs_version(), VFS_VERSION_STRING) == 0);
  vfs_options options;
  vfs_options_init(&options);
  vfs_fs* fs = NULL;
  CHECK(vfs_mount(&options, &fs) == 0);
  int fd = vfs_open(fs, "/journal", O_WRONLY | O_CREAT | O_APPEND, 0644);
  CHECK(fd >= 0);
  CHECK(vfs_write(fs, fd, "commit 1\n", 9) == 9);
  CHECK(vfs_fsync(fs, fd) == 0);
  int root = vfs_open(fs, "/", O_RDONLY | O_DIRECTORY, 0);
  CHECK(root >= 0);
  CHECK(vfs_fsync(fs, root) == 0);
  CHECK(vfs_write(fs, fd, "commit 2\n", 9) == 9); /* never synced */
  CHECK(vfs_crash_and_remount(fs) == 0);
  fd = vfs_open(fs, "/journal", O_RDONLY, 0);
  CHECK(fd >= 0);
  char buf[64];
  CHECK(vfs_read(fs, fd, buf, sizeof buf) == 9);
  CHECK(memcmp(buf, "commit 1\n", 9) == 0);
  CHECK(vfs_close(fs, fd) == 0);
  CHECK(vfs_unmount(fs) == 0);
  printf("c_consumer: vfs %s: ok\n", vfs_version());
  return 0;
}
