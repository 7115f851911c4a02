// Helpers for the SQLite adapter's tests: a connection that reports SQLite's
// error text, and single-value queries.
#ifndef TESTS_SQLITE_SQLITE_TEST_UTIL_H_
#define TESTS_SQLITE_SQLITE_TEST_UTIL_H_

#include <sqlite3.h>

#include <string>

namespace vfs::testing {

// One SQLite connection, closed on destruction.
class Db {
 public:
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { Close(); }

  // sqlite3_open_v2 with `vfs`; the SQLite result code.
  int Open(const std::string& path, const char* vfs,
           int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
    Close();
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, vfs);
    if (rc != SQLITE_OK) last_error_ = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    return rc;
  }
  int Close() {
    if (db_ == nullptr) return SQLITE_OK;
    const int rc = sqlite3_close(db_);
    if (rc == SQLITE_OK) db_ = nullptr;
    return rc;
  }

  // Runs `sql` (one or more statements); the SQLite result code. The error
  // text is in last_error().
  int Exec(const std::string& sql) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    last_error_ = message ? message : "";
    sqlite3_free(message);
    return rc;
  }

  // The first column of the first row of `sql` as text; "<rc N: why>" when
  // the query fails, "<no row>" when it returns none.
  std::string Text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return "<rc " + std::to_string(rc) + ": " + sqlite3_errmsg(db_) + ">";
    std::string out;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out = text ? reinterpret_cast<const char*>(text) : "<null>";
    } else if (rc == SQLITE_DONE) {
      out = "<no row>";
    } else {
      out = "<rc " + std::to_string(rc) + ": " + sqlite3_errmsg(db_) + ">";
    }
    sqlite3_finalize(stmt);
    return out;
  }

  // The first column of the first row of `sql` as an integer; -1 on failure.
  int64_t Int(const std::string& sql) {
    const std::string text = Text(sql);
    if (text.empty() || text[0] == '<') return -1;
    return std::stoll(text);
  }

  sqlite3* get() const { return db_; }
  const std::string& last_error() const { return last_error_; }

 private:
  sqlite3* db_ = nullptr;
  std::string last_error_;
};

}  // namespace vfs::testing

#endif  // TESTS_SQLITE_SQLITE_TEST_UTIL_H_
