// Result<T>: the one result type of the syscall-shaped API.
//
// A call either succeeds with a value or fails with an exact errno (EBADF,
// EINVAL, ESPIPE, EIO, ...). Abseil's Status maps several errnos to one code,
// which loses what a POSIX caller must see, so the API carries the errno
// itself. Result<void> is the form for calls that return nothing.
//
//   vfs::Result<vfs::Fd> fd = fs->Open("/a", O_RDWR | O_CREAT, 0644);
//   if (!fd.ok()) return fd.error();   // an errno such as ENOENT
//   vfs::Result<size_t> n = fs->Write(*fd, "hi", 2);
//
// Thread-safety: a Result is a value; copies are independent.
#ifndef VFS_RESULT_H_
#define VFS_RESULT_H_

#include <cassert>
#include <optional>
#include <utility>

namespace vfs {

// An errno. Constructing a Result from it makes a failed Result.
struct Error {
  explicit constexpr Error(int code) : code(code) {}
  int code;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : error_(error.code) { assert(error.code != 0); }  // NOLINT

  bool ok() const { return error_ == 0; }
  // The errno of a failed result, 0 for a successful one.
  int error() const { return error_; }

  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  int error_ = 0;
  std::optional<T> value_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(error.code) {}  // NOLINT: implicit by design
  bool ok() const { return error_ == 0; }
  int error() const { return error_; }

 private:
  int error_ = 0;
};

// A successful Result<void>.
inline Result<void> Ok() { return Result<void>(); }
// Result<void> from an errno that may be 0.
inline Result<void> FromErrno(int code) { return code == 0 ? Ok() : Result<void>(Error(code)); }

}  // namespace vfs

#endif  // VFS_RESULT_H_
