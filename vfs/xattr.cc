// Rule X2 (extended attributes) and rule X3 (fallocate).
#include <cerrno>

#include "vfs/internal/filesystem_internal.h"

namespace vfs {

Result<void> Filesystem::SetXattrAt(Fd, std::string_view, int, std::string_view, std::string_view,
                                    int) {
  return Error(ENOSYS);
}
Result<std::string> Filesystem::GetXattrAt(Fd, std::string_view, int, std::string_view) {
  return Error(ENOSYS);
}
Result<std::vector<std::string>> Filesystem::ListXattrAt(Fd, std::string_view, int) {
  return Error(ENOSYS);
}
Result<void> Filesystem::RemoveXattrAt(Fd, std::string_view, int, std::string_view) {
  return Error(ENOSYS);
}
Result<void> Filesystem::FsetXattr(Fd, std::string_view, std::string_view, int) {
  return Error(ENOSYS);
}
Result<std::string> Filesystem::FgetXattr(Fd, std::string_view) { return Error(ENOSYS); }
Result<std::vector<std::string>> Filesystem::FlistXattr(Fd) { return Error(ENOSYS); }
Result<void> Filesystem::FremoveXattr(Fd, std::string_view) { return Error(ENOSYS); }
Result<void> Filesystem::Fallocate(Fd, int, int64_t, int64_t) { return Error(ENOSYS); }

}  // namespace vfs
