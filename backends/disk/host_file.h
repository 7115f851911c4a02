// HostFile: one open file of the disk store's directory, with the host calls
// the store makes on it. Every call loops over short transfers and EINTR,
// answers an errno (0 on success), counts itself, and first asks the test
// hook (DiskStoreOptions::inject_host_error) whether to fail.
//
// Thread-safety: pread/pwrite/fdatasync on one descriptor may run from many
// threads at once (the store keeps their byte ranges apart).
#ifndef BACKENDS_DISK_HOST_FILE_H_
#define BACKENDS_DISK_HOST_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "backends/disk/disk_store.h"

namespace vfs::disk {

// What every host call of one store shares: the test hook and the counters.
struct Host {
  std::string dir;
  std::function<int(DiskHostOp, const std::string&)> inject;
  std::shared_ptr<DiskStoreCounters> counters;

  int Inject(DiskHostOp op, const std::string& name) const { return inject ? inject(op, name) : 0; }
  std::string PathOf(const std::string& name) const { return dir + "/" + name; }
  // fsync of the store's directory, so that creations, renames and removals
  // in it are durable.
  int SyncDir() const;
};

class HostFile {
 public:
  // Opens `name` in the store's directory with open(2) `flags`.
  static int Open(const Host* host, const std::string& name, int flags,
                  std::shared_ptr<HostFile>* out);
  ~HostFile();
  HostFile(const HostFile&) = delete;
  HostFile& operator=(const HostFile&) = delete;

  const std::string& name() const { return name_; }
  // Reads up to `n` bytes at `offset`; `*got` is less than `n` only at the
  // end of the file.
  int Read(uint64_t offset, size_t n, char* buf, size_t* got) const;
  // Reads exactly `n` bytes, or fails (EIO past the end).
  int ReadExactly(uint64_t offset, size_t n, char* buf) const;
  int Write(uint64_t offset, const char* buf, size_t n,
            DiskHostOp op = DiskHostOp::kWrite) const;
  int Datasync(DiskHostOp op = DiskHostOp::kSync) const;
  // Writes back the dirty pages of [offset, offset + n) and waits for them
  // (sync_file_range(2)); no metadata, no device cache flush.
  int WriteBack(uint64_t offset, uint64_t n, DiskHostOp op) const;
  int Truncate(uint64_t size) const;
  int Size(uint64_t* size) const;

 private:
  HostFile(const Host* host, std::string name, int fd) : host_(host), name_(std::move(name)), fd_(fd) {}
  const Host* host_;
  const std::string name_;
  const int fd_;
};

}  // namespace vfs::disk

#endif  // BACKENDS_DISK_HOST_FILE_H_
