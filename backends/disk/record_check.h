// Validation of every record read from a store's files (issue 17, finding
// 3): a store is input. A record that passed its frame's checksum may still
// be forged or written by a bug, so each field is checked against what this
// store's writer can produce before recovery applies it. One function per
// record kind; a new field of a record is checked in that kind's function.
//
// Thread-safety: pure functions.
#ifndef BACKENDS_DISK_RECORD_CHECK_H_
#define BACKENDS_DISK_RECORD_CHECK_H_

#include <cstdint>
#include <string>

#include "backends/disk/log_format.h"
#include "vfs/store.h"

namespace vfs::disk {

// The largest inode number, page index and size a store may hold: every one
// fits an int64_t (st_ino, off_t), and the next inode number (largest + 1)
// cannot wrap to 0 or to the root's number.
inline constexpr uint64_t kMaxInodeNumber = ::vfs::kMaxInodeNumber;  // vfs/types.h
inline constexpr uint64_t kMaxFileSize = static_cast<uint64_t>(INT64_MAX);
inline constexpr uint64_t kMaxGeneration = ::vfs::kMaxGeneration;      // vfs/types.h
inline constexpr uint32_t kMaxNameBytes = 255;      // NAME_MAX
inline constexpr uint32_t kMaxSymlinkBytes = 4095;  // PATH_MAX less the NUL
// Rule X2: the most extended attributes one inode may hold (the VFS refuses
// more with ENOSPC, so a record with more is damage).
inline constexpr size_t kMaxXattrs = kMaxXattrsPerInode;

// What a record is checked against.
struct RecordContext {
  uint32_t page_size = 0;   // 0: no superblock read yet
  bool checkpoint = false;  // a checkpoint's metadata (pages elsewhere), not a log frame
  uint64_t file = 0;        // the FileId of the file being read
};

// Empty if `record` is one this store's writer could have written;
// otherwise a short reason ("name holds a NUL byte").
std::string CheckRecord(const Record& record, const RecordContext& context);

// The kinds, for tests and for CheckRecord.
std::string CheckSuperblock(const PutSuperblock& r, const RecordContext& context);
std::string CheckPage(const PageRecord& r, const RecordContext& context);
std::string CheckInode(const PutInode& r, const RecordContext& context);
std::string CheckDirent(const PutDirent& r, const RecordContext& context);
std::string CheckDelDirent(const DelDirent& r, const RecordContext& context);
std::string CheckTruncate(const Truncate& r, const RecordContext& context);
std::string CheckFreeInode(const FreeInode& r, const RecordContext& context);
std::string CheckGeneration(const GenerationRecord& r, const RecordContext& context);

// Field checks shared by the kinds.
std::string CheckInodeNumber(InodeId ino, const char* what);
std::string CheckName(std::string_view name);
bool ValidPageSize(uint32_t page_size);

}  // namespace vfs::disk

#endif  // BACKENDS_DISK_RECORD_CHECK_H_
