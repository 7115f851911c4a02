// An out-of-tree C++ program that links one layer's targets only: vfs::memory
// (the memory store), which brings vfs::core (the Filesystem and the Store
// interface), and not the harness or the other stores (docs/architecture.md
// "Layers").
#include <fcntl.h>

#include <cstdio>
#include <string>

#include "backends/memory/memory_store.h"
#include "vfs/filesystem.h"
#include "vfs/version.h"

int main() {
  std::shared_ptr<vfs::Store> store = vfs::NewMemoryStore();
  auto fs = vfs::Filesystem::Mount(store).value();
  vfs::Fd fd = fs->Open("/f", O_WRONLY | O_CREAT, 0644).value();
  if (!fs->Write(fd, "layer", 5).ok() || !fs->Fsync(fd).ok() || !fs->Close(fd).ok()) {
    std::fprintf(stderr, "layer_consumer: write and fsync failed\n");
    return 1;
  }
  auto st = fs->Stat("/f");
  if (!st.ok() || st->size != 5) {
    std::fprintf(stderr, "layer_consumer: /f is not 5 bytes\n");
    return 1;
  }
  std::printf("layer_consumer: vfs %s: ok\n", VFS_VERSION_STRING);
  return 0;
}
