// Text helpers for the bench tool, on std::string_view.
//
// Debian's Abseil has its own absl::string_view, which std::string_view does
// not convert to, so the tool does its string building here rather than with
// absl::StrCat / StrSplit.
//
// Thread-safety: pure functions.
#ifndef TOOLS_BENCH_TEXT_H_
#define TOOLS_BENCH_TEXT_H_

#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace vfs::bench {

// The arguments printed one after another, as by operator<<.
template <typename... Args>
std::string Cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

// `text` cut at every `sep` (an empty text gives one empty piece).
inline std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t at = text.find(sep, start);
    if (at == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

inline std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

// Without leading and trailing spaces, tabs and carriage returns.
inline std::string_view Trim(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

inline std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace vfs::bench

#endif  // TOOLS_BENCH_TEXT_H_
