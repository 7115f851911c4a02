#include "backends/disk/host_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace vfs::disk {

int Host::SyncDir() const {
  if (int err = Inject(DiskHostOp::kSyncDir, "."); err != 0) return err;
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  if (counters) counters->dir_syncs.fetch_add(1, std::memory_order_relaxed);
  return err;
}

int HostFile::Open(const Host* host, const std::string& name, int flags,
                   std::shared_ptr<HostFile>* out) {
  if (flags & O_CREAT) {
    if (int err = host->Inject(DiskHostOp::kCreate, name); err != 0) return err;
  }
  const int fd = ::open(host->PathOf(name).c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  out->reset(new HostFile(host, name, fd));
  return 0;
}

HostFile::~HostFile() { ::close(fd_); }

int HostFile::Read(uint64_t offset, size_t n, char* buf, size_t* got) const {
  *got = 0;
  if (int err = host_->Inject(DiskHostOp::kRead, name_); err != 0) return err;
  while (*got < n) {
    const ssize_t r = ::pread(fd_, buf + *got, n - *got, static_cast<off_t>(offset + *got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (r == 0) break;  // end of file
    *got += static_cast<size_t>(r);
  }
  return 0;
}

int HostFile::ReadExactly(uint64_t offset, size_t n, char* buf) const {
  size_t got = 0;
  if (int err = Read(offset, n, buf, &got); err != 0) return err;
  return got == n ? 0 : EIO;
}

int HostFile::Write(uint64_t offset, const char* buf, size_t n, DiskHostOp op) const {
  if (int err = host_->Inject(op, name_); err != 0) return err;
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pwrite(fd_, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<size_t>(r);
  }
  return 0;
}

int HostFile::Datasync(DiskHostOp op) const {
  if (int err = host_->Inject(op, name_); err != 0) return err;
  return ::fdatasync(fd_) == 0 ? 0 : errno;
}

int HostFile::WriteBack(uint64_t offset, uint64_t n, DiskHostOp op) const {
  if (int err = host_->Inject(op, name_); err != 0) return err;
  const unsigned flags =
      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  return ::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(n), flags) == 0
             ? 0
             : errno;
}

int HostFile::Truncate(uint64_t size) const {
  if (int err = host_->Inject(DiskHostOp::kTruncate, name_); err != 0) return err;
  return ::ftruncate(fd_, static_cast<off_t>(size)) == 0 ? 0 : errno;
}

int HostFile::Size(uint64_t* size) const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return errno;
  *size = static_cast<uint64_t>(st.st_size);
  return 0;
}

}  // namespace vfs::disk
