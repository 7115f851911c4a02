// SQLite on the VFS: a sqlite3_vfs whose files live in a vfs::Filesystem.
//
// RegisterSqliteVfs() registers a SQLite VFS under a name; a database opened
// with that name (sqlite3_open_v2(path, &db, flags, name), or by default when
// `make_default` is set) keeps its database, journal and WAL files in the
// Filesystem, so SQLite's writes and syncs go through the durability rules of
// docs/semantics.md and a crash of the Filesystem shows what SQLite's own
// recovery then sees. How each method maps onto the Filesystem (syncs,
// directory syncs, locks, shared memory, the device characteristics it
// claims and why) is written up in docs/sqlite.md.
//
//   auto fs = vfs::Filesystem::Mount(vfs::NewMemoryStore()).value();
//   vfs::RegisterSqliteVfs("memvfs", fs.get(), /*make_default=*/false);
//   sqlite3* db = nullptr;
//   sqlite3_open_v2("/app.db", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "memvfs");
//   ...
//   sqlite3_close(db);
//   vfs::UnregisterSqliteVfs("memvfs");
//
// Several VFSes may be registered at once under different names, on the same
// or on different Filesystems. Locks (the rollback-journal lock levels and
// the WAL shared-memory slots) are shared by every connection of this process
// to the same file of the same Filesystem, whichever registration opened it;
// they are not seen by other processes (the Filesystem lives in this one).
//
// Thread-safety: registration and unregistration are thread-safe. The
// registered VFS may be used from many threads at once, as SQLite uses any
// VFS; the Filesystem must outlive every connection opened through it.
#ifndef ADAPTERS_SQLITE_SQLITE_VFS_H_
#define ADAPTERS_SQLITE_SQLITE_VFS_H_

#include <cstdint>

#include "vfs/filesystem.h"

namespace vfs {

struct SqliteVfsOptions {
  // The seed of the bytes xRandomness hands SQLite. 0: from the host
  // (std::random_device). A fixed seed makes SQLite's journal nonces and WAL
  // salts, and so every byte it writes, the same on every run, which the
  // crash explorer needs to replay a state by name. SQLite draws its
  // randomness only from the default VFS (see docs/sqlite.md).
  uint64_t random_seed = 0;
  // Fsync the directory at the first sync of a rollback journal or WAL that
  // an open created, as SQLite's unix VFS does (docs/sqlite.md). Only a
  // test that shows why it is needed turns it off: without it a crash can
  // drop the journal's name while the database pages it protects are
  // already overwritten, and the database is left with half a transaction.
  bool sync_directory_of_new_journals = true;
};

// Registers a SQLite VFS named `name` whose files live in `fs`, as the
// default VFS if `make_default`. Returns 0 on success; EINVAL if `name` or
// `fs` is null or `name` is empty; EEXIST if this adapter already registered
// a VFS of that name (unregister it first); ENOMEM if SQLite could not be
// initialised. `fs` must outlive the registration and every connection.
int RegisterSqliteVfs(const char* name, Filesystem* fs, bool make_default,
                      SqliteVfsOptions options = {});

// Unregisters the VFS `name` registered by RegisterSqliteVfs and frees it.
// Returns 0; ENOENT if this adapter registered no VFS of that name; EBUSY if
// a file opened through it is still open (close every connection first).
int UnregisterSqliteVfs(const char* name);

}  // namespace vfs

#endif  // ADAPTERS_SQLITE_SQLITE_VFS_H_
