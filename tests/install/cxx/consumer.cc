// An out-of-tree C++ program using the installed library through
// find_package(vfs CONFIG REQUIRED): the memory store with a power cut, the
// disk store in a temporary directory, and SQLite on the VFS when the
// package has vfs::sqlite.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "backends/disk/disk_store.h"
#include "backends/memory/memory_store.h"
#include "vfs/filesystem.h"
#include "vfs/version.h"
#ifdef CONSUMER_HAS_SQLITE
#include <sqlite3.h>

#include "adapters/sqlite/sqlite_vfs.h"
#endif

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "cxx_consumer: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                                     \
    }                                                                               \
  } while (0)

namespace {

std::string ReadAll(vfs::Filesystem& fs, const char* path) {
  auto fd = fs.Open(path, O_RDONLY);
  if (!fd.ok()) return "(open failed)";
  std::string out(64, '\0');
  auto n = fs.Read(*fd, out.data(), out.size());
  (void)fs.Close(*fd);
  out.resize(n.ok() ? *n : 0);
  return out;
}

}  // namespace

int main() {
  // The memory store: what was synced survives the power cut, the rest not.
  std::shared_ptr<vfs::Store> store = vfs::NewMemoryStore();
  {
    auto fs = vfs::Filesystem::Mount(store).value();
    vfs::Fd fd = fs->Open("/journal", O_WRONLY | O_CREAT | O_APPEND, 0644).value();
    CHECK(fs->Write(fd, "commit 1\n", 9).ok());
    CHECK(fs->Fdatasync(fd).ok());
    vfs::Fd root = fs->Open("/", O_RDONLY | O_DIRECTORY).value();
    CHECK(fs->Fsync(root).ok());
    CHECK(fs->Write(fd, "commit 2\n", 9).ok());
    fs->Crash();
  }
  auto after = vfs::Filesystem::Mount(store).value();
  CHECK(ReadAll(*after, "/journal") == "commit 1\n");

  // The disk store, in a temporary directory.
  char dir[] = "/tmp/vfs-consumer.XXXXXX";
  CHECK(::mkdtemp(dir) != nullptr);
  {
    std::string why;
    auto disk = vfs::OpenDiskStore(dir, {}, &why);
    CHECK(disk.ok());
    auto fs = vfs::Filesystem::Mount(*disk).value();
    vfs::Fd fd = fs->Open("/kept", O_WRONLY | O_CREAT, 0644).value();
    CHECK(fs->Write(fd, "on disk", 7).ok());
    CHECK(fs->Close(fd).ok());
  }  // unmount syncs
  {
    std::string why;
    auto disk = vfs::OpenDiskStore(dir, {}, &why);
    CHECK(disk.ok());
    auto fs = vfs::Filesystem::Mount(*disk).value();
    CHECK(ReadAll(*fs, "/kept") == "on disk");
  }
  CHECK(std::system((std::string("rm -rf ") + dir).c_str()) == 0);

#ifdef CONSUMER_HAS_SQLITE
  CHECK(vfs::RegisterSqliteVfs("consumer", after.get(), false) == SQLITE_OK);
  sqlite3* db = nullptr;
  CHECK(sqlite3_open_v2("/db", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "consumer") == SQLITE_OK);
  CHECK(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (42);", nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(sqlite3_close(db) == SQLITE_OK);
  CHECK(after->Stat("/db").ok());
  CHECK(vfs::UnregisterSqliteVfs("consumer") == 0);
#endif
  std::printf("cxx_consumer: vfs %s: ok\n", VFS_VERSION_STRING);
  return 0;
}
