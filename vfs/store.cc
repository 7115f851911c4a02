#include "vfs/store.h"

#include "absl/strings/str_cat.h"

namespace vfs {
namespace {

struct PayloadVisitor {
  uint64_t operator()(const PutPage& r) const { return r.data ? r.data->size() : 0; }
  template <typename T>
  uint64_t operator()(const T&) const { return 0; }
};

struct DescribeVisitor {
  std::string operator()(const PutSuperblock& r) const {
    return absl::StrCat("superblock page_size=", r.page_size);
  }
  std::string operator()(const PutPage& r) const {
    return absl::StrCat("page ino=", r.ino.value(), " index=", r.index.value());
  }
  std::string operator()(const PutInode& r) const {
    return absl::StrCat("inode ino=", r.record.ino.value(), " size=", r.record.size,
                        r.data_only ? " (data only)" : "");
  }
  std::string operator()(const PutDirent& r) const {
    return absl::StrCat("dirent dir=", r.dir.value(), " name=", r.name, " ino=", r.ino.value());
  }
  std::string operator()(const DelDirent& r) const {
    return absl::StrCat("unlink dir=", r.dir.value(), " name=", r.name);
  }
  std::string operator()(const Truncate& r) const {
    if (r.end_page != Truncate::kNoEnd) {
      return absl::StrCat("punch ino=", r.ino.value(), " from=", r.size, " pages<", r.end_page);
    }
    return absl::StrCat("truncate ino=", r.ino.value(), " size=", r.size);
  }
  std::string operator()(const FreeInode& r) const {
    return absl::StrCat("free ino=", r.ino.value());
  }
};

}  // namespace

uint64_t PayloadBytes(const Request& request) { return std::visit(PayloadVisitor{}, request); }
std::string Describe(const Request& request) { return std::visit(DescribeVisitor{}, request); }

}  // namespace vfs
