// The SQLite adapter used as an application uses SQLite: create, insert,
// select, transactions, every journal mode, two connections and threads, and
// what a power cut of the Filesystem leaves for SQLite's recovery.
#include "adapters/sqlite/sqlite_vfs.h"

#include <sqlite3.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/sqlite/sqlite_test_util.h"
#include "tests/test_util.h"

namespace vfs::testing {
namespace {

constexpr char kVfs[] = "vfs-test";

// A SELECT of the integers first..last (SQLite's library has no
// generate_series).
std::string Series(int first, int last) {
  return "WITH RECURSIVE s(i) AS (SELECT " + std::to_string(first) +
         " UNION ALL SELECT i + 1 FROM s WHERE i < " + std::to_string(last) + ") SELECT i FROM s";
}

class SqliteVfsTest : public VfsTest {
 protected:
  void SetUp() override {
    VfsTest::SetUp();
    Register();
  }
  void TearDown() override { EXPECT_EQ(UnregisterSqliteVfs(kVfs), 0); }

  void Register() { ASSERT_EQ(RegisterSqliteVfs(kVfs, fs_.get(), /*make_default=*/false), 0); }

  // Power cut under open connections: the Filesystem stops, the connections
  // are closed (their writes fail with EIO, as after a real power cut
  // nothing more reaches the disk), and SQLite is pointed at what survived.
  void CrashUnder(std::vector<Db*> dbs) {
    fs_->Crash();
    for (Db* db : dbs) ASSERT_EQ(db->Close(), SQLITE_OK);
    ASSERT_EQ(UnregisterSqliteVfs(kVfs), 0);
    Remount();
    Register();
  }

  int64_t Size(const std::string& path) {
    auto st = fs_->Stat(path);
    return st.ok() ? static_cast<int64_t>(st->size) : -1;
  }
};

// ---- Every journal mode ----

class JournalModeTest : public SqliteVfsTest, public ::testing::WithParamInterface<const char*> {
 protected:
  // Opens /app.db in the mode under test with synchronous=FULL.
  void OpenApp(Db& db) {
    ASSERT_EQ(db.Open("/app.db", kVfs), SQLITE_OK) << db.last_error();
    ASSERT_EQ(db.Text(std::string("PRAGMA journal_mode=") + GetParam()), Lower(GetParam()));
    ASSERT_EQ(db.Exec("PRAGMA synchronous=FULL"), SQLITE_OK);
  }
  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
};

TEST_P(JournalModeTest, CreateInsertSelectAndReopen) {
  {
    Db db;
    OpenApp(db);
    ASSERT_EQ(db.Exec("CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT)"), SQLITE_OK)
        << db.last_error();
    ASSERT_EQ(db.Exec("BEGIN"), SQLITE_OK);
    for (int i = 0; i < 200; ++i) {
      ASSERT_EQ(db.Exec("INSERT INTO kv VALUES(" + std::to_string(i) + ", printf('%.500c', 'x'))"),
                SQLITE_OK)
          << db.last_error();
    }
    ASSERT_EQ(db.Exec("COMMIT"), SQLITE_OK) << db.last_error();
    EXPECT_EQ(db.Int("SELECT count(*) FROM kv"), 200);
    EXPECT_EQ(db.Int("SELECT sum(length(v)) FROM kv"), 200 * 500);
  }
  // The database spans many pages of the Filesystem, and a new connection
  // reads it back from there.
  EXPECT_GT(Size("/app.db"), 100 * 1024);
  Db db;
  OpenApp(db);
  EXPECT_EQ(db.Int("SELECT count(*) FROM kv WHERE length(v) = 500"), 200);
  EXPECT_EQ(db.Text("PRAGMA integrity_check"), "ok");
}

TEST_P(JournalModeTest, RollbackUndoesEveryChangeOfTheTransaction) {
  Db db;
  OpenApp(db);
  ASSERT_EQ(db.Exec("CREATE TABLE t(x); INSERT INTO t VALUES(1),(2),(3)"), SQLITE_OK);
  ASSERT_EQ(db.Exec("BEGIN; UPDATE t SET x = x * 100; DELETE FROM t WHERE x = 200; "
                    "INSERT INTO t " +
                    Series(10, 500)),
            SQLITE_OK)
      << db.last_error();
  EXPECT_EQ(db.Int("SELECT count(*) FROM t"), 2 + 491);
  ASSERT_EQ(db.Exec("ROLLBACK"), SQLITE_OK);
  EXPECT_EQ(db.Int("SELECT sum(x) FROM t"), 6);
  EXPECT_EQ(db.Text("PRAGMA integrity_check"), "ok");
}

TEST_P(JournalModeTest, CommittedTransactionSurvivesAPowerCutWithSynchronousFullOrExtra) {
  Db db;
  OpenApp(db);
  // DELETE mode needs EXTRA: with FULL the journal's unlink is never made
  // durable (see DeleteModeWithFullLosesTheLastCommitToAPowerCut).
  ASSERT_EQ(db.Exec(std::string(GetParam()) == "DELETE" ? "PRAGMA synchronous=EXTRA" : "SELECT 1"),
            SQLITE_OK);
  ASSERT_EQ(db.Exec("CREATE TABLE t(x)"), SQLITE_OK);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_EQ(db.Exec("INSERT INTO t VALUES(" + std::to_string(i) + ")"), SQLITE_OK)
        << db.last_error();
  }
  CrashUnder({&db});
  OpenApp(db);
  EXPECT_EQ(db.Text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(db.Text("SELECT group_concat(x) FROM t"), "1,2,3,4,5");
}

TEST_P(JournalModeTest, UncommittedTransactionIsGoneAfterAPowerCut) {
  Db db;
  OpenApp(db);
  ASSERT_EQ(db.Exec("CREATE TABLE t(x); INSERT INTO t VALUES('committed')"), SQLITE_OK);
  // A transaction large enough to spill pages into the database file before
  // its commit (a small cache forces the spill in rollback modes).
  ASSERT_EQ(db.Exec("PRAGMA cache_size=2"), SQLITE_OK);
  ASSERT_EQ(db.Exec("BEGIN; UPDATE t SET x = 'changed'; "
                    "INSERT INTO t SELECT printf('%.2000c', 'y') FROM (" +
                    Series(1, 100) + ")"),
            SQLITE_OK)
      << db.last_error();
  CrashUnder({&db});
  OpenApp(db);
  EXPECT_EQ(db.Text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(db.Text("SELECT group_concat(x) FROM t"), "committed");
}

INSTANTIATE_TEST_SUITE_P(Modes, JournalModeTest,
                         ::testing::Values("DELETE", "TRUNCATE", "PERSIST", "WAL"),
                         [](const auto& info) { return std::string(info.param); });

// ---- What each mode leaves in the Filesystem ----

TEST_F(SqliteVfsTest, EachJournalModeLeavesItsJournalAsSqliteDocumentsIt) {
  Db db;
  ASSERT_EQ(db.Open("/m.db", kVfs), SQLITE_OK);
  ASSERT_EQ(db.Exec("CREATE TABLE t(x); INSERT INTO t VALUES(1)"), SQLITE_OK);
  EXPECT_FALSE(Exists("/m.db-journal"));  // DELETE: unlinked at commit
  ASSERT_EQ(db.Text("PRAGMA journal_mode=TRUNCATE"), "truncate");
  ASSERT_EQ(db.Exec("INSERT INTO t VALUES(2)"), SQLITE_OK);
  EXPECT_EQ(Size("/m.db-journal"), 0);  // TRUNCATE: kept at length 0
  ASSERT_EQ(db.Text("PRAGMA journal_mode=PERSIST"), "persist");
  ASSERT_EQ(db.Exec("INSERT INTO t VALUES(3)"), SQLITE_OK);
  // PERSIST: kept whole, its header zeroed so it is not hot.
  ASSERT_GT(Size("/m.db-journal"), 0);
  std::string header = ReadFile("/m.db-journal").substr(0, 28);
  EXPECT_EQ(header, std::string(28, '\0'));
  ASSERT_EQ(db.Text("PRAGMA journal_mode=WAL"), "wal");
  ASSERT_EQ(db.Exec("INSERT INTO t VALUES(4)"), SQLITE_OK);
  EXPECT_GT(Size("/m.db-wal"), 0);
  EXPECT_FALSE(Exists("/m.db-shm"));  // the WAL index is in this process's memory
  ASSERT_EQ(db.Close(), SQLITE_OK);
  EXPECT_FALSE(Exists("/m.db-wal"));  // checkpointed and removed by the last close
  ASSERT_EQ(db.Open("/m.db", kVfs), SQLITE_OK);
  EXPECT_EQ(db.Text("SELECT group_concat(x) FROM t"), "1,2,3,4");
}

// SQLite documents that FULL in DELETE mode does not sync the directory after
// the journal's unlink; EXTRA does. A power cut right after a commit then
// resurrects the journal, and SQLite rolls the commit back. The VFS shows it,
// exactly as rule D3 says a real filesystem may.
TEST_F(SqliteVfsTest, DeleteModeWithFullLosesTheLastCommitToAPowerCutAndExtraKeepsIt) {
  for (const char* level : {"FULL", "EXTRA"}) {
    SCOPED_TRACE(level);
    Db db;
    ASSERT_EQ(db.Open(std::string("/") + level + ".db", kVfs), SQLITE_OK);
    ASSERT_EQ(db.Exec(std::string("PRAGMA journal_mode=DELETE; PRAGMA synchronous=") + level),
              SQLITE_OK);
    ASSERT_EQ(db.Exec("CREATE TABLE t(x); INSERT INTO t VALUES('first')"), SQLITE_OK);
    ASSERT_EQ(db.Exec("UPDATE t SET x = 'second'"), SQLITE_OK);
    EXPECT_FALSE(Exists(std::string("/") + level + ".db-journal"));
    CrashUnder({&db});
    ASSERT_EQ(db.Open(std::string("/") + level + ".db", kVfs), SQLITE_OK);
    EXPECT_EQ(db.Text("PRAGMA integrity_check"), "ok");
    EXPECT_EQ(db.Text("SELECT x FROM t"), std::string(level) == "FULL" ? "first" : "second");
  }
}

TEST_F(SqliteVfsTest, SynchronousOffLeavesNothingDurable) {
  Db db;
  ASSERT_EQ(db.Open("/off.db", kVfs), SQLITE_OK);
  ASSERT_EQ(db.Exec("PRAGMA synchronous=OFF; CREATE TABLE t(x); INSERT INTO t VALUES(1)"),
            SQLITE_OK);
  CrashUnder({&db});
  EXPECT_FALSE(Exists("/off.db"));
}

// "PRAGMA temp_store=FILE" with a two-page cache: the temporary database
// spills into a file SQLite opens without a name.
constexpr char kSpillingTempTable[] =
    "PRAGMA temp_store=FILE; PRAGMA temp.cache_size=2; CREATE TEMP TABLE big(x); "
    "INSERT INTO big SELECT printf('%.1000c', 'z') FROM ";

TEST_F(SqliteVfsTest, TemporaryFilesAreUnlinkedAtOnceAndLeaveNoName) {
  Db db;
  ASSERT_EQ(db.Open("/tmp.db", kVfs), SQLITE_OK);
  ASSERT_EQ(db.Exec(kSpillingTempTable + ("(" + Series(1, 300) + ")")), SQLITE_OK)
      << db.last_error();
  EXPECT_EQ(db.Int("SELECT count(*) FROM big"), 300);
  auto names = [this] {
    std::vector<std::string> out;
    Fd root = OpenOrDie("/", O_RDONLY | O_DIRECTORY);
    auto entries = fs_->ReadDir(root);
    EXPECT_TRUE(entries.ok());
    if (entries.ok()) {
      for (const DirEntry& e : *entries) out.push_back(e.name);
    }
    EXPECT_OK(fs_->Close(root));
    return out;
  };
  EXPECT_EQ(names(), (std::vector<std::string>{".", "..", "tmp.db"}));
  ASSERT_EQ(db.Close(), SQLITE_OK);
  EXPECT_EQ(names(), (std::vector<std::string>{".", "..", "tmp.db"}));
}

class FullFilesystemTest : public SqliteVfsTest {
 protected:
  void SetUp() override {
    options_.max_bytes = 64 * 1024;
    SqliteVfsTest::SetUp();
  }
};

TEST_F(FullFilesystemTest, NoSpaceIsSqliteFullAndTheDatabaseStaysIntact) {
  Db db;
  ASSERT_EQ(db.Open("/full.db", kVfs), SQLITE_OK);
  ASSERT_EQ(db.Exec("CREATE TABLE t(x); INSERT INTO t VALUES('kept')"), SQLITE_OK);
  EXPECT_EQ(db.Exec("INSERT INTO t SELECT printf('%.1000c', 'q') FROM (" + Series(1, 300) + ")"),
            SQLITE_FULL);
  EXPECT_EQ(db.Text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(db.Text("SELECT group_concat(x) FROM t"), "kept");
  // The temporary database is in the Filesystem too, so it fills it as well.
  EXPECT_EQ(db.Exec(kSpillingTempTable + ("(" + Series(1, 300) + ")")), SQLITE_FULL);
}

TEST_F(SqliteVfsTest, MissingDatabaseWithoutCreateIsCantopen) {
  Db db;
  EXPECT_EQ(db.Open("/absent.db", kVfs, SQLITE_OPEN_READWRITE), SQLITE_CANTOPEN);
  EXPECT_EQ(db.Open("/no/such/dir/a.db", kVfs), SQLITE_CANTOPEN);
}

TEST_F(SqliteVfsTest, RelativePathResolvesAgainstTheFilesystemsWorkingDirectory) {
  ASSERT_OK(fs_->Mkdir("/data", 0755));
  ASSERT_OK(fs_->Chdir("/data"));
  Db db;
  ASSERT_EQ(db.Open("rel.db", kVfs), SQLITE_OK);
  ASSERT_EQ(db.Exec("CREATE TABLE t(x)"), SQLITE_OK);
  EXPECT_TRUE(Exists("/data/rel.db"));
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db.get(), "SELECT file FROM pragma_database_list WHERE name='main'",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "/data/rel.db");
  sqlite3_finalize(stmt);
}

TEST_F(SqliteVfsTest, DeviceReportsPowersafeOverwriteOnlyAnd512ByteSectors) {
  Db db;
  ASSERT_EQ(db.Open("/dev.db", kVfs), SQLITE_OK);
  ASSERT_EQ(db.Exec("CREATE TABLE t(x)"), SQLITE_OK);
  sqlite3_file* file = nullptr;
  ASSERT_EQ(sqlite3_file_control(db.get(), "main", SQLITE_FCNTL_FILE_POINTER, &file), SQLITE_OK);
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->pMethods->xDeviceCharacteristics(file), SQLITE_IOCAP_POWERSAFE_OVERWRITE);
  EXPECT_EQ(file->pMethods->xSectorSize(file), 512);
  char* name = nullptr;
  ASSERT_EQ(sqlite3_file_control(db.get(), "main", SQLITE_FCNTL_VFSNAME, &name), SQLITE_OK);
  EXPECT_STREQ(name, kVfs);
  sqlite3_free(name);
}

// ---- Two connections ----

int LockState(Db& db) {
  int state = -1;
  EXPECT_EQ(sqlite3_file_control(db.get(), "main", SQLITE_FCNTL_LOCKSTATE, &state), SQLITE_OK);
  return state;
}

TEST_F(SqliteVfsTest, RollbackModeReaderBlocksTheWritersCommitUntilItFinishes) {
  Db writer, reader;
  ASSERT_EQ(writer.Open("/two.db", kVfs), SQLITE_OK);
  ASSERT_EQ(writer.Exec("CREATE TABLE t(x); INSERT INTO t VALUES(1),(2)"), SQLITE_OK);
  ASSERT_EQ(reader.Open("/two.db", kVfs), SQLITE_OK);
  ASSERT_EQ(reader.Exec("BEGIN; SELECT count(*) FROM t"), SQLITE_OK);
  EXPECT_EQ(LockState(reader), SQLITE_LOCK_SHARED);
  ASSERT_EQ(writer.Exec("BEGIN IMMEDIATE; INSERT INTO t VALUES(3)"), SQLITE_OK);
  EXPECT_EQ(LockState(writer), SQLITE_LOCK_RESERVED);
  // A second writer cannot take RESERVED.
  Db second;
  ASSERT_EQ(second.Open("/two.db", kVfs), SQLITE_OK);
  EXPECT_EQ(second.Exec("BEGIN IMMEDIATE"), SQLITE_BUSY);
  // The commit needs EXCLUSIVE, which the reader's SHARED lock refuses; the
  // writer is left at PENDING, which keeps new readers out.
  EXPECT_EQ(writer.Exec("COMMIT"), SQLITE_BUSY);
  EXPECT_EQ(LockState(writer), SQLITE_LOCK_PENDING);
  EXPECT_EQ(second.Exec("SELECT count(*) FROM t"), SQLITE_BUSY);
  // The reader still sees the old contents, then lets go.
  EXPECT_EQ(reader.Int("SELECT count(*) FROM t"), 2);
  ASSERT_EQ(reader.Exec("COMMIT"), SQLITE_OK);
  EXPECT_EQ(LockState(reader), SQLITE_LOCK_NONE);
  ASSERT_EQ(writer.Exec("COMMIT"), SQLITE_OK);
  EXPECT_EQ(LockState(writer), SQLITE_LOCK_NONE);
  EXPECT_EQ(reader.Int("SELECT count(*) FROM t"), 3);
  EXPECT_EQ(second.Int("SELECT count(*) FROM t"), 3);
}

TEST_F(SqliteVfsTest, WalReaderKeepsItsSnapshotWhileTheWriterCommits) {
  Db writer, reader;
  ASSERT_EQ(writer.Open("/wal.db", kVfs), SQLITE_OK);
  ASSERT_EQ(writer.Text("PRAGMA journal_mode=WAL"), "wal");
  ASSERT_EQ(writer.Exec("CREATE TABLE t(x); INSERT INTO t VALUES(1)"), SQLITE_OK);
  ASSERT_EQ(reader.Open("/wal.db", kVfs), SQLITE_OK);
  ASSERT_EQ(reader.Exec("BEGIN"), SQLITE_OK);
  EXPECT_EQ(reader.Int("SELECT count(*) FROM t"), 1);
  ASSERT_EQ(writer.Exec("INSERT INTO t VALUES(2)"), SQLITE_OK);  // no BUSY in WAL mode
  ASSERT_EQ(writer.Exec("INSERT INTO t VALUES(3)"), SQLITE_OK);
  EXPECT_EQ(reader.Int("SELECT count(*) FROM t"), 1);  // its snapshot
  // A second writer waits for the first (the WAL write lock is one slot).
  ASSERT_EQ(writer.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
  Db second;
  ASSERT_EQ(second.Open("/wal.db", kVfs), SQLITE_OK);
  EXPECT_EQ(second.Exec("BEGIN IMMEDIATE"), SQLITE_BUSY);
  ASSERT_EQ(writer.Exec("COMMIT"), SQLITE_OK);
  ASSERT_EQ(reader.Exec("COMMIT"), SQLITE_OK);
  EXPECT_EQ(reader.Int("SELECT count(*) FROM t"), 3);
  // A full checkpoint with no reader left moves everything into the database.
  EXPECT_EQ(writer.Text("PRAGMA wal_checkpoint(TRUNCATE)"), "0");
  EXPECT_EQ(Size("/wal.db-wal"), 0);
  EXPECT_EQ(second.Int("SELECT sum(x) FROM t"), 6);
}

TEST_F(SqliteVfsTest, WalIsRecoveredFromTheLogAfterAPowerCut) {
  Db db;
  ASSERT_EQ(db.Open("/walcrash.db", kVfs), SQLITE_OK);
  ASSERT_EQ(db.Text("PRAGMA journal_mode=WAL"), "wal");
  ASSERT_EQ(db.Exec("PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x)"),
            SQLITE_OK);
  for (int i = 1; i <= 20; ++i) {
    ASSERT_EQ(db.Exec("INSERT INTO t VALUES(" + std::to_string(i) + ")"), SQLITE_OK);
  }
  CrashUnder({&db});
  // The commits are only in the WAL; the in-memory index died with the
  // process's connections and is rebuilt from it.
  EXPECT_GT(Size("/walcrash.db-wal"), 0);
  ASSERT_EQ(db.Open("/walcrash.db", kVfs), SQLITE_OK);
  EXPECT_EQ(db.Text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(db.Int("SELECT sum(x) FROM t"), 210);
}

TEST_F(SqliteVfsTest, ThreadsWritingWithABusyTimeoutLoseNoRow) {
  {
    Db db;
    ASSERT_EQ(db.Open("/threads.db", kVfs), SQLITE_OK);
    ASSERT_EQ(db.Text("PRAGMA journal_mode=WAL"), "wal");
    ASSERT_EQ(db.Exec("CREATE TABLE t(thread, i)"), SQLITE_OK);
  }
  constexpr int kThreads = 4;
  constexpr int kRows = 50;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &failures] {
      Db db;
      if (db.Open("/threads.db", kVfs) != SQLITE_OK) {
        failures[t] = kRows;
        return;
      }
      sqlite3_busy_timeout(db.get(), 60'000);  // SQLite's own retry: xSleep between attempts
      for (int i = 0; i < kRows; ++i) {
        const std::string sql =
            "INSERT INTO t VALUES(" + std::to_string(t) + "," + std::to_string(i) + ")";
        if (db.Exec(sql) != SQLITE_OK) ++failures[t];
        if (i % 10 == 0 &&
            db.Int("SELECT count(*) FROM t WHERE thread = " + std::to_string(t)) != i + 1) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
  Db db;
  ASSERT_EQ(db.Open("/threads.db", kVfs), SQLITE_OK);
  EXPECT_EQ(db.Int("SELECT count(*) FROM t"), kThreads * kRows);
  EXPECT_EQ(db.Int("SELECT count(DISTINCT thread || ',' || i) FROM t"), kThreads * kRows);
  EXPECT_EQ(db.Text("PRAGMA integrity_check"), "ok");
}

// ---- Registration ----

TEST_F(SqliteVfsTest, RegistrationRejectsBadArgumentsDuplicatesAndBusyUnregister) {
  EXPECT_EQ(RegisterSqliteVfs(nullptr, fs_.get(), false), EINVAL);
  EXPECT_EQ(RegisterSqliteVfs("", fs_.get(), false), EINVAL);
  EXPECT_EQ(RegisterSqliteVfs("x", nullptr, false), EINVAL);
  EXPECT_EQ(RegisterSqliteVfs(kVfs, fs_.get(), false), EEXIST);
  EXPECT_EQ(RegisterSqliteVfs("unix", fs_.get(), false), EEXIST);  // SQLite's own
  EXPECT_EQ(UnregisterSqliteVfs("never-registered"), ENOENT);
  EXPECT_EQ(UnregisterSqliteVfs("unix"), ENOENT);  // not this adapter's
  Db db;
  ASSERT_EQ(db.Open("/busy.db", kVfs), SQLITE_OK);
  ASSERT_EQ(db.Exec("CREATE TABLE t(x)"), SQLITE_OK);
  EXPECT_EQ(UnregisterSqliteVfs(kVfs), EBUSY);
  ASSERT_EQ(db.Close(), SQLITE_OK);
  EXPECT_EQ(UnregisterSqliteVfs(kVfs), 0);
  EXPECT_EQ(sqlite3_vfs_find(kVfs), nullptr);
  Register();  // for TearDown
}

TEST_F(SqliteVfsTest, TwoRegistrationsOnTwoFilesystemsAreIndependent) {
  auto other = Filesystem::Mount(NewMemoryStore());
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(RegisterSqliteVfs("vfs-other", other->get(), false), 0);
  {
    Db a, b;
    ASSERT_EQ(a.Open("/same.db", kVfs), SQLITE_OK);
    ASSERT_EQ(b.Open("/same.db", "vfs-other"), SQLITE_OK);
    ASSERT_EQ(a.Exec("CREATE TABLE t(x); INSERT INTO t VALUES('a')"), SQLITE_OK);
    ASSERT_EQ(b.Exec("CREATE TABLE t(x); INSERT INTO t VALUES('b')"), SQLITE_OK);
    // Same path, different files: neither lock nor data is shared.
    ASSERT_EQ(a.Exec("BEGIN EXCLUSIVE"), SQLITE_OK);
    EXPECT_EQ(b.Exec("INSERT INTO t VALUES('b2')"), SQLITE_OK);
    ASSERT_EQ(a.Exec("COMMIT"), SQLITE_OK);
    EXPECT_EQ(a.Text("SELECT group_concat(x) FROM t"), "a");
    EXPECT_EQ(b.Text("SELECT group_concat(x) FROM t"), "b,b2");
  }
  EXPECT_EQ(UnregisterSqliteVfs("vfs-other"), 0);
}

TEST_F(SqliteVfsTest, FixedRandomSeedGivesSqliteTheSameRandomnessEveryTime) {
  auto draw = [this](uint64_t seed) {
    EXPECT_EQ(
        RegisterSqliteVfs("vfs-random", fs_.get(), /*make_default=*/true, {.random_seed = seed}),
        0);
    // SQLite seeds its generator from the default VFS; reset it to reseed.
    sqlite3_test_control(SQLITE_TESTCTRL_PRNG_SEED, 0, nullptr);
    std::string bytes(32, '\0');
    sqlite3_randomness(static_cast<int>(bytes.size()), bytes.data());
    EXPECT_EQ(UnregisterSqliteVfs("vfs-random"), 0);
    return bytes;
  };
  const std::string first = draw(7);
  EXPECT_EQ(draw(7), first);
  EXPECT_NE(draw(8), first);
  sqlite3_vfs_register(sqlite3_vfs_find("unix"), 1);  // the host default again
  sqlite3_test_control(SQLITE_TESTCTRL_PRNG_SEED, 0, nullptr);
}

}  // namespace
}  // namespace vfs::testing
