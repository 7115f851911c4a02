/* vfs.h: the C API of the VFS, for embedders that are not C++.
 *
 * One opaque handle, vfs_fs, is one mounted filesystem (vfs::Filesystem) on a
 * memory store or a disk store. Every call is the syscall of the same name,
 * with the same arguments and the answers docs/semantics.md gives: it returns
 * 0 or a non-negative count on success and a negative errno on failure
 * (-ENOENT, -EBADF, ...), never sets errno, never aborts and never throws.
 * The WASI calls vfs_fd_sync and vfs_fd_datasync are the one exception: they
 * return the WASI errno itself (0 for success, a positive vfs_wasi_errno),
 * which is what a WebAssembly guest expects from them.
 *
 * Flags, modes and errno values are the host's (Linux) values from
 * <fcntl.h>, <sys/stat.h> and <errno.h>; the few the host lacks are defined
 * below. A NULL pointer argument is -EFAULT; a failed allocation -ENOMEM.
 *
 *   vfs_options options;
 *   vfs_options_init(&options);
 *   options.max_bytes = 64 << 20;
 *   vfs_fs* fs = NULL;
 *   if (vfs_mount(&options, &fs) < 0) ...;
 *   int fd = vfs_open(fs, "/log", O_WRONLY | O_CREAT | O_APPEND, 0644);
 *   vfs_write(fs, fd, "record\n", 7);
 *   vfs_fsync(fs, fd);              // data and inode durable, name not yet
 *   vfs_close(fs, fd);
 *   vfs_unmount(fs);                // syncs everything, frees the handle
 *
 * Thread-safety: every call may be made from any thread at the same time on
 * one handle, except vfs_unmount and vfs_crash_and_remount, which must not
 * race with any other call on that handle. See docs/embedding.md.
 */
#ifndef VFS_VFS_H_
#define VFS_VFS_H_

#include <stddef.h>
#include <stdint.h>

#include "vfs/version.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vfs_fs vfs_fs;

/* The version of the library loaded, "MAJOR.MINOR.PATCH": VFS_VERSION_STRING
 * of the build that made it, which may be newer than the header a program
 * was compiled with (vfs/version.h). Never NULL. */
const char* vfs_version(void);

/* Where the filesystem's durable state lives. */
enum vfs_store_kind {
  VFS_STORE_MEMORY = 0, /* in this process; survives vfs_crash_and_remount */
  VFS_STORE_DISK = 1    /* a directory on the host (vfs_options.disk_dir) */
};

/* Whose answers the calls give (docs/embedding.md, "Personalities"). */
enum vfs_personality {
  VFS_PERSONALITY_LINUX = 0, /* default */
  VFS_PERSONALITY_WASI = 1,  /* fsync / fdatasync answer as fd_sync / fd_datasync;
                                openat stays beneath its descriptor */
  VFS_PERSONALITY_AIX = 2    /* E5 fsync strictness, O5 O_SYNC, O6 O_DEFER */
};

/* How the WASI answers are given (semantics E6, E7). */
enum vfs_wasi_mode {
  VFS_WASI_WASMER = 0, /* default: Wasmer's answers, EACCES for a missing right */
  VFS_WASI_SPEC = 1    /* the preview1 spec's, ENOTCAPABLE for a missing right */
};

/* Mount options. Fill with vfs_options_init, then change what you need. */
typedef struct vfs_options {
  int store_kind;        /* enum vfs_store_kind */
  const char* disk_dir;  /* VFS_STORE_DISK: the store's host directory */
  uint32_t page_size;    /* 0: the store's, or 4096 */
  /* Limits: a call that would pass one fails with the errno given. */
  uint64_t max_bytes;        /* allocated pages, holes free: ENOSPC */
  uint64_t max_inodes;       /* files, directories, symlinks, FIFOs: ENOSPC */
  uint32_t max_open_fds;     /* EMFILE */
  uint32_t max_name_length;  /* ENAMETOOLONG; at most VFS_NAME_MAX */
  uint32_t max_path_length;  /* ENAMETOOLONG, counting the final NUL */
  uint32_t max_symlink_depth;/* ELOOP */
  uint64_t max_file_size;    /* EFBIG */
  uint64_t max_dir_entries;  /* entries in one directory: ENOSPC */
  int personality;           /* enum vfs_personality */
  int wasi_mode;             /* enum vfs_wasi_mode */
  int fsync_range_bsd_lenient; /* AIX fsync_range accepts read-only fds */
  int aix_xpg_sus_env;         /* AIX O_SYNC alone is file integrity */
  int lazytime;                /* timestamp-only changes are DIRTY_TIME */
} vfs_options;

/* The longest name vfs_readdir can return, without the NUL. */
#define VFS_NAME_MAX 255
/* openat's "current directory" descriptor (Linux AT_FDCWD). */
#define VFS_AT_FDCWD (-100)
/* WASI's notcapable as a host errno: past Linux's last errno. */
#define VFS_ENOTCAPABLE 134
/* AIX open flags (aix personality): O_SYNC alone and O_DEFER. */
#define VFS_AIX_O_SYNC 04000000
#define VFS_AIX_O_DEFER 0x20000000
/* fsync_range `how` values: O_DSYNC, O_SYNC and AIX's O_NOCACHE. */
#define VFS_FSYNC_RANGE_DSYNC 010000
#define VFS_FSYNC_RANGE_SYNC 04010000
#define VFS_FSYNC_RANGE_NOCACHE 0x40000000
/* renameat2 flags. */
#define VFS_RENAME_NOREPLACE 1u
#define VFS_RENAME_EXCHANGE 2u
/* *at flags (Linux values). */
#define VFS_AT_SYMLINK_NOFOLLOW 0x100
#define VFS_AT_REMOVEDIR 0x200
#define VFS_AT_SYMLINK_FOLLOW 0x400
#define VFS_AT_EMPTY_PATH 0x1000
/* fallocate modes (rule X3). */
#define VFS_FALLOC_FL_KEEP_SIZE 0x01
#define VFS_FALLOC_FL_PUNCH_HOLE 0x02
#define VFS_FALLOC_FL_ZERO_RANGE 0x10
/* setxattr flags (rule X2). */
#define VFS_XATTR_CREATE 1
#define VFS_XATTR_REPLACE 2
/* Capabilities an identity may hold (rule X1). */
#define VFS_CAP_CHOWN (1u << 0)
#define VFS_CAP_DAC_OVERRIDE (1u << 1)
#define VFS_CAP_DAC_READ_SEARCH (1u << 2)
#define VFS_CAP_FOWNER (1u << 3)
#define VFS_CAP_FSETID (1u << 4)
#define VFS_CAP_MKNOD (1u << 5)
#define VFS_CAP_SYS_ADMIN (1u << 6)
#define VFS_CAP_ALL ((1u << 7) - 1)
/* chown: leave the field as it is. */
#define VFS_NO_ID 0xffffffffu
/* utimensat special nanosecond values. */
#define VFS_UTIME_NOW ((1L << 30) - 1)
#define VFS_UTIME_OMIT ((1L << 30) - 2)
/* pwritev2 flags. */
#define VFS_RWF_DSYNC 0x2
#define VFS_RWF_SYNC 0x4
#define VFS_RWF_APPEND 0x10

/* WASI rights bits (typenames.witx $rights) that the calls check. */
#define VFS_RIGHT_FD_DATASYNC (1ull << 0)
#define VFS_RIGHT_FD_READ (1ull << 1)
#define VFS_RIGHT_FD_SEEK (1ull << 2)
#define VFS_RIGHT_FD_FDSTAT_SET_FLAGS (1ull << 3)
#define VFS_RIGHT_FD_SYNC (1ull << 4)
#define VFS_RIGHT_FD_TELL (1ull << 5)
#define VFS_RIGHT_FD_WRITE (1ull << 6)
#define VFS_RIGHT_PATH_CREATE_FILE (1ull << 10)
#define VFS_RIGHT_PATH_OPEN (1ull << 13)
#define VFS_RIGHT_FD_READDIR (1ull << 14)
#define VFS_RIGHT_PATH_FILESTAT_SET_SIZE (1ull << 19)
#define VFS_RIGHT_FD_FILESTAT_GET (1ull << 21)
#define VFS_RIGHT_FD_FILESTAT_SET_SIZE (1ull << 22)
#define VFS_RIGHT_FD_FILESTAT_SET_TIMES (1ull << 23)
#define VFS_RIGHTS_ALL (~0ull)

/* A WASI preview1 errno (its position in the errno enum). */
typedef uint16_t vfs_wasi_errno;
#define VFS_WASI_SUCCESS 0
#define VFS_WASI_ACCES 2
#define VFS_WASI_BADF 8
#define VFS_WASI_INVAL 28
#define VFS_WASI_IO 29
#define VFS_WASI_ISDIR 31
#define VFS_WASI_NOSPC 51
#define VFS_WASI_NOTCAPABLE 76

typedef struct vfs_timespec {
  int64_t sec;
  int64_t nsec;
} vfs_timespec;

typedef struct vfs_stat_buf {
  uint64_t ino;
  uint32_t mode; /* S_IFMT type bits | permission bits */
  uint64_t nlink;
  uint32_t uid;
  uint32_t gid;
  uint64_t size;
  uint64_t blocks; /* 512-byte units allocated; holes are free */
  uint32_t blksize;
  vfs_timespec atime, mtime, ctime;
  uint64_t rdev; /* a device node's number (rule X5), else 0 */
} vfs_stat_buf;

/* The identity calls run with (rule X1). Root (uid 0, every capability,
 * umask 0) is the default. */
typedef struct vfs_credentials {
  uint32_t uid;
  uint32_t gid;
  const uint32_t* groups; /* supplementary groups; copied */
  size_t ngroups;
  uint32_t capabilities; /* VFS_CAP_* bits */
  uint32_t umask;
} vfs_credentials;

typedef struct vfs_dirent {
  uint64_t ino;
  uint8_t type; /* DT_* from <dirent.h> */
  char name[VFS_NAME_MAX + 1];
} vfs_dirent;

typedef struct vfs_statfs_buf {
  uint32_t block_size;
  uint64_t blocks;
  uint64_t blocks_free;
  uint64_t files;
  uint64_t files_free;
  uint32_t name_max;
  /* Bytes the store still holds for deleted files, given back once their
   * removal is durable (an fsync of the directory, syncfs, sync, unmount).
   * Not in blocks_free, which counts only what the files still named or
   * open can reach (max_bytes). */
  uint64_t unlinked_bytes;
} vfs_statfs_buf;

/* ---- Mounting ---- */

/* Fills `options` with the defaults (memory store, no byte or inode limit,
 * 1024 descriptors, linux personality, wasmer WASI mode). */
void vfs_options_init(vfs_options* options);
/* Mounts a filesystem (formatting an empty store) and stores its handle in
 * *out. -EINVAL for bad options (unknown store kind or personality, no
 * disk_dir for a disk store, max_name_length above VFS_NAME_MAX, a bad page
 * size), -EBUSY if the disk store is in use, the store's errno otherwise. */
int vfs_mount(const vfs_options* options, vfs_fs** out);
/* Makes everything durable, releases the store and frees the handle, even
 * when it returns an error (the first one met). NULL is a no-op. */
int vfs_unmount(vfs_fs* fs);
/* A power cut: everything not durable is lost, every descriptor is closed,
 * and the handle is mounted again on what survived. */
int vfs_crash_and_remount(vfs_fs* fs);

/* ---- Files and descriptors ---- */

int vfs_open(vfs_fs* fs, const char* path, int flags, uint32_t mode);
int vfs_openat(vfs_fs* fs, int dirfd, const char* path, int flags, uint32_t mode);
int vfs_close(vfs_fs* fs, int fd);
int vfs_dup(vfs_fs* fs, int fd);
/* fcntl(F_GETFL): the access mode and status flags, or -errno. */
int vfs_getfl(vfs_fs* fs, int fd);
/* fcntl(F_SETFL): sets O_APPEND, O_NONBLOCK, O_DIRECT, O_NOATIME; other bits,
 * O_SYNC and O_DSYNC among them, are ignored as Linux does. */
int vfs_setfl(vfs_fs* fs, int fd, int flags);
int64_t vfs_read(vfs_fs* fs, int fd, void* buf, size_t count);
int64_t vfs_write(vfs_fs* fs, int fd, const void* buf, size_t count);
int64_t vfs_pread(vfs_fs* fs, int fd, void* buf, size_t count, int64_t offset);
int64_t vfs_pwrite(vfs_fs* fs, int fd, const void* buf, size_t count, int64_t offset);
/* pwritev2 with one buffer: VFS_RWF_* flags; offset -1 is the current one. */
int64_t vfs_pwrite2(vfs_fs* fs, int fd, const void* buf, size_t count, int64_t offset,
                    int rwf_flags);
int64_t vfs_lseek(vfs_fs* fs, int fd, int64_t offset, int whence);
int vfs_truncate(vfs_fs* fs, const char* path, int64_t length);
int vfs_ftruncate(vfs_fs* fs, int fd, int64_t length);

/* ---- Namespace ---- */

int vfs_mkdir(vfs_fs* fs, const char* path, uint32_t mode);
int vfs_rmdir(vfs_fs* fs, const char* path);
int vfs_unlink(vfs_fs* fs, const char* path);
/* renameat2 semantics; flags VFS_RENAME_NOREPLACE or VFS_RENAME_EXCHANGE. */
int vfs_rename(vfs_fs* fs, const char* from, const char* to, unsigned flags);
int vfs_link(vfs_fs* fs, const char* from, const char* to);
int vfs_symlink(vfs_fs* fs, const char* target, const char* path);
/* readlink(2): at most `size` bytes, no NUL added; returns the count. */
int64_t vfs_readlink(vfs_fs* fs, const char* path, char* buf, size_t size);
int vfs_mkfifo(vfs_fs* fs, const char* path, uint32_t mode);
/* pipe(2): fds[0] the read end, fds[1] the write end. Never blocks. */
int vfs_pipe(vfs_fs* fs, int fds[2]);
int vfs_chdir(vfs_fs* fs, const char* path);
/* getcwd(2): the NUL-terminated path; -ERANGE if `size` is too small. */
int vfs_getcwd(vfs_fs* fs, char* buf, size_t size);
/* The next entries of a directory, at most `max`; returns how many were
 * stored, 0 at the end. */
int64_t vfs_readdir(vfs_fs* fs, int fd, vfs_dirent* entries, size_t max);

/* ---- Attributes ---- */

int vfs_stat(vfs_fs* fs, const char* path, vfs_stat_buf* st);
int vfs_lstat(vfs_fs* fs, const char* path, vfs_stat_buf* st);
int vfs_fstat(vfs_fs* fs, int fd, vfs_stat_buf* st);
int vfs_chmod(vfs_fs* fs, const char* path, uint32_t mode);
int vfs_fchmod(vfs_fs* fs, int fd, uint32_t mode);
/* utimensat(2): times[0] atime, times[1] mtime; `follow` 0 acts on a final
 * symlink itself (AT_SYMLINK_NOFOLLOW). */
int vfs_utimens(vfs_fs* fs, const char* path, const vfs_timespec times[2], int follow);
int vfs_futimens(vfs_fs* fs, int fd, const vfs_timespec times[2]);
int vfs_statfs(vfs_fs* fs, vfs_statfs_buf* st);

/* ---- Durability (docs/semantics.md) ---- */

int vfs_fsync(vfs_fs* fs, int fd);
int vfs_fdatasync(vfs_fs* fs, int fd);
int vfs_sync_file_range(vfs_fs* fs, int fd, int64_t offset, int64_t nbytes, unsigned flags);
int vfs_fsync_range(vfs_fs* fs, int fd, int how, int64_t start, int64_t length);
/* WASI fd_sync / fd_datasync: the WASI errno, 0 on success. */
vfs_wasi_errno vfs_fd_sync(vfs_fs* fs, int fd);
vfs_wasi_errno vfs_fd_datasync(vfs_fs* fs, int fd);
int vfs_syncfs(vfs_fs* fs, int fd);
void vfs_sync(vfs_fs* fs);

/* ---- WASI rights ---- */

/* Narrows a descriptor's rights; -EPERM if that would widen them. */
int vfs_set_rights(vfs_fs* fs, int fd, uint64_t base, uint64_t inheriting);
int vfs_get_rights(vfs_fs* fs, int fd, uint64_t* base, uint64_t* inheriting);

/* ---- The *at forms (a directory descriptor, VFS_AT_FDCWD, or an O_PATH
 * descriptor; AT_* flags as Linux) ---- */

int vfs_mkdirat(vfs_fs* fs, int dirfd, const char* path, uint32_t mode);
/* VFS_AT_REMOVEDIR: rmdir. */
int vfs_unlinkat(vfs_fs* fs, int dirfd, const char* path, int flags);
int vfs_renameat2(vfs_fs* fs, int from_dirfd, const char* from, int to_dirfd, const char* to,
                  unsigned flags);
/* VFS_AT_SYMLINK_FOLLOW; VFS_AT_EMPTY_PATH with "" names the file from_dirfd
 * is open on (an O_TMPFILE file, rule X4). */
int vfs_linkat(vfs_fs* fs, int from_dirfd, const char* from, int to_dirfd, const char* to,
               int flags);
int vfs_symlinkat(vfs_fs* fs, const char* target, int dirfd, const char* path);
/* "" reads the symlink dirfd is open on (O_PATH | O_NOFOLLOW). */
int64_t vfs_readlinkat(vfs_fs* fs, int dirfd, const char* path, char* buf, size_t size);
/* mknod(2), rule X5: S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK. */
int vfs_mknod(vfs_fs* fs, const char* path, uint32_t mode, uint64_t rdev);
int vfs_mknodat(vfs_fs* fs, int dirfd, const char* path, uint32_t mode, uint64_t rdev);
/* mkfifoat(3): mknodat with S_IFIFO (rule X6). */
int vfs_mkfifoat(vfs_fs* fs, int dirfd, const char* path, uint32_t mode);
/* VFS_AT_SYMLINK_NOFOLLOW, VFS_AT_EMPTY_PATH. */
int vfs_fstatat(vfs_fs* fs, int dirfd, const char* path, vfs_stat_buf* st, int flags);
int vfs_fchmodat(vfs_fs* fs, int dirfd, const char* path, uint32_t mode, int flags);
/* chown family, rule X1: VFS_NO_ID leaves a field unchanged. */
int vfs_chown(vfs_fs* fs, const char* path, uint32_t uid, uint32_t gid);
int vfs_lchown(vfs_fs* fs, const char* path, uint32_t uid, uint32_t gid);
int vfs_fchown(vfs_fs* fs, int fd, uint32_t uid, uint32_t gid);
int vfs_fchownat(vfs_fs* fs, int dirfd, const char* path, uint32_t uid, uint32_t gid, int flags);
int vfs_utimensat(vfs_fs* fs, int dirfd, const char* path, const vfs_timespec times[2],
                  int flags);
/* truncate relative to dirfd; VFS_AT_EMPTY_PATH: the file dirfd is open on. */
int vfs_truncateat(vfs_fs* fs, int dirfd, const char* path, int64_t length, int flags);
/* fallocate(2), rule X3. */
int vfs_fallocate(vfs_fs* fs, int fd, int mode, int64_t offset, int64_t len);

/* ---- Extended attributes (rule X2) ----
 * get and list return the size; with size 0 the size needed; -ERANGE if the
 * buffer is too small. A list is the names, each ended by a NUL. The *at
 * forms take VFS_AT_SYMLINK_NOFOLLOW and VFS_AT_EMPTY_PATH. */

int vfs_setxattr(vfs_fs* fs, const char* path, const char* name, const void* value, size_t size,
                 int flags);
int vfs_lsetxattr(vfs_fs* fs, const char* path, const char* name, const void* value, size_t size,
                  int flags);
int vfs_fsetxattr(vfs_fs* fs, int fd, const char* name, const void* value, size_t size,
                  int flags);
int vfs_setxattrat(vfs_fs* fs, int dirfd, const char* path, int at_flags, const char* name,
                   const void* value, size_t size, int flags);
int64_t vfs_getxattr(vfs_fs* fs, const char* path, const char* name, void* value, size_t size);
int64_t vfs_lgetxattr(vfs_fs* fs, const char* path, const char* name, void* value, size_t size);
int64_t vfs_fgetxattr(vfs_fs* fs, int fd, const char* name, void* value, size_t size);
int64_t vfs_getxattrat(vfs_fs* fs, int dirfd, const char* path, int at_flags, const char* name,
                       void* value, size_t size);
int64_t vfs_listxattr(vfs_fs* fs, const char* path, char* list, size_t size);
int64_t vfs_llistxattr(vfs_fs* fs, const char* path, char* list, size_t size);
int64_t vfs_flistxattr(vfs_fs* fs, int fd, char* list, size_t size);
int64_t vfs_listxattrat(vfs_fs* fs, int dirfd, const char* path, int at_flags, char* list,
                        size_t size);
int vfs_removexattr(vfs_fs* fs, const char* path, const char* name);
int vfs_lremovexattr(vfs_fs* fs, const char* path, const char* name);
int vfs_fremovexattr(vfs_fs* fs, int fd, const char* name);
int vfs_removexattrat(vfs_fs* fs, int dirfd, const char* path, int at_flags, const char* name);

/* ---- Identity (rule X1) ---- */

/* Fills `creds` with root: uid 0, gid 0, every capability, umask 0. */
void vfs_credentials_init_root(vfs_credentials* creds);
/* The identity of every call on `fs` that no thread identity overrides;
 * NULL sets root again. Kept across vfs_crash_and_remount. Each call keeps
 * its copy (about 72 bytes, plus 4 per group) until vfs_unmount or a
 * remount, so that calls running meanwhile may go on reading the old one:
 * set it once per handle, and give per-request identities with
 * vfs_set_thread_credentials, which keeps nothing. */
int vfs_set_credentials(vfs_fs* fs, const vfs_credentials* creds);
/* The identity of every call this thread makes, on every handle, until
 * changed or cleared with NULL: a host serving several users sets it per
 * request. -EINVAL for unknown capability bits. */
int vfs_set_thread_credentials(const vfs_credentials* creds);
/* The identity a call on `fs` from this thread runs with now: the thread's
 * if one is set, else the handle's, else root. Fills `creds`; its `groups`
 * points at `groups`, which receives up to `max_groups` supplementary
 * groups. Returns the number of supplementary groups, as getgroups(2):
 * with max_groups 0 only the count (creds->ngroups 0); -EINVAL when
 * max_groups is neither 0 nor at least that count (nothing is filled);
 * -EFAULT for a NULL `creds`, or a NULL `groups` with max_groups > 0. */
int vfs_get_credentials(vfs_fs* fs, vfs_credentials* creds, uint32_t* groups, size_t max_groups);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* VFS_VFS_H_ */
