// SQLite under the crash explorer: a workload of SQLite transactions runs on
// the VFS once; at every crash point (every store request) and every state
// the default profile (ordered) allows there, SQLite reopens the database,
// recovers it, and the checker holds it to SQLite's documented promise for
// the journal mode and synchronous setting:
//   - PRAGMA integrity_check is "ok";
//   - the transactions present are whole and a prefix of those run;
//   - every acknowledged commit is present, except what SQLite does not
//     promise to keep (https://www.sqlite.org/pragma.html#pragma_synchronous):
//     the last commit in DELETE mode with FULL (only EXTRA syncs the
//     directory after the journal's unlink), and commits after the last
//     checkpoint in WAL mode with NORMAL.
// With synchronous=OFF nothing is ever synced, and the explorer must find the
// lost commits. Each configuration prints the number of states it checked;
// docs/sqlite.md tabulates them.
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "adapters/sqlite/sqlite_vfs.h"
#include "harness/crash_explorer.h"
#include "tests/sqlite/sqlite_test_util.h"
#include "tests/test_util.h"

namespace vfs::testing {
namespace {

constexpr char kWorkloadVfs[] = "crash-workload";
constexpr char kCheckVfs[] = "crash-check";
constexpr int kTransactions = 4;
constexpr int kRowsPerTransaction = 3;
constexpr int kPayloadBytes = 900;  // three rows a transaction span a page

// What SQLite promises for a configuration (see the file comment).
enum class Promise {
  kEveryCommit,     // every acknowledged commit survives
  kAllButTheLast,   // the last acknowledged commit may roll back
  kUpToCheckpoint,  // commits up to the last completed checkpoint survive
};

struct Config {
  const char* journal_mode;
  const char* synchronous;
  Promise promise;
  bool expect_violations;
  // Every store request by default. With synchronous=OFF in a rollback mode
  // SQLite never syncs, so the VFS hands the store nothing and there is no
  // store request to crash after: the crash points are then the workload's
  // marks, one after each acknowledgement.
  CrashPoints points = CrashPoints::kStoreRequest;
};

std::string Name(const Config& c) {
  std::string name = std::string(c.journal_mode) + "_" + c.synchronous;
  if (c.promise == Promise::kEveryCommit && c.expect_violations &&
      std::string(c.synchronous) != "OFF") {
    name += "_EveryCommit";
  }
  return name;
}

// The workload: a schema, then kTransactions transactions, each inserting
// kRowsPerTransaction rows, rewriting the previous transaction's rows (so
// pages are overwritten, not only appended) and recording itself in `tx`.
// Acks: "commit" = k once COMMIT returned; "checkpoint" = k once a
// checkpoint after commit k returned (WAL only).
Workload SqliteWorkload(const Config& config, bool sync_directory_of_new_journals = true) {
  return [config, sync_directory_of_new_journals](WorkloadContext& ctx) {
    const bool wal = std::string(config.journal_mode) == "WAL";
    // A fixed seed, and the workload's VFS as the default one SQLite draws
    // its randomness from, so journal nonces and WAL salts are the same on
    // every run and a state's name replays it.
    ASSERT_EQ(RegisterSqliteVfs(kWorkloadVfs, &ctx.fs(), /*make_default=*/true,
                                {.random_seed = 42,
                                 .sync_directory_of_new_journals = sync_directory_of_new_journals}),
              0);
    sqlite3_test_control(SQLITE_TESTCTRL_PRNG_SEED, 0, nullptr);
    {
      Db db;
      ASSERT_EQ(db.Open("/app.db", kWorkloadVfs), SQLITE_OK);
      std::string mode = db.Text(std::string("PRAGMA journal_mode=") + config.journal_mode);
      std::transform(mode.begin(), mode.end(), mode.begin(), ::toupper);
      ASSERT_EQ(mode, config.journal_mode);
      ASSERT_EQ(db.Exec(std::string("PRAGMA synchronous=") + config.synchronous), SQLITE_OK);
      if (wal) {
        ASSERT_EQ(db.Exec("PRAGMA wal_autocheckpoint=0"), SQLITE_OK);  // checkpoints are explicit
      }
      ASSERT_EQ(db.Exec("CREATE TABLE tx(id INTEGER PRIMARY KEY); "
                        "CREATE TABLE rows(tx INTEGER, i INTEGER, payload TEXT)"),
                SQLITE_OK);
      ctx.Ack("commit", "0");
      ctx.Mark();
      for (int k = 1; k <= kTransactions; ++k) {
        std::string sql = "BEGIN; INSERT INTO tx VALUES(" + std::to_string(k) + ");";
        for (int i = 0; i < kRowsPerTransaction; ++i) {
          sql += "INSERT INTO rows VALUES(" + std::to_string(k) + "," + std::to_string(i) +
                 ", printf('%." + std::to_string(kPayloadBytes) + "c', '" +
                 static_cast<char>('a' + k) + "'));";
        }
        sql += "UPDATE rows SET payload = upper(payload) WHERE tx = " + std::to_string(k - 1) +
               "; COMMIT;";
        ASSERT_EQ(db.Exec(sql), SQLITE_OK) << db.last_error();
        ctx.Ack("commit", std::to_string(k));
        ctx.Mark();
        if (wal && k == kTransactions / 2) {
          ASSERT_EQ(db.Text("PRAGMA wal_checkpoint(FULL)"), "0");
          ctx.Ack("checkpoint", std::to_string(k));
        }
      }
      ASSERT_EQ(db.Close(), SQLITE_OK);  // WAL: a last checkpoint, then the WAL is removed
    }
    EXPECT_EQ(UnregisterSqliteVfs(kWorkloadVfs), 0);
    sqlite3_vfs_register(sqlite3_vfs_find("unix"), 1);  // the host default again
  };
}

// The commits that must be present, given the acks made before the crash.
int RequiredCommits(Promise promise, const Acks& acks) {
  int last_commit = -1, checkpoint = -1;
  for (const Ack& a : acks) {
    if (a.key == "commit") last_commit = std::stoi(a.value);
    if (a.key == "checkpoint") checkpoint = std::stoi(a.value);
  }
  switch (promise) {
    case Promise::kEveryCommit:
      return last_commit;
    case Promise::kAllButTheLast:
      return last_commit - 1;
    case Promise::kUpToCheckpoint:
      return checkpoint;
  }
  return last_commit;
}

// Opens the recovered database with SQLite (which rolls back a hot journal or
// replays the WAL) and holds it to `promise`. "" if it keeps it.
std::string CheckDatabase(Filesystem& fs, const Acks& acks, Promise promise) {
  const int required = RequiredCommits(promise, acks);
  const std::string need = "commits 0.." + std::to_string(required) + " required";
  if (!fs.Stat("/app.db").ok()) return required < 0 ? "" : "the database is missing; " + need;
  if (RegisterSqliteVfs(kCheckVfs, &fs, /*make_default=*/false) != 0)
    return "cannot register the VFS";
  std::string verdict;
  {
    Db db;
    if (db.Open("/app.db", kCheckVfs) != SQLITE_OK) {
      verdict = "SQLite cannot open the database: " + db.last_error();
    } else if (std::string check = db.Text("PRAGMA integrity_check"); check != "ok") {
      verdict = "integrity_check: " + check;
    } else if (db.Int("SELECT count(*) FROM sqlite_schema WHERE name IN ('tx', 'rows')") != 2) {
      if (required >= 0) verdict = "the schema (commit 0) is missing; " + need;
    } else {
      // Present transactions: 1..m, each with all its rows and the payloads
      // of the transactions after it applied.
      const int64_t present = db.Int("SELECT count(*) FROM tx");
      const int64_t highest = db.Int("SELECT coalesce(max(id), 0) FROM tx");
      if (present != highest) {
        verdict = "transactions are not a prefix: " + db.Text("SELECT group_concat(id) FROM tx");
      } else if (highest < required) {
        verdict = "lost acknowledged commits: " + std::to_string(highest) + " present, " + need;
      } else {
        for (int k = 1; k <= highest && verdict.empty(); ++k) {
          const char letter = static_cast<char>('a' + k);
          const char expected = k < highest ? static_cast<char>(letter - 'a' + 'A') : letter;
          const std::string where = " FROM rows WHERE tx = " + std::to_string(k);
          if (db.Int("SELECT count(*)" + where) != kRowsPerTransaction ||
              db.Int("SELECT count(*)" + where + " AND payload = printf('%." +
                     std::to_string(kPayloadBytes) + "c', '" + expected + "')") !=
                  kRowsPerTransaction) {
            verdict = "transaction " + std::to_string(k) + " is not whole";
          }
        }
        if (verdict.empty() &&
            db.Int("SELECT count(*) FROM rows WHERE tx > " + std::to_string(highest)) != 0) {
          verdict = "rows of an uncommitted transaction";
        }
      }
    }
  }
  if (UnregisterSqliteVfs(kCheckVfs) != 0 && verdict.empty()) verdict = "a file was left open";
  return verdict;
}

class SqliteCrashTest : public ::testing::TestWithParam<Config> {};

TEST_P(SqliteCrashTest, RecoveredDatabaseKeepsSqlitesPromise) {
  const Config& config = GetParam();
  CrashExplorerOptions options;  // the default profile: ordered, every store request
  options.seed = 1;
  // Where violations are expected, two distinct ones make the point; the
  // rest of the run would be spent shrinking more of the same.
  // VFS_SQLITE_CRASH_ALL=1 checks every state anyway (docs/sqlite.md's table).
  const bool all = std::getenv("VFS_SQLITE_CRASH_ALL") != nullptr;
  options.max_failures = config.expect_violations && !all ? 2 : 1000;
  options.points = config.points;
  CrashExplorer explorer(options);
  const Workload workload = SqliteWorkload(config);
  const Checker checker = [&config](Filesystem& fs, const Acks& acks) {
    return CheckDatabase(fs, acks, config.promise);
  };
  auto report = explorer.Run(workload, checker);
  ASSERT_TRUE(report.ok()) << strerror(report.error());
  std::printf(
      "sqlite crash %s: profile ordered, seed %llu, %s, %llu crash points (%llu exhaustive, %llu "
      "sampled), "
      "%llu states checked, %zu distinct violation(s)\n",
      Name(config).c_str(), static_cast<unsigned long long>(options.seed),
      config.points == CrashPoints::kStoreRequest ? "a point after every store request"
                                                  : "a point after every commit",
      static_cast<unsigned long long>(report->points),
      static_cast<unsigned long long>(report->exhaustive_points),
      static_cast<unsigned long long>(report->sampled_points),
      static_cast<unsigned long long>(report->states), report->failures.size());
  for (const CrashFailure& f : report->failures) {
    std::printf("  %s: %s\n", f.name.c_str(), f.message.c_str());
    for (size_t i = 0; i < f.lost.size() && i < f.advice.size(); ++i) {
      std::printf("    lost: %s; protect with: %s\n", f.lost[i].c_str(), f.advice[i].c_str());
    }
  }
  RecordProperty("states", static_cast<int>(report->states));
  EXPECT_GT(report->points, 0u);
  if (config.points == CrashPoints::kStoreRequest) {
    EXPECT_GT(report->states, report->points);  // more than one state at some points
  }
  if (!config.expect_violations) {
    EXPECT_TRUE(report->failures.empty()) << report->ToJson();
    return;
  }
  ASSERT_FALSE(report->failures.empty()) << "expected lost commits";
  for (const CrashFailure& f : report->failures) {
    // Lost commits, never a corrupt database: SQLite's recovery is sound even
    // when its durability was switched off.
    EXPECT_NE(f.message.find("required"), std::string::npos) << f.message;
  }
  // The name replays the state alone, with the same verdict.
  auto replayed = explorer.Replay(workload, checker, report->failures.front().name);
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(*replayed, report->failures.front().message);
}

// The weakest profile: any subset of the pending requests, metadata in any
// order, every page write torn at 512-byte sectors (rules C2, C3, C6). The
// adapter claims only POWERSAFE_OVERWRITE and 512-byte sectors, so SQLite's
// FULL modes must survive this too. States per point are sampled beyond a
// small limit (fixed seed) to keep the run short.
TEST(SqliteWeakestProfileTest, FullSynchronousModesSurviveTornSectorsAndAnyOrder) {
  for (const Config& config : {Config{"DELETE", "EXTRA", Promise::kEveryCommit, false},
                               Config{"TRUNCATE", "FULL", Promise::kEveryCommit, false},
                               Config{"PERSIST", "FULL", Promise::kEveryCommit, false},
                               Config{"WAL", "FULL", Promise::kEveryCommit, false}}) {
    CrashExplorerOptions options;
    options.profile = CrashProfile::kWeakest;
    options.seed = 1;
    options.exhaustive_limit = 128;
    options.samples = 32;
    options.max_failures = 3;
    CrashExplorer explorer(options);
    auto report = explorer.Run(SqliteWorkload(config), [&config](Filesystem& fs, const Acks& acks) {
      return CheckDatabase(fs, acks, config.promise);
    });
    ASSERT_TRUE(report.ok()) << strerror(report.error());
    std::printf(
        "sqlite crash %s: profile weakest (512-byte sectors), seed 1, %llu crash points (%llu "
        "exhaustive, "
        "%llu sampled), %llu states checked, %zu distinct violation(s)\n",
        Name(config).c_str(), static_cast<unsigned long long>(report->points),
        static_cast<unsigned long long>(report->exhaustive_points),
        static_cast<unsigned long long>(report->sampled_points),
        static_cast<unsigned long long>(report->states), report->failures.size());
    for (const CrashFailure& f : report->failures)
      std::printf("  %s: %s\n", f.name.c_str(), f.message.c_str());
    EXPECT_TRUE(report->failures.empty()) << Name(config) << ": " << report->ToJson();
    EXPECT_GT(report->states, report->points);
  }
}

// Why the adapter fsyncs the directory of a journal it created: without it
// the journal of a commit can be lost by name while the database pages it
// protects are already overwritten, and the explorer finds a database with
// half a transaction: SQLite reports it malformed. (The commit before
// made the database's own name durable: EXTRA syncs the directory when it
// deletes the journal.)
TEST(SqliteJournalDirectoryTest,
     WithoutTheDirectorySyncOfANewJournalTheExplorerFindsACorruptDatabase) {
  const Config config{"DELETE", "EXTRA", Promise::kEveryCommit, true};
  CrashExplorerOptions options;
  options.seed = 1;
  options.max_failures = 2;
  auto report =
      CrashExplorer(options).Run(SqliteWorkload(config, /*sync_directory_of_new_journals=*/false),
                                 [](Filesystem& fs, const Acks& acks) {
                                   return CheckDatabase(fs, acks, Promise::kEveryCommit);
                                 });
  ASSERT_TRUE(report.ok()) << strerror(report.error());
  std::printf(
      "sqlite crash DELETE_EXTRA without the journal's directory sync: %llu states checked, "
      "%zu distinct violation(s)\n",
      static_cast<unsigned long long>(report->states), report->failures.size());
  bool corrupt = false;
  for (const CrashFailure& f : report->failures) {
    std::printf("  %s: %s\n", f.name.c_str(), f.message.c_str());
    corrupt = corrupt || f.message.find("not whole") != std::string::npos ||
              f.message.find("integrity_check") != std::string::npos;
  }
  EXPECT_TRUE(corrupt) << report->ToJson();
}

INSTANTIATE_TEST_SUITE_P(
    Modes, SqliteCrashTest,
    ::testing::Values(Config{"DELETE", "EXTRA", Promise::kEveryCommit, false},
                      Config{"DELETE", "FULL", Promise::kAllButTheLast, false},
                      Config{"DELETE", "FULL", Promise::kEveryCommit, true},
                      Config{"DELETE", "OFF", Promise::kEveryCommit, true, CrashPoints::kMarked},
                      Config{"TRUNCATE", "FULL", Promise::kEveryCommit, false},
                      Config{"TRUNCATE", "OFF", Promise::kEveryCommit, true, CrashPoints::kMarked},
                      Config{"PERSIST", "FULL", Promise::kEveryCommit, false},
                      Config{"PERSIST", "OFF", Promise::kEveryCommit, true, CrashPoints::kMarked},
                      Config{"WAL", "FULL", Promise::kEveryCommit, false},
                      Config{"WAL", "NORMAL", Promise::kUpToCheckpoint, false},
                      Config{"WAL", "NORMAL", Promise::kEveryCommit, true},
                      Config{"WAL", "OFF", Promise::kEveryCommit, true}),
    [](const auto& info) { return Name(info.param); });

}  // namespace
}  // namespace vfs::testing
