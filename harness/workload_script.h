// WorkloadScript: a workload written as syscall-like lines, for `vfs crash`.
//
//   # replace /config atomically
//   open c /config.tmp O_WRONLY|O_CREAT 0644
//   write c "new settings"
//   fsync c
//   close c
//   rename /config.tmp /config
//   fsync-dir /
//   ack /config "new settings"
//
// Lines: open NAME PATH FLAGS [MODE]; close NAME; write NAME DATA;
// pwrite NAME OFFSET DATA; ftruncate NAME LEN; truncate PATH LEN;
// fsync NAME; fdatasync NAME; sync_file_range NAME OFFSET NBYTES FLAGS;
// fsync_range NAME HOW START LENGTH; syncfs NAME; sync; fsync-dir PATH;
// mkdir PATH; rmdir PATH; unlink PATH; rename FROM TO; link FROM TO;
// symlink TARGET PATH; ack PATH DATA; ack-absent PATH; mark.
// FLAGS are O_* names joined by '|'; sync_file_range flags are WAIT_BEFORE,
// WRITE, WAIT_AFTER; fsync_range how is O_DSYNC, O_SYNC, O_NOCACHE. DATA is
// a "quoted string" (with \n, \t, \\, \", \xHH) or C*N (N copies of C).
// `ack` promises that PATH holds DATA from here on, or the data of a later
// ack of the same path; the script's checker verifies every promise made
// before the crash point. Each line is a crash point for --points syscalls; sync lines
// for --points syncs; `mark` lines for --points marked.
#ifndef HARNESS_WORKLOAD_SCRIPT_H_
#define HARNESS_WORKLOAD_SCRIPT_H_

#include <string>
#include <vector>

#include "harness/crash_explorer.h"

namespace vfs {

class WorkloadScript {
 public:
  enum class Points { kNone, kSyscalls, kSyncs, kMarked };

  // Parses a script. On error returns EINVAL and sets *error to
  // "LINE: what is wrong".
  static Result<WorkloadScript> Parse(const std::string& text, std::string* error);

  // The workload: runs every line; marks crash points as `points` says.
  Workload AsWorkload(Points points) const;
  // The checker: every acknowledged path holds the data of its last ack
  // before the crash, or of a later ack of the same path (a crash may keep
  // an update the script had not acknowledged yet).
  Checker AsChecker() const;
  // Calls that failed in the last run of the workload ("LINE: call: errno").
  std::vector<std::string> failures() const { return *failures_; }

  struct Line {
    int number = 0;
    std::string op;
    std::vector<std::string> args;
  };

 private:
  std::vector<Line> lines_;
  std::shared_ptr<std::vector<std::string>> failures_ = std::make_shared<std::vector<std::string>>();
};

}  // namespace vfs

#endif  // HARNESS_WORKLOAD_SCRIPT_H_
