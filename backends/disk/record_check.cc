#include "backends/disk/record_check.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"

namespace vfs::disk {

bool ValidPageSize(uint32_t page_size) {
  // The sizes Filesystem::Mount accepts.
  return page_size >= 512 && page_size <= 65536 && (page_size & (page_size - 1)) == 0;
}

std::string CheckInodeNumber(InodeId ino, const char* what) {
  if (ino.value() == 0) return absl::StrCat(what, " inode number 0 (reserved)");
  if (ino.value() > kMaxInodeNumber) {
    return absl::StrCat(what, " inode number ", ino.value(), " above the largest, ",
                        kMaxInodeNumber);
  }
  return "";
}

std::string CheckName(std::string_view name) {
  if (name.empty()) return "empty name";
  if (name.size() > kMaxNameBytes) {
    return absl::StrCat("name of ", name.size(), " bytes (at most ", kMaxNameBytes, ")");
  }
  if (name == "." || name == "..") return "name '" + std::string(name) + "'";
  if (name.find('\0') != std::string_view::npos) return "name holds a NUL byte";
  if (name.find('/') != std::string_view::npos) return "name holds a '/'";
  return "";
}

namespace {

std::string CheckTime(const Timespec& t, const char* what) {
  if (t.nsec < 0 || t.nsec >= 1'000'000'000) {
    return absl::StrCat(what, " nanoseconds ", t.nsec, " outside [0, 1e9)");
  }
  return "";
}

}  // namespace

std::string CheckSuperblock(const PutSuperblock& r, const RecordContext& context) {
  if (!ValidPageSize(r.page_size)) return absl::StrCat("page size ", r.page_size);
  if (context.page_size != 0 && context.page_size != r.page_size) {
    return absl::StrCat("page size ", r.page_size, " after page size ", context.page_size);
  }
  return "";
}

std::string CheckPage(const PageRecord& r, const RecordContext& context) {
  if (std::string why = CheckInodeNumber(r.ino, "page of"); !why.empty()) return why;
  if (context.page_size == 0) return "page record before the superblock";
  if (r.loc.size != context.page_size) {
    return absl::StrCat("page of ", r.loc.size, " bytes in a store of ", context.page_size,
                        "-byte pages");
  }
  if (r.loc.valid > r.loc.size) {
    return absl::StrCat("page valid length ", r.loc.valid, " above its size ", r.loc.size);
  }
  if (r.index.value() > kMaxFileSize / context.page_size) {
    return absl::StrCat("page index ", r.index.value(), " past the largest file size");
  }
  if (r.generation > kMaxGeneration) return absl::StrCat("generation ", r.generation);
  // A log frame holds its pages' bytes; a checkpoint's pages lie in the
  // checkpoint itself (their bounds are checked by the reader, which knows
  // where the metadata starts).
  if (r.inline_data == context.checkpoint) {
    return context.checkpoint ? "checkpoint page record with inline bytes"
                              : "log page record whose bytes are elsewhere";
  }
  if (r.loc.file != context.file) {
    return absl::StrCat("page bytes in file id ", r.loc.file, ", not in this file");
  }
  if (!context.checkpoint && r.mapped) return "log page record marked mapped";
  return "";
}

std::string CheckInode(const PutInode& r, const RecordContext&) {
  const InodeRecord& record = r.record;
  if (std::string why = CheckInodeNumber(record.ino, "record of"); !why.empty()) return why;
  // The kinds the VFS creates: files, directories, symlinks, FIFOs,
  // sockets and devices (rule X5); and the permission bits with setuid,
  // setgid and sticky, nothing else.
  const uint32_t type = record.mode & S_IFMT;
  if (type != S_IFREG && type != S_IFDIR && type != S_IFLNK && type != S_IFIFO &&
      type != S_IFSOCK && type != S_IFCHR && type != S_IFBLK) {
    return absl::StrCat("inode ", record.ino.value(), " of mode 0", absl::Hex(record.mode),
                        ": not a file, directory, symlink, FIFO, socket or device");
  }
  if (record.rdev != 0 && type != S_IFCHR && type != S_IFBLK) {
    return absl::StrCat("inode ", record.ino.value(), " is not a device but has rdev ",
                        record.rdev);
  }
  // Rule X2: what setxattr accepts, and no more than a quota-less inode
  // could hold (kMaxXattrs names).
  if (record.xattrs.size() > kMaxXattrs) {
    return absl::StrCat("inode ", record.ino.value(), " with ", record.xattrs.size(),
                        " extended attributes");
  }
  for (const auto& [name, value] : record.xattrs) {
    const bool known_prefix = name.starts_with("user.") || name.starts_with("trusted.") ||
                              name.starts_with("security.");
    if (name.empty() || name.size() > 255 || name.find('\0') != std::string::npos ||
        !known_prefix) {
      return absl::StrCat("inode ", record.ino.value(), " with an extended attribute name of ",
                          name.size(), " bytes", known_prefix ? "" : " in no known namespace");
    }
    if (value.size() > 65536) {
      return absl::StrCat("inode ", record.ino.value(), " with an extended attribute value of ",
                          value.size(), " bytes");
    }
  }
  if ((record.mode & ~(S_IFMT | 07777u)) != 0) {
    return absl::StrCat("inode ", record.ino.value(), " of mode 0", absl::Hex(record.mode));
  }
  if (record.size > kMaxFileSize) {
    return absl::StrCat("inode ", record.ino.value(), " of size ", record.size);
  }
  if (type == S_IFLNK) {
    const std::string& target = record.symlink_target;
    if (target.empty() || target.size() > kMaxSymlinkBytes ||
        target.find('\0') != std::string::npos) {
      return absl::StrCat("symlink ", record.ino.value(), " with a target of ", target.size(),
                          " bytes", target.find('\0') != std::string::npos ? " holding a NUL" : "");
    }
  } else if (!record.symlink_target.empty()) {
    return absl::StrCat("inode ", record.ino.value(), " is not a symlink but has a target");
  }
  for (const auto& [t, what] : {std::pair{&record.atime, "atime"}, std::pair{&record.mtime, "mtime"},
                                std::pair{&record.ctime, "ctime"}}) {
    if (std::string why = CheckTime(*t, what); !why.empty()) {
      return absl::StrCat("inode ", record.ino.value(), ": ", why);
    }
  }
  return "";
}

std::string CheckDirent(const PutDirent& r, const RecordContext&) {
  if (std::string why = CheckInodeNumber(r.dir, "entry in directory"); !why.empty()) return why;
  if (std::string why = CheckInodeNumber(r.ino, "entry naming"); !why.empty()) return why;
  if (r.ino == kRootInode) return "entry naming the root";
  if (std::string why = CheckName(r.name); !why.empty()) return "entry with " + why;
  return "";
}

std::string CheckDelDirent(const DelDirent& r, const RecordContext&) {
  if (std::string why = CheckInodeNumber(r.dir, "removal in directory"); !why.empty()) return why;
  if (std::string why = CheckName(r.name); !why.empty()) return "removal of an entry with " + why;
  return "";
}

std::string CheckTruncate(const Truncate& r, const RecordContext& context) {
  if (std::string why = CheckInodeNumber(r.ino, "truncation of"); !why.empty()) return why;
  if (r.size > kMaxFileSize) return absl::StrCat("truncation to size ", r.size);
  if (r.generation > kMaxGeneration) return absl::StrCat("truncation generation ", r.generation);
  // A punch (rule X3) starts at a page boundary and ends after it.
  if (r.end_page != Truncate::kNoEnd &&
      (context.page_size == 0 || r.size % context.page_size != 0 ||
       r.end_page <= r.size / context.page_size)) {
    return absl::StrCat("hole punch from ", r.size, " to page ", r.end_page);
  }
  return "";
}

std::string CheckFreeInode(const FreeInode& r, const RecordContext&) {
  if (std::string why = CheckInodeNumber(r.ino, "free of"); !why.empty()) return why;
  if (r.ino == kRootInode) return "free of the root inode";
  return "";
}

std::string CheckGeneration(const GenerationRecord& r, const RecordContext&) {
  if (r.generation > kMaxGeneration) return absl::StrCat("generation ", r.generation);
  return "";
}

std::string CheckRecord(const Record& record, const RecordContext& context) {
  // A store's first record is its superblock (Filesystem::Format sends it
  // with the root): anything else before it would be kept under a store the
  // mount takes for empty and formats (found by the store-loader fuzzer:
  // an entry of such a log reappeared next to the new root's files).
  if (context.page_size == 0 && !std::holds_alternative<PutSuperblock>(record) &&
      !std::holds_alternative<GenerationRecord>(record) &&
      !std::holds_alternative<ForgetUnmapped>(record)) {
    return "record before the superblock";
  }
  struct Visitor {
    const RecordContext& c;
    std::string operator()(const PutSuperblock& r) const { return CheckSuperblock(r, c); }
    std::string operator()(const PageRecord& r) const { return CheckPage(r, c); }
    std::string operator()(const PutInode& r) const { return CheckInode(r, c); }
    std::string operator()(const PutDirent& r) const { return CheckDirent(r, c); }
    std::string operator()(const DelDirent& r) const { return CheckDelDirent(r, c); }
    std::string operator()(const Truncate& r) const { return CheckTruncate(r, c); }
    std::string operator()(const FreeInode& r) const { return CheckFreeInode(r, c); }
    std::string operator()(const ForgetUnmapped&) const {
      return c.checkpoint ? "a load marker in a checkpoint" : "";
    }
    std::string operator()(const GenerationRecord& r) const { return CheckGeneration(r, c); }
  };
  return std::visit(Visitor{context}, record);
}

}  // namespace vfs::disk
