// ProgressLine: the one-line progress report `vfs crash` prints on stderr
// while it explores crash points (scripts and --run alike): crash points
// done, states checked, states per second and failures, rewritten at most
// once a second and only for runs longer than a second.
//
//   ProgressLine progress;
//   explorer.set_progress(progress.Callback());
//   auto report = explorer.Run(...);
//   progress.End();  // ends the line if one was printed
//
// Not thread-safe: the explorer calls its progress callback from one thread.
#ifndef TOOLS_PROGRESS_LINE_H_
#define TOOLS_PROGRESS_LINE_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>

namespace vfs {

class ProgressLine {
 public:
  ProgressLine() : start_(std::chrono::steady_clock::now()), last_(start_) {}

  // The callback to hand to CrashExplorer::set_progress. The ProgressLine
  // must outlive the exploration.
  std::function<void(uint64_t, uint64_t, uint64_t, uint64_t)> Callback() {
    return [this](uint64_t done, uint64_t total, uint64_t states, uint64_t failures) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_ < std::chrono::seconds(1) && done != total) return;
      const double seconds = std::chrono::duration<double>(now - start_).count();
      if (seconds < 1.0) return;
      last_ = now;
      printed_ = true;
      std::fprintf(stderr, "\rpoint %llu/%llu, %llu states (%.0f/s), %llu failure(s)   ",
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                   static_cast<unsigned long long>(states), states / seconds,
                   static_cast<unsigned long long>(failures));
    };
  }

  // Seconds since the ProgressLine was made (the exploration's time).
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  // Ends the line, if one was printed, so what follows starts on its own.
  void End() {
    if (printed_) std::fprintf(stderr, "\n");
    printed_ = false;
  }

 private:
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
  bool printed_ = false;
};

}  // namespace vfs

#endif  // TOOLS_PROGRESS_LINE_H_
