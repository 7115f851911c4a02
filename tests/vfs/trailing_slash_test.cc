// Trailing slashes and final symlinks: what each namespace call answers for
// a path whose last name is followed by "/", "//" or "/.", on a symlink to a
// directory, a symlink to a file, a dangling symlink, a file, a directory
// and a missing name; and lookups of "." and ".." in a removed directory.
//
// Every expected errno is what Linux answered (a 6.18 kernel on ext4, as
// root) for the same call on the same tree, so each case reads "as Linux".
// The rules, from fs/namei.c: a lookup (stat, lstat, open, chdir, chmod,
// utimensat, truncate, readlink, link's source) follows a final symlink when
// a slash follows its name and then needs a directory (lookup_last); the
// calls that act on the name itself never follow it: mkdir, mkfifo, symlink
// and link's new name answer EEXIST for anything there and ENOENT for a
// missing name with a slash, except mkdir (filename_create); rmdir needs a
// directory (do_rmdir); unlink answers ENOTDIR for a non-directory with a
// slash (do_unlinkat); rename needs a directory on the side that has the
// slash (do_renameat2); open with O_CREAT answers EISDIR (open_last_lookups).
#include <fcntl.h>

#include <array>
#include <cerrno>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "tests/test_util.h"

namespace vfs::testing {
namespace {

// What the last name of the path names, in the tree TrailingSlashTest makes.
enum Kind { kSymlinkToDir, kSymlinkToFile, kDanglingSymlink, kFile, kDir, kMissing };

const char* KindName(Kind kind) {
  switch (kind) {
    case kSymlinkToDir: return "SymlinkToDir";
    case kSymlinkToFile: return "SymlinkToFile";
    case kDanglingSymlink: return "DanglingSymlink";
    case kFile: return "File";
    case kDir: return "Dir";
    case kMissing: return "Missing";
  }
  return "?";
}

// The name of each kind in /t.
const char* KindPath(Kind kind) {
  switch (kind) {
    case kSymlinkToDir: return "ld";
    case kSymlinkToFile: return "lf";
    case kDanglingSymlink: return "ln";
    case kFile: return "f";
    case kDir: return "d";
    case kMissing: return "m";
  }
  return "?";
}

std::string ErrnoName(int code) {
  static const std::map<int, std::string> kNames = {
      {0, "Succeeds"},    {EEXIST, "IsEexist"}, {ENOENT, "IsEnoent"}, {ENOTDIR, "IsEnotdir"},
      {EISDIR, "IsEisdir"}, {EINVAL, "IsEinval"}, {EBUSY, "IsEbusy"},   {EPERM, "IsEperm"},
      {ELOOP, "IsEloop"},   {ENOTEMPTY, "IsEnotempty"}};
  auto it = kNames.find(code);
  return it != kNames.end() ? it->second : "IsErrno" + std::to_string(code);
}

struct Case {
  const char* call;   // what Run does with the path
  Kind kind;          // what the last name names
  const char* slash;  // what follows it: "/", "//" or "/."
  int expected;       // Linux's errno, 0 for success
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.call << "(\"" << KindPath(c.kind) << c.slash << "\") as Linux: "
            << (c.expected == 0 ? "success" : strerror(c.expected));
}

// The answers of the host kernel (see the comment at the top).
const Case kCases[] = {
    // stat
    {"stat", kSymlinkToDir, "/", 0},
    {"stat", kSymlinkToDir, "//", 0},
    {"stat", kSymlinkToDir, "/.", 0},
    {"stat", kSymlinkToFile, "/", ENOTDIR},
    {"stat", kSymlinkToFile, "//", ENOTDIR},
    {"stat", kSymlinkToFile, "/.", ENOTDIR},
    {"stat", kDanglingSymlink, "/", ENOENT},
    {"stat", kDanglingSymlink, "//", ENOENT},
    {"stat", kDanglingSymlink, "/.", ENOENT},
    {"stat", kFile, "/", ENOTDIR},
    {"stat", kFile, "//", ENOTDIR},
    {"stat", kFile, "/.", ENOTDIR},
    {"stat", kDir, "/", 0},
    {"stat", kDir, "//", 0},
    {"stat", kDir, "/.", 0},
    {"stat", kMissing, "/", ENOENT},
    {"stat", kMissing, "//", ENOENT},
    {"stat", kMissing, "/.", ENOENT},
    // lstat
    {"lstat", kSymlinkToDir, "/", 0},
    {"lstat", kSymlinkToDir, "//", 0},
    {"lstat", kSymlinkToDir, "/.", 0},
    {"lstat", kSymlinkToFile, "/", ENOTDIR},
    {"lstat", kSymlinkToFile, "//", ENOTDIR},
    {"lstat", kSymlinkToFile, "/.", ENOTDIR},
    {"lstat", kDanglingSymlink, "/", ENOENT},
    {"lstat", kDanglingSymlink, "//", ENOENT},
    {"lstat", kDanglingSymlink, "/.", ENOENT},
    {"lstat", kFile, "/", ENOTDIR},
    {"lstat", kFile, "//", ENOTDIR},
    {"lstat", kFile, "/.", ENOTDIR},
    {"lstat", kDir, "/", 0},
    {"lstat", kDir, "//", 0},
    {"lstat", kDir, "/.", 0},
    {"lstat", kMissing, "/", ENOENT},
    {"lstat", kMissing, "//", ENOENT},
    {"lstat", kMissing, "/.", ENOENT},
    // open_rdonly
    {"open_rdonly", kSymlinkToDir, "/", 0},
    {"open_rdonly", kSymlinkToDir, "//", 0},
    {"open_rdonly", kSymlinkToDir, "/.", 0},
    {"open_rdonly", kSymlinkToFile, "/", ENOTDIR},
    {"open_rdonly", kSymlinkToFile, "//", ENOTDIR},
    {"open_rdonly", kSymlinkToFile, "/.", ENOTDIR},
    {"open_rdonly", kDanglingSymlink, "/", ENOENT},
    {"open_rdonly", kDanglingSymlink, "//", ENOENT},
    {"open_rdonly", kDanglingSymlink, "/.", ENOENT},
    {"open_rdonly", kFile, "/", ENOTDIR},
    {"open_rdonly", kFile, "//", ENOTDIR},
    {"open_rdonly", kFile, "/.", ENOTDIR},
    {"open_rdonly", kDir, "/", 0},
    {"open_rdonly", kDir, "//", 0},
    {"open_rdonly", kDir, "/.", 0},
    {"open_rdonly", kMissing, "/", ENOENT},
    {"open_rdonly", kMissing, "//", ENOENT},
    {"open_rdonly", kMissing, "/.", ENOENT},
    // open_rdwr
    {"open_rdwr", kSymlinkToDir, "/", EISDIR},
    {"open_rdwr", kSymlinkToDir, "//", EISDIR},
    {"open_rdwr", kSymlinkToDir, "/.", EISDIR},
    {"open_rdwr", kSymlinkToFile, "/", ENOTDIR},
    {"open_rdwr", kSymlinkToFile, "//", ENOTDIR},
    {"open_rdwr", kSymlinkToFile, "/.", ENOTDIR},
    {"open_rdwr", kDanglingSymlink, "/", ENOENT},
    {"open_rdwr", kDanglingSymlink, "//", ENOENT},
    {"open_rdwr", kDanglingSymlink, "/.", ENOENT},
    {"open_rdwr", kFile, "/", ENOTDIR},
    {"open_rdwr", kFile, "//", ENOTDIR},
    {"open_rdwr", kFile, "/.", ENOTDIR},
    {"open_rdwr", kDir, "/", EISDIR},
    {"open_rdwr", kDir, "//", EISDIR},
    {"open_rdwr", kDir, "/.", EISDIR},
    {"open_rdwr", kMissing, "/", ENOENT},
    {"open_rdwr", kMissing, "//", ENOENT},
    {"open_rdwr", kMissing, "/.", ENOENT},
    // open_directory
    {"open_directory", kSymlinkToDir, "/", 0},
    {"open_directory", kSymlinkToDir, "//", 0},
    {"open_directory", kSymlinkToDir, "/.", 0},
    {"open_directory", kSymlinkToFile, "/", ENOTDIR},
    {"open_directory", kSymlinkToFile, "//", ENOTDIR},
    {"open_directory", kSymlinkToFile, "/.", ENOTDIR},
    {"open_directory", kDanglingSymlink, "/", ENOENT},
    {"open_directory", kDanglingSymlink, "//", ENOENT},
    {"open_directory", kDanglingSymlink, "/.", ENOENT},
    {"open_directory", kFile, "/", ENOTDIR},
    {"open_directory", kFile, "//", ENOTDIR},
    {"open_directory", kFile, "/.", ENOTDIR},
    {"open_directory", kDir, "/", 0},
    {"open_directory", kDir, "//", 0},
    {"open_directory", kDir, "/.", 0},
    {"open_directory", kMissing, "/", ENOENT},
    {"open_directory", kMissing, "//", ENOENT},
    {"open_directory", kMissing, "/.", ENOENT},
    // open_nofollow
    {"open_nofollow", kSymlinkToDir, "/", 0},
    {"open_nofollow", kSymlinkToDir, "//", 0},
    {"open_nofollow", kSymlinkToDir, "/.", 0},
    {"open_nofollow", kSymlinkToFile, "/", ENOTDIR},
    {"open_nofollow", kSymlinkToFile, "//", ENOTDIR},
    {"open_nofollow", kSymlinkToFile, "/.", ENOTDIR},
    {"open_nofollow", kDanglingSymlink, "/", ENOENT},
    {"open_nofollow", kDanglingSymlink, "//", ENOENT},
    {"open_nofollow", kDanglingSymlink, "/.", ENOENT},
    {"open_nofollow", kFile, "/", ENOTDIR},
    {"open_nofollow", kFile, "//", ENOTDIR},
    {"open_nofollow", kFile, "/.", ENOTDIR},
    {"open_nofollow", kDir, "/", 0},
    {"open_nofollow", kDir, "//", 0},
    {"open_nofollow", kDir, "/.", 0},
    {"open_nofollow", kMissing, "/", ENOENT},
    {"open_nofollow", kMissing, "//", ENOENT},
    {"open_nofollow", kMissing, "/.", ENOENT},
    // open_path
    {"open_path", kSymlinkToDir, "/", 0},
    {"open_path", kSymlinkToDir, "//", 0},
    {"open_path", kSymlinkToDir, "/.", 0},
    {"open_path", kSymlinkToFile, "/", ENOTDIR},
    {"open_path", kSymlinkToFile, "//", ENOTDIR},
    {"open_path", kSymlinkToFile, "/.", ENOTDIR},
    {"open_path", kDanglingSymlink, "/", ENOENT},
    {"open_path", kDanglingSymlink, "//", ENOENT},
    {"open_path", kDanglingSymlink, "/.", ENOENT},
    {"open_path", kFile, "/", ENOTDIR},
    {"open_path", kFile, "//", ENOTDIR},
    {"open_path", kFile, "/.", ENOTDIR},
    {"open_path", kDir, "/", 0},
    {"open_path", kDir, "//", 0},
    {"open_path", kDir, "/.", 0},
    {"open_path", kMissing, "/", ENOENT},
    {"open_path", kMissing, "//", ENOENT},
    {"open_path", kMissing, "/.", ENOENT},
    // open_path_nofollow
    {"open_path_nofollow", kSymlinkToDir, "/", 0},
    {"open_path_nofollow", kSymlinkToDir, "//", 0},
    {"open_path_nofollow", kSymlinkToDir, "/.", 0},
    {"open_path_nofollow", kSymlinkToFile, "/", ENOTDIR},
    {"open_path_nofollow", kSymlinkToFile, "//", ENOTDIR},
    {"open_path_nofollow", kSymlinkToFile, "/.", ENOTDIR},
    {"open_path_nofollow", kDanglingSymlink, "/", ENOENT},
    {"open_path_nofollow", kDanglingSymlink, "//", ENOENT},
    {"open_path_nofollow", kDanglingSymlink, "/.", ENOENT},
    {"open_path_nofollow", kFile, "/", ENOTDIR},
    {"open_path_nofollow", kFile, "//", ENOTDIR},
    {"open_path_nofollow", kFile, "/.", ENOTDIR},
    {"open_path_nofollow", kDir, "/", 0},
    {"open_path_nofollow", kDir, "//", 0},
    {"open_path_nofollow", kDir, "/.", 0},
    {"open_path_nofollow", kMissing, "/", ENOENT},
    {"open_path_nofollow", kMissing, "//", ENOENT},
    {"open_path_nofollow", kMissing, "/.", ENOENT},
    // open_creat
    {"open_creat", kSymlinkToDir, "/", EISDIR},
    {"open_creat", kSymlinkToDir, "//", EISDIR},
    {"open_creat", kSymlinkToDir, "/.", EISDIR},
    {"open_creat", kSymlinkToFile, "/", EISDIR},
    {"open_creat", kSymlinkToFile, "//", EISDIR},
    {"open_creat", kSymlinkToFile, "/.", ENOTDIR},
    {"open_creat", kDanglingSymlink, "/", EISDIR},
    {"open_creat", kDanglingSymlink, "//", EISDIR},
    {"open_creat", kDanglingSymlink, "/.", ENOENT},
    {"open_creat", kFile, "/", EISDIR},
    {"open_creat", kFile, "//", EISDIR},
    {"open_creat", kFile, "/.", ENOTDIR},
    {"open_creat", kDir, "/", EISDIR},
    {"open_creat", kDir, "//", EISDIR},
    {"open_creat", kDir, "/.", EISDIR},
    {"open_creat", kMissing, "/", EISDIR},
    {"open_creat", kMissing, "//", EISDIR},
    {"open_creat", kMissing, "/.", ENOENT},
    // open_creat_excl
    {"open_creat_excl", kSymlinkToDir, "/", EISDIR},
    {"open_creat_excl", kSymlinkToDir, "//", EISDIR},
    {"open_creat_excl", kSymlinkToDir, "/.", EEXIST},
    {"open_creat_excl", kSymlinkToFile, "/", EISDIR},
    {"open_creat_excl", kSymlinkToFile, "//", EISDIR},
    {"open_creat_excl", kSymlinkToFile, "/.", ENOTDIR},
    {"open_creat_excl", kDanglingSymlink, "/", EISDIR},
    {"open_creat_excl", kDanglingSymlink, "//", EISDIR},
    {"open_creat_excl", kDanglingSymlink, "/.", ENOENT},
    {"open_creat_excl", kFile, "/", EISDIR},
    {"open_creat_excl", kFile, "//", EISDIR},
    {"open_creat_excl", kFile, "/.", ENOTDIR},
    {"open_creat_excl", kDir, "/", EISDIR},
    {"open_creat_excl", kDir, "//", EISDIR},
    {"open_creat_excl", kDir, "/.", EEXIST},
    {"open_creat_excl", kMissing, "/", EISDIR},
    {"open_creat_excl", kMissing, "//", EISDIR},
    {"open_creat_excl", kMissing, "/.", ENOENT},
    // open_trunc
    {"open_trunc", kSymlinkToDir, "/", EISDIR},
    {"open_trunc", kSymlinkToDir, "//", EISDIR},
    {"open_trunc", kSymlinkToDir, "/.", EISDIR},
    {"open_trunc", kSymlinkToFile, "/", ENOTDIR},
    {"open_trunc", kSymlinkToFile, "//", ENOTDIR},
    {"open_trunc", kSymlinkToFile, "/.", ENOTDIR},
    {"open_trunc", kDanglingSymlink, "/", ENOENT},
    {"open_trunc", kDanglingSymlink, "//", ENOENT},
    {"open_trunc", kDanglingSymlink, "/.", ENOENT},
    {"open_trunc", kFile, "/", ENOTDIR},
    {"open_trunc", kFile, "//", ENOTDIR},
    {"open_trunc", kFile, "/.", ENOTDIR},
    {"open_trunc", kDir, "/", EISDIR},
    {"open_trunc", kDir, "//", EISDIR},
    {"open_trunc", kDir, "/.", EISDIR},
    {"open_trunc", kMissing, "/", ENOENT},
    {"open_trunc", kMissing, "//", ENOENT},
    {"open_trunc", kMissing, "/.", ENOENT},
    // truncate
    {"truncate", kSymlinkToDir, "/", EISDIR},
    {"truncate", kSymlinkToDir, "//", EISDIR},
    {"truncate", kSymlinkToDir, "/.", EISDIR},
    {"truncate", kSymlinkToFile, "/", ENOTDIR},
    {"truncate", kSymlinkToFile, "//", ENOTDIR},
    {"truncate", kSymlinkToFile, "/.", ENOTDIR},
    {"truncate", kDanglingSymlink, "/", ENOENT},
    {"truncate", kDanglingSymlink, "//", ENOENT},
    {"truncate", kDanglingSymlink, "/.", ENOENT},
    {"truncate", kFile, "/", ENOTDIR},
    {"truncate", kFile, "//", ENOTDIR},
    {"truncate", kFile, "/.", ENOTDIR},
    {"truncate", kDir, "/", EISDIR},
    {"truncate", kDir, "//", EISDIR},
    {"truncate", kDir, "/.", EISDIR},
    {"truncate", kMissing, "/", ENOENT},
    {"truncate", kMissing, "//", ENOENT},
    {"truncate", kMissing, "/.", ENOENT},
    // mkdir
    {"mkdir", kSymlinkToDir, "/", EEXIST},
    {"mkdir", kSymlinkToDir, "//", EEXIST},
    {"mkdir", kSymlinkToDir, "/.", EEXIST},
    {"mkdir", kSymlinkToFile, "/", EEXIST},
    {"mkdir", kSymlinkToFile, "//", EEXIST},
    {"mkdir", kSymlinkToFile, "/.", ENOTDIR},
    {"mkdir", kDanglingSymlink, "/", EEXIST},
    {"mkdir", kDanglingSymlink, "//", EEXIST},
    {"mkdir", kDanglingSymlink, "/.", ENOENT},
    {"mkdir", kFile, "/", EEXIST},
    {"mkdir", kFile, "//", EEXIST},
    {"mkdir", kFile, "/.", ENOTDIR},
    {"mkdir", kDir, "/", EEXIST},
    {"mkdir", kDir, "//", EEXIST},
    {"mkdir", kDir, "/.", EEXIST},
    {"mkdir", kMissing, "/", 0},
    {"mkdir", kMissing, "//", 0},
    {"mkdir", kMissing, "/.", ENOENT},
    // rmdir
    {"rmdir", kSymlinkToDir, "/", ENOTDIR},
    {"rmdir", kSymlinkToDir, "//", ENOTDIR},
    {"rmdir", kSymlinkToDir, "/.", EINVAL},
    {"rmdir", kSymlinkToFile, "/", ENOTDIR},
    {"rmdir", kSymlinkToFile, "//", ENOTDIR},
    {"rmdir", kSymlinkToFile, "/.", ENOTDIR},
    {"rmdir", kDanglingSymlink, "/", ENOTDIR},
    {"rmdir", kDanglingSymlink, "//", ENOTDIR},
    {"rmdir", kDanglingSymlink, "/.", ENOENT},
    {"rmdir", kFile, "/", ENOTDIR},
    {"rmdir", kFile, "//", ENOTDIR},
    {"rmdir", kFile, "/.", ENOTDIR},
    {"rmdir", kDir, "/", 0},
    {"rmdir", kDir, "//", 0},
    {"rmdir", kDir, "/.", EINVAL},
    {"rmdir", kMissing, "/", ENOENT},
    {"rmdir", kMissing, "//", ENOENT},
    {"rmdir", kMissing, "/.", ENOENT},
    // unlink
    {"unlink", kSymlinkToDir, "/", ENOTDIR},
    {"unlink", kSymlinkToDir, "//", ENOTDIR},
    {"unlink", kSymlinkToDir, "/.", EISDIR},
    {"unlink", kSymlinkToFile, "/", ENOTDIR},
    {"unlink", kSymlinkToFile, "//", ENOTDIR},
    {"unlink", kSymlinkToFile, "/.", ENOTDIR},
    {"unlink", kDanglingSymlink, "/", ENOTDIR},
    {"unlink", kDanglingSymlink, "//", ENOTDIR},
    {"unlink", kDanglingSymlink, "/.", ENOENT},
    {"unlink", kFile, "/", ENOTDIR},
    {"unlink", kFile, "//", ENOTDIR},
    {"unlink", kFile, "/.", ENOTDIR},
    {"unlink", kDir, "/", EISDIR},
    {"unlink", kDir, "//", EISDIR},
    {"unlink", kDir, "/.", EISDIR},
    {"unlink", kMissing, "/", ENOENT},
    {"unlink", kMissing, "//", ENOENT},
    {"unlink", kMissing, "/.", ENOENT},
    // rename_from
    {"rename_from", kSymlinkToDir, "/", ENOTDIR},
    {"rename_from", kSymlinkToDir, "//", ENOTDIR},
    {"rename_from", kSymlinkToDir, "/.", EBUSY},
    {"rename_from", kSymlinkToFile, "/", ENOTDIR},
    {"rename_from", kSymlinkToFile, "//", ENOTDIR},
    {"rename_from", kSymlinkToFile, "/.", ENOTDIR},
    {"rename_from", kDanglingSymlink, "/", ENOTDIR},
    {"rename_from", kDanglingSymlink, "//", ENOTDIR},
    {"rename_from", kDanglingSymlink, "/.", ENOENT},
    {"rename_from", kFile, "/", ENOTDIR},
    {"rename_from", kFile, "//", ENOTDIR},
    {"rename_from", kFile, "/.", ENOTDIR},
    {"rename_from", kDir, "/", 0},
    {"rename_from", kDir, "//", 0},
    {"rename_from", kDir, "/.", EBUSY},
    {"rename_from", kMissing, "/", ENOENT},
    {"rename_from", kMissing, "//", ENOENT},
    {"rename_from", kMissing, "/.", ENOENT},
    // rename_dir_to
    {"rename_dir_to", kSymlinkToDir, "/", ENOTDIR},
    {"rename_dir_to", kSymlinkToDir, "//", ENOTDIR},
    {"rename_dir_to", kSymlinkToDir, "/.", EBUSY},
    {"rename_dir_to", kSymlinkToFile, "/", ENOTDIR},
    {"rename_dir_to", kSymlinkToFile, "//", ENOTDIR},
    {"rename_dir_to", kSymlinkToFile, "/.", ENOTDIR},
    {"rename_dir_to", kDanglingSymlink, "/", ENOTDIR},
    {"rename_dir_to", kDanglingSymlink, "//", ENOTDIR},
    {"rename_dir_to", kDanglingSymlink, "/.", ENOENT},
    {"rename_dir_to", kFile, "/", ENOTDIR},
    {"rename_dir_to", kFile, "//", ENOTDIR},
    {"rename_dir_to", kFile, "/.", ENOTDIR},
    {"rename_dir_to", kDir, "/", 0},
    {"rename_dir_to", kDir, "//", 0},
    {"rename_dir_to", kDir, "/.", EBUSY},
    {"rename_dir_to", kMissing, "/", 0},
    {"rename_dir_to", kMissing, "//", 0},
    {"rename_dir_to", kMissing, "/.", ENOENT},
    // rename_file_to
    {"rename_file_to", kSymlinkToDir, "/", ENOTDIR},
    {"rename_file_to", kSymlinkToDir, "//", ENOTDIR},
    {"rename_file_to", kSymlinkToDir, "/.", EBUSY},
    {"rename_file_to", kSymlinkToFile, "/", ENOTDIR},
    {"rename_file_to", kSymlinkToFile, "//", ENOTDIR},
    {"rename_file_to", kSymlinkToFile, "/.", ENOTDIR},
    {"rename_file_to", kDanglingSymlink, "/", ENOTDIR},
    {"rename_file_to", kDanglingSymlink, "//", ENOTDIR},
    {"rename_file_to", kDanglingSymlink, "/.", ENOENT},
    {"rename_file_to", kFile, "/", ENOTDIR},
    {"rename_file_to", kFile, "//", ENOTDIR},
    {"rename_file_to", kFile, "/.", ENOTDIR},
    {"rename_file_to", kDir, "/", ENOTDIR},
    {"rename_file_to", kDir, "//", ENOTDIR},
    {"rename_file_to", kDir, "/.", EBUSY},
    {"rename_file_to", kMissing, "/", ENOTDIR},
    {"rename_file_to", kMissing, "//", ENOTDIR},
    {"rename_file_to", kMissing, "/.", ENOENT},
    // rename_noreplace_dir_to
    {"rename_noreplace_dir_to", kSymlinkToDir, "/", EEXIST},
    {"rename_noreplace_dir_to", kSymlinkToDir, "//", EEXIST},
    {"rename_noreplace_dir_to", kSymlinkToDir, "/.", EEXIST},
    {"rename_noreplace_dir_to", kSymlinkToFile, "/", EEXIST},
    {"rename_noreplace_dir_to", kSymlinkToFile, "//", EEXIST},
    {"rename_noreplace_dir_to", kSymlinkToFile, "/.", ENOTDIR},
    {"rename_noreplace_dir_to", kDanglingSymlink, "/", EEXIST},
    {"rename_noreplace_dir_to", kDanglingSymlink, "//", EEXIST},
    {"rename_noreplace_dir_to", kDanglingSymlink, "/.", ENOENT},
    {"rename_noreplace_dir_to", kFile, "/", EEXIST},
    {"rename_noreplace_dir_to", kFile, "//", EEXIST},
    {"rename_noreplace_dir_to", kFile, "/.", ENOTDIR},
    {"rename_noreplace_dir_to", kDir, "/", EEXIST},
    {"rename_noreplace_dir_to", kDir, "//", EEXIST},
    {"rename_noreplace_dir_to", kDir, "/.", EEXIST},
    {"rename_noreplace_dir_to", kMissing, "/", 0},
    {"rename_noreplace_dir_to", kMissing, "//", 0},
    {"rename_noreplace_dir_to", kMissing, "/.", ENOENT},
    // rename_noreplace_from
    {"rename_noreplace_from", kSymlinkToDir, "/", ENOTDIR},
    {"rename_noreplace_from", kSymlinkToDir, "//", ENOTDIR},
    {"rename_noreplace_from", kSymlinkToDir, "/.", EBUSY},
    {"rename_noreplace_from", kSymlinkToFile, "/", ENOTDIR},
    {"rename_noreplace_from", kSymlinkToFile, "//", ENOTDIR},
    {"rename_noreplace_from", kSymlinkToFile, "/.", ENOTDIR},
    {"rename_noreplace_from", kDanglingSymlink, "/", ENOTDIR},
    {"rename_noreplace_from", kDanglingSymlink, "//", ENOTDIR},
    {"rename_noreplace_from", kDanglingSymlink, "/.", ENOENT},
    {"rename_noreplace_from", kFile, "/", ENOTDIR},
    {"rename_noreplace_from", kFile, "//", ENOTDIR},
    {"rename_noreplace_from", kFile, "/.", ENOTDIR},
    {"rename_noreplace_from", kDir, "/", 0},
    {"rename_noreplace_from", kDir, "//", 0},
    {"rename_noreplace_from", kDir, "/.", EBUSY},
    {"rename_noreplace_from", kMissing, "/", ENOENT},
    {"rename_noreplace_from", kMissing, "//", ENOENT},
    {"rename_noreplace_from", kMissing, "/.", ENOENT},
    // rename_exchange_from_file
    {"rename_exchange_from_file", kSymlinkToDir, "/", ENOTDIR},
    {"rename_exchange_from_file", kSymlinkToDir, "//", ENOTDIR},
    {"rename_exchange_from_file", kSymlinkToDir, "/.", EBUSY},
    {"rename_exchange_from_file", kSymlinkToFile, "/", ENOTDIR},
    {"rename_exchange_from_file", kSymlinkToFile, "//", ENOTDIR},
    {"rename_exchange_from_file", kSymlinkToFile, "/.", ENOTDIR},
    {"rename_exchange_from_file", kDanglingSymlink, "/", ENOTDIR},
    {"rename_exchange_from_file", kDanglingSymlink, "//", ENOTDIR},
    {"rename_exchange_from_file", kDanglingSymlink, "/.", ENOENT},
    {"rename_exchange_from_file", kFile, "/", ENOTDIR},
    {"rename_exchange_from_file", kFile, "//", ENOTDIR},
    {"rename_exchange_from_file", kFile, "/.", ENOTDIR},
    {"rename_exchange_from_file", kDir, "/", 0},
    {"rename_exchange_from_file", kDir, "//", 0},
    {"rename_exchange_from_file", kDir, "/.", EBUSY},
    {"rename_exchange_from_file", kMissing, "/", ENOENT},
    {"rename_exchange_from_file", kMissing, "//", ENOENT},
    {"rename_exchange_from_file", kMissing, "/.", ENOENT},
    // rename_exchange_from_dir
    {"rename_exchange_from_dir", kSymlinkToDir, "/", ENOTDIR},
    {"rename_exchange_from_dir", kSymlinkToDir, "//", ENOTDIR},
    {"rename_exchange_from_dir", kSymlinkToDir, "/.", EBUSY},
    {"rename_exchange_from_dir", kSymlinkToFile, "/", ENOTDIR},
    {"rename_exchange_from_dir", kSymlinkToFile, "//", ENOTDIR},
    {"rename_exchange_from_dir", kSymlinkToFile, "/.", ENOTDIR},
    {"rename_exchange_from_dir", kDanglingSymlink, "/", ENOTDIR},
    {"rename_exchange_from_dir", kDanglingSymlink, "//", ENOTDIR},
    {"rename_exchange_from_dir", kDanglingSymlink, "/.", ENOENT},
    {"rename_exchange_from_dir", kFile, "/", ENOTDIR},
    {"rename_exchange_from_dir", kFile, "//", ENOTDIR},
    {"rename_exchange_from_dir", kFile, "/.", ENOTDIR},
    {"rename_exchange_from_dir", kDir, "/", 0},
    {"rename_exchange_from_dir", kDir, "//", 0},
    {"rename_exchange_from_dir", kDir, "/.", EBUSY},
    {"rename_exchange_from_dir", kMissing, "/", ENOENT},
    {"rename_exchange_from_dir", kMissing, "//", ENOENT},
    {"rename_exchange_from_dir", kMissing, "/.", ENOENT},
    // rename_exchange_file_to
    {"rename_exchange_file_to", kSymlinkToDir, "/", ENOTDIR},
    {"rename_exchange_file_to", kSymlinkToDir, "//", ENOTDIR},
    {"rename_exchange_file_to", kSymlinkToDir, "/.", EBUSY},
    {"rename_exchange_file_to", kSymlinkToFile, "/", ENOTDIR},
    {"rename_exchange_file_to", kSymlinkToFile, "//", ENOTDIR},
    {"rename_exchange_file_to", kSymlinkToFile, "/.", ENOTDIR},
    {"rename_exchange_file_to", kDanglingSymlink, "/", ENOTDIR},
    {"rename_exchange_file_to", kDanglingSymlink, "//", ENOTDIR},
    {"rename_exchange_file_to", kDanglingSymlink, "/.", ENOENT},
    {"rename_exchange_file_to", kFile, "/", ENOTDIR},
    {"rename_exchange_file_to", kFile, "//", ENOTDIR},
    {"rename_exchange_file_to", kFile, "/.", ENOTDIR},
    {"rename_exchange_file_to", kDir, "/", 0},
    {"rename_exchange_file_to", kDir, "//", 0},
    {"rename_exchange_file_to", kDir, "/.", EBUSY},
    {"rename_exchange_file_to", kMissing, "/", ENOENT},
    {"rename_exchange_file_to", kMissing, "//", ENOENT},
    {"rename_exchange_file_to", kMissing, "/.", ENOENT},
    // rename_exchange_dir_to
    {"rename_exchange_dir_to", kSymlinkToDir, "/", ENOTDIR},
    {"rename_exchange_dir_to", kSymlinkToDir, "//", ENOTDIR},
    {"rename_exchange_dir_to", kSymlinkToDir, "/.", EBUSY},
    {"rename_exchange_dir_to", kSymlinkToFile, "/", ENOTDIR},
    {"rename_exchange_dir_to", kSymlinkToFile, "//", ENOTDIR},
    {"rename_exchange_dir_to", kSymlinkToFile, "/.", ENOTDIR},
    {"rename_exchange_dir_to", kDanglingSymlink, "/", ENOTDIR},
    {"rename_exchange_dir_to", kDanglingSymlink, "//", ENOTDIR},
    {"rename_exchange_dir_to", kDanglingSymlink, "/.", ENOENT},
    {"rename_exchange_dir_to", kFile, "/", ENOTDIR},
    {"rename_exchange_dir_to", kFile, "//", ENOTDIR},
    {"rename_exchange_dir_to", kFile, "/.", ENOTDIR},
    {"rename_exchange_dir_to", kDir, "/", 0},
    {"rename_exchange_dir_to", kDir, "//", 0},
    {"rename_exchange_dir_to", kDir, "/.", EBUSY},
    {"rename_exchange_dir_to", kMissing, "/", ENOENT},
    {"rename_exchange_dir_to", kMissing, "//", ENOENT},
    {"rename_exchange_dir_to", kMissing, "/.", ENOENT},
    // link_from
    {"link_from", kSymlinkToDir, "/", EPERM},
    {"link_from", kSymlinkToDir, "//", EPERM},
    {"link_from", kSymlinkToDir, "/.", EPERM},
    {"link_from", kSymlinkToFile, "/", ENOTDIR},
    {"link_from", kSymlinkToFile, "//", ENOTDIR},
    {"link_from", kSymlinkToFile, "/.", ENOTDIR},
    {"link_from", kDanglingSymlink, "/", ENOENT},
    {"link_from", kDanglingSymlink, "//", ENOENT},
    {"link_from", kDanglingSymlink, "/.", ENOENT},
    {"link_from", kFile, "/", ENOTDIR},
    {"link_from", kFile, "//", ENOTDIR},
    {"link_from", kFile, "/.", ENOTDIR},
    {"link_from", kDir, "/", EPERM},
    {"link_from", kDir, "//", EPERM},
    {"link_from", kDir, "/.", EPERM},
    {"link_from", kMissing, "/", ENOENT},
    {"link_from", kMissing, "//", ENOENT},
    {"link_from", kMissing, "/.", ENOENT},
    // link_to
    {"link_to", kSymlinkToDir, "/", EEXIST},
    {"link_to", kSymlinkToDir, "//", EEXIST},
    {"link_to", kSymlinkToDir, "/.", EEXIST},
    {"link_to", kSymlinkToFile, "/", EEXIST},
    {"link_to", kSymlinkToFile, "//", EEXIST},
    {"link_to", kSymlinkToFile, "/.", ENOTDIR},
    {"link_to", kDanglingSymlink, "/", EEXIST},
    {"link_to", kDanglingSymlink, "//", EEXIST},
    {"link_to", kDanglingSymlink, "/.", ENOENT},
    {"link_to", kFile, "/", EEXIST},
    {"link_to", kFile, "//", EEXIST},
    {"link_to", kFile, "/.", ENOTDIR},
    {"link_to", kDir, "/", EEXIST},
    {"link_to", kDir, "//", EEXIST},
    {"link_to", kDir, "/.", EEXIST},
    {"link_to", kMissing, "/", ENOENT},
    {"link_to", kMissing, "//", ENOENT},
    {"link_to", kMissing, "/.", ENOENT},
    // symlink
    {"symlink", kSymlinkToDir, "/", EEXIST},
    {"symlink", kSymlinkToDir, "//", EEXIST},
    {"symlink", kSymlinkToDir, "/.", EEXIST},
    {"symlink", kSymlinkToFile, "/", EEXIST},
    {"symlink", kSymlinkToFile, "//", EEXIST},
    {"symlink", kSymlinkToFile, "/.", ENOTDIR},
    {"symlink", kDanglingSymlink, "/", EEXIST},
    {"symlink", kDanglingSymlink, "//", EEXIST},
    {"symlink", kDanglingSymlink, "/.", ENOENT},
    {"symlink", kFile, "/", EEXIST},
    {"symlink", kFile, "//", EEXIST},
    {"symlink", kFile, "/.", ENOTDIR},
    {"symlink", kDir, "/", EEXIST},
    {"symlink", kDir, "//", EEXIST},
    {"symlink", kDir, "/.", EEXIST},
    {"symlink", kMissing, "/", ENOENT},
    {"symlink", kMissing, "//", ENOENT},
    {"symlink", kMissing, "/.", ENOENT},
    // readlink
    {"readlink", kSymlinkToDir, "/", EINVAL},
    {"readlink", kSymlinkToDir, "//", EINVAL},
    {"readlink", kSymlinkToDir, "/.", EINVAL},
    {"readlink", kSymlinkToFile, "/", ENOTDIR},
    {"readlink", kSymlinkToFile, "//", ENOTDIR},
    {"readlink", kSymlinkToFile, "/.", ENOTDIR},
    {"readlink", kDanglingSymlink, "/", ENOENT},
    {"readlink", kDanglingSymlink, "//", ENOENT},
    {"readlink", kDanglingSymlink, "/.", ENOENT},
    {"readlink", kFile, "/", ENOTDIR},
    {"readlink", kFile, "//", ENOTDIR},
    {"readlink", kFile, "/.", ENOTDIR},
    {"readlink", kDir, "/", EINVAL},
    {"readlink", kDir, "//", EINVAL},
    {"readlink", kDir, "/.", EINVAL},
    {"readlink", kMissing, "/", ENOENT},
    {"readlink", kMissing, "//", ENOENT},
    {"readlink", kMissing, "/.", ENOENT},
    // mkfifo
    {"mkfifo", kSymlinkToDir, "/", EEXIST},
    {"mkfifo", kSymlinkToDir, "//", EEXIST},
    {"mkfifo", kSymlinkToDir, "/.", EEXIST},
    {"mkfifo", kSymlinkToFile, "/", EEXIST},
    {"mkfifo", kSymlinkToFile, "//", EEXIST},
    {"mkfifo", kSymlinkToFile, "/.", ENOTDIR},
    {"mkfifo", kDanglingSymlink, "/", EEXIST},
    {"mkfifo", kDanglingSymlink, "//", EEXIST},
    {"mkfifo", kDanglingSymlink, "/.", ENOENT},
    {"mkfifo", kFile, "/", EEXIST},
    {"mkfifo", kFile, "//", EEXIST},
    {"mkfifo", kFile, "/.", ENOTDIR},
    {"mkfifo", kDir, "/", EEXIST},
    {"mkfifo", kDir, "//", EEXIST},
    {"mkfifo", kDir, "/.", EEXIST},
    {"mkfifo", kMissing, "/", ENOENT},
    {"mkfifo", kMissing, "//", ENOENT},
    {"mkfifo", kMissing, "/.", ENOENT},
    // chdir
    {"chdir", kSymlinkToDir, "/", 0},
    {"chdir", kSymlinkToDir, "//", 0},
    {"chdir", kSymlinkToDir, "/.", 0},
    {"chdir", kSymlinkToFile, "/", ENOTDIR},
    {"chdir", kSymlinkToFile, "//", ENOTDIR},
    {"chdir", kSymlinkToFile, "/.", ENOTDIR},
    {"chdir", kDanglingSymlink, "/", ENOENT},
    {"chdir", kDanglingSymlink, "//", ENOENT},
    {"chdir", kDanglingSymlink, "/.", ENOENT},
    {"chdir", kFile, "/", ENOTDIR},
    {"chdir", kFile, "//", ENOTDIR},
    {"chdir", kFile, "/.", ENOTDIR},
    {"chdir", kDir, "/", 0},
    {"chdir", kDir, "//", 0},
    {"chdir", kDir, "/.", 0},
    {"chdir", kMissing, "/", ENOENT},
    {"chdir", kMissing, "//", ENOENT},
    {"chdir", kMissing, "/.", ENOENT},
    // chmod
    {"chmod", kSymlinkToDir, "/", 0},
    {"chmod", kSymlinkToDir, "//", 0},
    {"chmod", kSymlinkToDir, "/.", 0},
    {"chmod", kSymlinkToFile, "/", ENOTDIR},
    {"chmod", kSymlinkToFile, "//", ENOTDIR},
    {"chmod", kSymlinkToFile, "/.", ENOTDIR},
    {"chmod", kDanglingSymlink, "/", ENOENT},
    {"chmod", kDanglingSymlink, "//", ENOENT},
    {"chmod", kDanglingSymlink, "/.", ENOENT},
    {"chmod", kFile, "/", ENOTDIR},
    {"chmod", kFile, "//", ENOTDIR},
    {"chmod", kFile, "/.", ENOTDIR},
    {"chmod", kDir, "/", 0},
    {"chmod", kDir, "//", 0},
    {"chmod", kDir, "/.", 0},
    {"chmod", kMissing, "/", ENOENT},
    {"chmod", kMissing, "//", ENOENT},
    {"chmod", kMissing, "/.", ENOENT},
    // utimens
    {"utimens", kSymlinkToDir, "/", 0},
    {"utimens", kSymlinkToDir, "//", 0},
    {"utimens", kSymlinkToDir, "/.", 0},
    {"utimens", kSymlinkToFile, "/", ENOTDIR},
    {"utimens", kSymlinkToFile, "//", ENOTDIR},
    {"utimens", kSymlinkToFile, "/.", ENOTDIR},
    {"utimens", kDanglingSymlink, "/", ENOENT},
    {"utimens", kDanglingSymlink, "//", ENOENT},
    {"utimens", kDanglingSymlink, "/.", ENOENT},
    {"utimens", kFile, "/", ENOTDIR},
    {"utimens", kFile, "//", ENOTDIR},
    {"utimens", kFile, "/.", ENOTDIR},
    {"utimens", kDir, "/", 0},
    {"utimens", kDir, "//", 0},
    {"utimens", kDir, "/.", 0},
    {"utimens", kMissing, "/", ENOENT},
    {"utimens", kMissing, "//", ENOENT},
    {"utimens", kMissing, "/.", ENOENT},
    // utimens_nofollow
    {"utimens_nofollow", kSymlinkToDir, "/", 0},
    {"utimens_nofollow", kSymlinkToDir, "//", 0},
    {"utimens_nofollow", kSymlinkToDir, "/.", 0},
    {"utimens_nofollow", kSymlinkToFile, "/", ENOTDIR},
    {"utimens_nofollow", kSymlinkToFile, "//", ENOTDIR},
    {"utimens_nofollow", kSymlinkToFile, "/.", ENOTDIR},
    {"utimens_nofollow", kDanglingSymlink, "/", ENOENT},
    {"utimens_nofollow", kDanglingSymlink, "//", ENOENT},
    {"utimens_nofollow", kDanglingSymlink, "/.", ENOENT},
    {"utimens_nofollow", kFile, "/", ENOTDIR},
    {"utimens_nofollow", kFile, "//", ENOTDIR},
    {"utimens_nofollow", kFile, "/.", ENOTDIR},
    {"utimens_nofollow", kDir, "/", 0},
    {"utimens_nofollow", kDir, "//", 0},
    {"utimens_nofollow", kDir, "/.", 0},
    {"utimens_nofollow", kMissing, "/", ENOENT},
    {"utimens_nofollow", kMissing, "//", ENOENT},
    {"utimens_nofollow", kMissing, "/.", ENOENT},
};

class TrailingSlashTest : public VfsTest, public ::testing::WithParamInterface<Case> {
 protected:
  // /t holds d/ and d2/ (directories), f ("x") and f2 (files), ld -> d,
  // lf -> f and ln -> missing; the current directory is /t.
  void SetUp() override {
    VfsTest::SetUp();
    ASSERT_OK(fs_->Mkdir("/t", 0755));
    ASSERT_OK(fs_->Chdir("/t"));
    ASSERT_OK(fs_->Mkdir("d", 0755));
    ASSERT_OK(fs_->Mkdir("d2", 0755));
    Fd f = OpenOrDie("f", O_WRONLY | O_CREAT, 0644);
    WriteAt(f, 0, "x");
    ASSERT_OK(fs_->Close(f));
    ASSERT_OK(fs_->Close(OpenOrDie("f2", O_WRONLY | O_CREAT, 0644)));
    ASSERT_OK(fs_->Symlink("d", "ld"));
    ASSERT_OK(fs_->Symlink("f", "lf"));
    ASSERT_OK(fs_->Symlink("missing", "ln"));
  }

  // Runs `call` on `path`; 0 on success, else the errno.
  int Run(const std::string& call, const std::string& path) {
    auto code = [](const auto& result) { return result.ok() ? 0 : result.error(); };
    auto open = [&](int flags) {
      auto fd = fs_->Open(path, flags, 0644);
      if (fd.ok()) EXPECT_OK(fs_->Close(*fd));
      return code(fd);
    };
    const std::array<Timespec, 2> times = {Timespec{1, 0}, Timespec{2, 0}};
    if (call == "stat") return code(fs_->Stat(path));
    if (call == "lstat") return code(fs_->Lstat(path));
    if (call == "open_rdonly") return open(O_RDONLY);
    if (call == "open_rdwr") return open(O_RDWR);
    if (call == "open_directory") return open(O_RDONLY | O_DIRECTORY);
    if (call == "open_nofollow") return open(O_RDONLY | O_NOFOLLOW);
    if (call == "open_path") return open(O_PATH);
    if (call == "open_path_nofollow") return open(O_PATH | O_NOFOLLOW);
    if (call == "open_creat") return open(O_WRONLY | O_CREAT);
    if (call == "open_creat_excl") return open(O_WRONLY | O_CREAT | O_EXCL);
    if (call == "open_trunc") return open(O_WRONLY | O_TRUNC);
    if (call == "truncate") return code(fs_->Truncate(path, 0));
    if (call == "mkdir") return code(fs_->Mkdir(path, 0755));
    if (call == "rmdir") return code(fs_->Rmdir(path));
    if (call == "unlink") return code(fs_->Unlink(path));
    if (call == "rename_from") return code(fs_->Rename(path, "new"));
    if (call == "rename_dir_to") return code(fs_->Rename("d2", path));
    if (call == "rename_file_to") return code(fs_->Rename("f2", path));
    if (call == "rename_noreplace_dir_to") return code(fs_->Rename("d2", path, kRenameNoReplace));
    if (call == "rename_noreplace_from") return code(fs_->Rename(path, "new", kRenameNoReplace));
    if (call == "rename_exchange_from_file") return code(fs_->Rename(path, "f2", kRenameExchange));
    if (call == "rename_exchange_from_dir") return code(fs_->Rename(path, "d2", kRenameExchange));
    if (call == "rename_exchange_file_to") return code(fs_->Rename("f2", path, kRenameExchange));
    if (call == "rename_exchange_dir_to") return code(fs_->Rename("d2", path, kRenameExchange));
    if (call == "link_from") return code(fs_->Link(path, "new"));
    if (call == "link_to") return code(fs_->Link("f2", path));
    if (call == "symlink") return code(fs_->Symlink("target", path));
    if (call == "readlink") return code(fs_->Readlink(path));
    if (call == "mkfifo") return code(fs_->Mkfifo(path, 0644));
    if (call == "chdir") return code(fs_->Chdir(path));
    if (call == "chmod") return code(fs_->Chmod(path, 0700));
    if (call == "utimens") return code(fs_->Utimens(path, times, /*follow=*/true));
    if (call == "utimens_nofollow") return code(fs_->Utimens(path, times, /*follow=*/false));
    ADD_FAILURE() << "unknown call " << call;
    return -1;
  }

  // Every name under /t with its inode, mode, size and link count, and the
  // mtimes of the files: what a failed call must leave as it was.
  std::map<std::string, std::tuple<uint64_t, uint32_t, uint64_t, uint64_t, int64_t>> Tree() {
    std::map<std::string, std::tuple<uint64_t, uint32_t, uint64_t, uint64_t, int64_t>> out;
    std::vector<std::string> dirs = {"/t"};
    while (!dirs.empty()) {
      const std::string dir = dirs.back();
      dirs.pop_back();
      auto fd = fs_->Open(dir, O_RDONLY | O_DIRECTORY);
      EXPECT_TRUE(fd.ok()) << dir;
      if (!fd.ok()) continue;
      auto entries = fs_->ReadDir(*fd);
      EXPECT_OK(fs_->Close(*fd));
      if (!entries.ok()) continue;
      for (const DirEntry& entry : *entries) {
        if (entry.name == "." || entry.name == "..") continue;
        const std::string path = dir + "/" + entry.name;
        auto st = fs_->Lstat(path);
        EXPECT_TRUE(st.ok()) << path;
        if (!st.ok()) continue;
        out[path] = {st->ino.value(), st->mode, st->size, st->nlink, st->mtime.sec};
        if (S_ISDIR(st->mode)) dirs.push_back(path);
      }
    }
    return out;
  }
};

TEST_P(TrailingSlashTest, AnswersAsLinux) {
  const Case& c = GetParam();
  const std::string path = std::string(KindPath(c.kind)) + c.slash;
  const auto before = Tree();
  const int got = Run(c.call, path);
  EXPECT_EQ(got, c.expected) << c << "; got " << (got == 0 ? "success" : strerror(got));
  // A failed call changes nothing.
  if (c.expected != 0 && got != 0) {
    EXPECT_EQ(Tree(), before) << c;
  }
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string call;
  bool upper = true;
  for (const char* at = info.param.call; *at != '\0'; ++at) {
    if (*at == '_') {
      upper = true;
      continue;
    }
    call += upper ? static_cast<char>(std::toupper(*at)) : *at;
    upper = false;
  }
  const std::string slash = std::string(info.param.slash) == "/"    ? "Slash"
                            : std::string(info.param.slash) == "//" ? "TwoSlashes"
                                                                    : "SlashDot";
  return call + "Of" + KindName(info.param.kind) + slash + ErrnoName(info.param.expected) +
         "AsLinux";
}

INSTANTIATE_TEST_SUITE_P(Calls, TrailingSlashTest, ::testing::ValuesIn(kCases), CaseName);

// ---- A slash at the end of a symlink's target ----

// /t holds d/ and f, and symlinks whose targets end in a slash.
class TargetSlashTest : public VfsTest {
 protected:
  void SetUp() override {
    VfsTest::SetUp();
    ASSERT_OK(fs_->Mkdir("/t", 0755));
    ASSERT_OK(fs_->Chdir("/t"));
    ASSERT_OK(fs_->Mkdir("d", 0755));
    ASSERT_OK(fs_->Close(OpenOrDie("f", O_WRONLY | O_CREAT, 0644)));
    ASSERT_OK(fs_->Symlink("f/", "to_file"));
    ASSERT_OK(fs_->Symlink("m/", "to_missing"));
    ASSERT_OK(fs_->Symlink("d/", "to_dir"));
    ASSERT_OK(fs_->Symlink("m", "plain_missing"));
  }
};

// As Linux: following a link whose target is "f/" needs a directory.
TEST_F(TargetSlashTest, StatThroughTargetWithSlashOnFileIsEnotdir) {
  EXPECT_ERRNO(fs_->Stat("to_file"), ENOTDIR);
  EXPECT_ERRNO(fs_->Open("to_file", O_RDONLY), ENOTDIR);
  EXPECT_ERRNO(fs_->Truncate("to_file", 0), ENOTDIR);
  EXPECT_ERRNO(fs_->Stat("to_missing"), ENOENT);
  EXPECT_OK(fs_->Stat("to_dir"));
  EXPECT_OK(fs_->Lstat("to_file"));  // the link itself is not followed
}

// As Linux's open_last_lookups: O_CREAT through a link to "m/" is EISDIR
// and creates nothing; through a link to "m" it creates m.
TEST_F(TargetSlashTest, CreateThroughTargetWithSlashIsEisdirAndCreatesNothing) {
  EXPECT_ERRNO(fs_->Open("to_missing", O_WRONLY | O_CREAT, 0644), EISDIR);
  EXPECT_ERRNO(fs_->Lstat("m"), ENOENT);
  EXPECT_ERRNO(fs_->Open("to_file", O_WRONLY | O_CREAT, 0644), EISDIR);
  EXPECT_ERRNO(fs_->Open("to_dir", O_WRONLY | O_CREAT, 0644), EISDIR);
  ASSERT_OK(fs_->Close(OpenOrDie("plain_missing", O_WRONLY | O_CREAT, 0644)));
  EXPECT_OK(fs_->Lstat("m"));
}

// As Linux: link's source is not followed without a slash in the path.
TEST_F(TargetSlashTest, LinkOfSymlinkWithSlashInTargetLinksTheSymlink) {
  ASSERT_OK(fs_->Link("to_file", "n"));
  ASSERT_OK_AND_ASSIGN(target, fs_->Readlink("n"));
  EXPECT_EQ(target, "f/");
}

// ---- Order of checks on names, as Linux ----

using NameCheckOrderTest = VfsTest;

// do_linkat checks the new name (filename_create) before vfs_link refuses a
// directory.
TEST_F(NameCheckOrderTest, LinkOfDirectoryOntoExistingNameIsEexist) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Close(OpenOrDie("/f", O_WRONLY | O_CREAT, 0644)));
  EXPECT_ERRNO(fs_->Link("/d", "/f"), EEXIST);
  EXPECT_ERRNO(fs_->Link("/d", "/m/"), ENOENT);
  EXPECT_ERRNO(fs_->Link("/d", "/new"), EPERM);
}

// do_renameat2: a trailing slash needs a directory before the same-file
// shortcut, and EBUSY for "." comes before a missing source.
TEST_F(NameCheckOrderTest, RenameChecksSlashesAndDotsFirst) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  ASSERT_OK(fs_->Close(OpenOrDie("/f", O_WRONLY | O_CREAT, 0644)));
  EXPECT_ERRNO(fs_->Rename("/f", "/f/"), ENOTDIR);
  EXPECT_ERRNO(fs_->Rename("/m", "/d/."), EBUSY);
  EXPECT_OK(fs_->Rename("/d", "/d/"));
  EXPECT_OK(fs_->Stat("/d"));
}

// open_last_lookups: O_CREAT on "/", "." or ".." is a lookup: EEXIST with
// O_EXCL, else EISDIR.
TEST_F(NameCheckOrderTest, CreateOnRootOrDotIsEexistWithExclElseEisdir) {
  ASSERT_OK(fs_->Mkdir("/d", 0755));
  EXPECT_ERRNO(fs_->Open("/", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
  EXPECT_ERRNO(fs_->Open("/", O_WRONLY | O_CREAT, 0644), EISDIR);
  EXPECT_ERRNO(fs_->Open("/d/./", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
  EXPECT_ERRNO(fs_->Open("/d/./", O_WRONLY | O_CREAT, 0644), EISDIR);
  EXPECT_ERRNO(fs_->Open("/d/..", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
  EXPECT_ERRNO(fs_->Mkfifo("/d/./", 0644), EEXIST);
  EXPECT_ERRNO(fs_->Unlink("/d/./"), EISDIR);
  EXPECT_ERRNO(fs_->Rmdir("/d/./"), EINVAL);
  EXPECT_ERRNO(fs_->Rmdir("/d/../"), ENOTEMPTY);
}

// ---- "." and ".." in a removed directory ----

class RemovedDirectoryTest : public VfsTest {
 protected:
  void SetUp() override {
    VfsTest::SetUp();
    ASSERT_OK(fs_->Mkdir("/p", 0755));
    ASSERT_OK(fs_->Close(OpenOrDie("/p/file", O_WRONLY | O_CREAT, 0644)));
    ASSERT_OK(fs_->Mkdir("/p/rd", 0755));
  }
};

// As Linux: "." still names the removed current directory (nlink 0), ".."
// the directory it was removed from; any other name is gone (ENOENT) and
// nothing can be made in it.
TEST_F(RemovedDirectoryTest, DotInRemovedCurrentDirectoryStillResolves) {
  ASSERT_OK(fs_->Chdir("/p/rd"));
  ASSERT_OK(fs_->Rmdir("/p/rd"));
  ASSERT_OK_AND_ASSIGN(dot, fs_->Stat("."));
  EXPECT_TRUE(S_ISDIR(dot.mode));
  EXPECT_EQ(dot.nlink, 0u);
  EXPECT_OK(fs_->Stat("./"));
  EXPECT_OK(fs_->Lstat("."));
  ASSERT_OK_AND_ASSIGN(dotdot, fs_->Stat(".."));
  ASSERT_OK_AND_ASSIGN(parent, fs_->Stat("/p"));
  EXPECT_EQ(dotdot.ino, parent.ino);
  EXPECT_OK(fs_->Stat("../file"));
  Fd fd = OpenOrDie(".", O_RDONLY | O_DIRECTORY);
  EXPECT_ERRNO(fs_->ReadDir(fd), ENOENT);  // as Linux's iterate_dir
  ASSERT_OK(fs_->Close(fd));
  EXPECT_ERRNO(fs_->Stat("x"), ENOENT);
  EXPECT_ERRNO(fs_->Stat("./x"), ENOENT);
  EXPECT_ERRNO(fs_->Open("x", O_WRONLY | O_CREAT, 0644), ENOENT);
  EXPECT_ERRNO(fs_->Mkdir("x", 0755), ENOENT);
  EXPECT_ERRNO(fs_->Mkfifo("x", 0644), ENOENT);
  EXPECT_ERRNO(fs_->Symlink("t", "x"), ENOENT);
  EXPECT_ERRNO(fs_->Link("../file", "x"), ENOENT);
  EXPECT_ERRNO(fs_->Rename("../file", "x"), ENOENT);
  EXPECT_ERRNO(fs_->Rmdir("."), EINVAL);
  EXPECT_OK(fs_->Chmod(".", 0700));
  EXPECT_ERRNO(fs_->Getcwd(), ENOENT);
  EXPECT_OK(fs_->Chdir("."));
  ASSERT_OK(fs_->Chdir(".."));
  ASSERT_OK_AND_ASSIGN(cwd, fs_->Getcwd());
  EXPECT_EQ(cwd, "/p");
}

// As Linux: openat through a descriptor of a removed directory opens "."
// and "..", and finds no other name.
TEST_F(RemovedDirectoryTest, OpenAtDotThroughRemovedDirectoryDescriptorOpensIt) {
  Fd dir = OpenOrDie("/p/rd", O_RDONLY | O_DIRECTORY);
  ASSERT_OK_AND_ASSIGN(held, fs_->Fstat(dir));
  ASSERT_OK(fs_->Rmdir("/p/rd"));
  ASSERT_OK_AND_ASSIGN(dot, fs_->OpenAt(dir, ".", O_RDONLY));
  ASSERT_OK_AND_ASSIGN(st, fs_->Fstat(dot));
  EXPECT_EQ(st.ino, held.ino);
  ASSERT_OK(fs_->Close(dot));
  ASSERT_OK_AND_ASSIGN(path, fs_->OpenAt(dir, "./", O_PATH));
  ASSERT_OK(fs_->Close(path));
  ASSERT_OK_AND_ASSIGN(up, fs_->OpenAt(dir, "..", O_RDONLY));
  ASSERT_OK_AND_ASSIGN(up_st, fs_->Fstat(up));
  ASSERT_OK_AND_ASSIGN(parent, fs_->Stat("/p"));
  EXPECT_EQ(up_st.ino, parent.ino);
  ASSERT_OK(fs_->Close(up));
  EXPECT_ERRNO(fs_->OpenAt(dir, "x", O_RDONLY), ENOENT);
  EXPECT_ERRNO(fs_->OpenAt(dir, "x", O_WRONLY | O_CREAT, 0644), ENOENT);
  EXPECT_ERRNO(fs_->ReadDir(dir), ENOENT);
  ASSERT_OK(fs_->Close(dir));
}

// ".." of a removed directory keeps naming its old parent after that parent
// is removed too (Linux holds the parent dentry), and the chain is freed
// with the last descriptor.
TEST_F(RemovedDirectoryTest, DotDotOfRemovedDirectoryOutlivesItsRemovedParent) {
  Fd dir = OpenOrDie("/p/rd", O_RDONLY | O_DIRECTORY);
  ASSERT_OK_AND_ASSIGN(parent, fs_->Stat("/p"));
  ASSERT_OK(fs_->Rmdir("/p/rd"));
  ASSERT_OK(fs_->Unlink("/p/file"));
  ASSERT_OK(fs_->Rmdir("/p"));
  ASSERT_OK_AND_ASSIGN(up, fs_->OpenAt(dir, "..", O_RDONLY));
  ASSERT_OK_AND_ASSIGN(up_st, fs_->Fstat(up));
  EXPECT_EQ(up_st.ino, parent.ino);
  EXPECT_EQ(up_st.nlink, 0u);
  ASSERT_OK_AND_ASSIGN(root, fs_->OpenAt(dir, "../..", O_RDONLY));
  ASSERT_OK_AND_ASSIGN(root_st, fs_->Fstat(root));
  ASSERT_OK_AND_ASSIGN(real_root, fs_->Stat("/"));
  EXPECT_EQ(root_st.ino, real_root.ino);
  EXPECT_ERRNO(fs_->OpenAt(dir, "../file", O_RDONLY), ENOENT);
  ASSERT_OK(fs_->Close(root));
  ASSERT_OK(fs_->Close(up));
  ASSERT_OK(fs_->Close(dir));
}

}  // namespace
}  // namespace vfs::testing
