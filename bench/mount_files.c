/* mount_files: the metadata phases of bench/mount_bench.sh in one process,
 * so the figure is the file system's, not a shell's. In DIR: N files of
 * 1 KiB spread over D directories are created, then stat'ed, then renamed
 * within their directory, then unlinked. Prints one line per phase:
 *   create 20000 ops 0.123456 s 162000 ops/s
 *
 *   mount_files DIR [N=20000] [D=100] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void Die(const char* what, const char* path) {
  fprintf(stderr, "mount_files: %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

static void Report(const char* phase, long n, double start) {
  const double s = Now() - start;
  printf("%s %ld ops %.6f s %.0f ops/s\n", phase, n, s, n / s);
  fflush(stdout);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: mount_files DIR [N] [D]\n");
    return 2;
  }
  const char* root = argv[1];
  const long n = argc > 2 ? atol(argv[2]) : 20000;
  const long d = argc > 3 ? atol(argv[3]) : 100;
  char path[4096], to[4096], data[1024];
  memset(data, 'x', sizeof data);
  for (long i = 0; i < d; ++i) {
    snprintf(path, sizeof path, "%s/d%ld", root, i);
    if (mkdir(path, 0755) != 0) Die("mkdir", path);
  }
  double start = Now();
  for (long i = 0; i < n; ++i) {
    snprintf(path, sizeof path, "%s/d%ld/f%ld", root, i % d, i);
    const int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) Die("create", path);
    if (write(fd, data, sizeof data) != (ssize_t)sizeof data) Die("write", path);
    close(fd);
  }
  Report("create", n, start);
  start = Now();
  struct stat st;
  for (long i = 0; i < n; ++i) {
    snprintf(path, sizeof path, "%s/d%ld/f%ld", root, i % d, i);
    if (stat(path, &st) != 0) Die("stat", path);
  }
  Report("stat", n, start);
  start = Now();
  for (long i = 0; i < n; ++i) {
    snprintf(path, sizeof path, "%s/d%ld/f%ld", root, i % d, i);
    snprintf(to, sizeof to, "%s/d%ld/g%ld", root, i % d, i);
    if (rename(path, to) != 0) Die("rename", path);
  }
  Report("rename", n, start);
  start = Now();
  for (long i = 0; i < n; ++i) {
    snprintf(path, sizeof path, "%s/d%ld/g%ld", root, i % d, i);
    if (unlink(path) != 0) Die("unlink", path);
  }
  Report("unlink", n, start);
  for (long i = 0; i < d; ++i) {
    snprintf(path, sizeof path, "%s/d%ld", root, i);
    rmdir(path);
  }
  return 0;
}
