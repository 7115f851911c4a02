// OpenFile: an open file description (rule M4).
//
// Holds the access mode and status flags given to open(), the file offset,
// the directory-reading position, the writeback error cursors (rule W3/W4)
// and the WASI rights. dup'd descriptors share one OpenFile, and with it the
// offset and the error cursor.
//
// Internal header: not part of the public API.
#ifndef VFS_OPEN_FILE_H_
#define VFS_OPEN_FILE_H_

#include <fcntl.h>

#include <atomic>
#include <memory>
#include <string>

#include "vfs/credentials.h"
#include "vfs/inode.h"
#include "vfs/internal/hazard.h"
#include "vfs/internal/mutex.h"

namespace vfs {

struct OpenFile;
std::shared_ptr<OpenFile> MakeOpenFile(std::shared_ptr<Inode> inode, int flags);

// OpenFile::dir_stage after an lseek past a directory's last name.
inline constexpr int kDirPastEnd = 3;

struct OpenFile {
  // The only way to make one (fd_table.h): the last reference retires it,
  // so a call that found it through the descriptor table without a
  // reference finishes before it is deleted.
  friend std::shared_ptr<OpenFile> MakeOpenFile(std::shared_ptr<Inode> inode, int flags);
  ~OpenFile();

  // O_PATH and the access mode never change after open, so one relaxed
  // load of the word answers these.
  bool is_path() const { return (flags.load(std::memory_order_relaxed) & O_PATH) != 0; }
  bool readable() const {
    const int f = flags.load(std::memory_order_relaxed);
    return !(f & O_PATH) && ((f & O_ACCMODE) == O_RDONLY || (f & O_ACCMODE) == O_RDWR);
  }
  bool writable() const {
    const int f = flags.load(std::memory_order_relaxed);
    return !(f & O_PATH) && ((f & O_ACCMODE) == O_WRONLY || (f & O_ACCMODE) == O_RDWR);
  }

  const std::shared_ptr<Inode> inode;
  // open(2) flags as given, less O_CREAT/O_EXCL/O_TRUNC. fcntl(F_SETFL)
  // (Filesystem::SetStatusFlags) changes the kSetflMask bits of it and
  // nothing else; calls read it without a lock, as Linux reads f_flags.
  std::atomic<int> flags;
  static constexpr int kSetflMask = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME;

  // The file position lock: held across a whole read or write, as Linux's
  // f_pos_lock, so an O_DSYNC write advances the offset only on success.
  Mutex pos_mu;
  int64_t offset ABSL_GUARDED_BY(pos_mu) = 0;
  // readdir position: 0 before ".", 1 before "..", 2 after `dir_last`,
  // kDirPastEnd after an lseek past the last name (nothing to read).
  int dir_stage ABSL_GUARDED_BY(pos_mu) = 0;
  std::string dir_last ABSL_GUARDED_BY(pos_mu);

  Mutex err_mu;
  // Against Inode::wb_err: written under err_mu, read without it by the
  // check's fast path (as Linux reads f_wb_err before taking f_lock).
  std::atomic<uint32_t> wb_cursor{0};
  uint32_t sb_cursor ABSL_GUARDED_BY(err_mu) = 0;  // against the filesystem's
  // WASI rights (wasi.h): what this description may do, and what a
  // description opened through it may get. Changed only under err_mu, and
  // only narrowed; read without a lock by every call's rights check.
  std::atomic<uint64_t> rights_base{~0ull};
  std::atomic<uint64_t> rights_inheriting{~0ull};
  // Rule X4: who opened the description (Linux's f_cred): linkat
  // AT_EMPTY_PATH through this descriptor needs the caller to be the same
  // identity (serial, uid, gid and capabilities; a serial alone would let a
  // changed copy pass), or CAP_DAC_READ_SEARCH. Set once at open, before the
  // descriptor exists.
  struct Opener {
    uint64_t serial = 0;
    uint32_t uid = 0;
    uint32_t gid = 0;
    uint32_t capabilities = 0;
    bool Is(const Credentials& c) const {
      return serial == c.serial && uid == c.uid && gid == c.gid && capabilities == c.capabilities;
    }
  } opener;

 private:
  OpenFile(std::shared_ptr<Inode> inode, int flags) : inode(std::move(inode)), flags(flags) {}
};

inline std::shared_ptr<OpenFile> MakeOpenFile(std::shared_ptr<Inode> inode, int flags) {
  return std::shared_ptr<OpenFile>(new OpenFile(std::move(inode), flags), [](OpenFile* file) {
    hazard::Retire(file, [](void* p) { delete static_cast<OpenFile*>(p); });
  });
}

}  // namespace vfs

#endif  // VFS_OPEN_FILE_H_
