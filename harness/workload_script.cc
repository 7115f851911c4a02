#include "harness/workload_script.h"

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace vfs {
namespace {

struct OpSpec {
  const char* name;
  size_t min_args;
  size_t max_args;
  bool sync;  // a crash point for --points syncs
};

const OpSpec kOps[] = {
    {"open", 3, 4, false},        {"close", 1, 1, false},        {"write", 2, 2, false},
    {"pwrite", 3, 3, false},      {"ftruncate", 2, 2, false},    {"truncate", 2, 2, false},
    {"fsync", 1, 1, true},        {"fdatasync", 1, 1, true},     {"sync_file_range", 4, 4, true},
    {"fsync_range", 4, 4, true},  {"syncfs", 1, 1, true},        {"sync", 0, 0, true},
    {"fsync-dir", 1, 1, true},    {"mkdir", 1, 1, false},        {"rmdir", 1, 1, false},
    {"unlink", 1, 1, false},      {"rename", 2, 2, false},       {"link", 2, 2, false},
    {"symlink", 2, 2, false},     {"ack", 2, 2, false},          {"ack-absent", 1, 1, false},
    {"mark", 0, 0, false},
    // Rules X1-X4: ownership, mode, times, extended attributes, allocation
    // and unnamed files.
    {"chown", 3, 3, false},       {"chmod", 2, 2, false},        {"utimens", 3, 3, false},
    {"setxattr", 3, 3, false},    {"removexattr", 2, 2, false},  {"fallocate", 4, 4, false},
    {"tmpfile", 2, 2, false},     {"linkat", 2, 2, false},       {"ack-xattr", 3, 3, false},
};

// fallocate modes by name: 0, keep, punch (PUNCH_HOLE|KEEP_SIZE), zero,
// zero-keep; -1 for another word.
int FallocMode(const std::string& word) {
  if (word == "0") return 0;
  if (word == "keep") return kFallocKeepSize;
  if (word == "punch") return kFallocPunchHole | kFallocKeepSize;
  if (word == "zero") return kFallocZeroRange;
  if (word == "zero-keep") return kFallocZeroRange | kFallocKeepSize;
  return -1;
}

// The key an xattr promise is checked under: the path, a NUL, the name.
std::string XattrKey(const std::string& path, const std::string& name) {
  return path + std::string(1, '\0') + name;
}

const OpSpec* FindOp(std::string_view name) {
  for (const OpSpec& op : kOps) {
    if (name == op.name) return &op;
  }
  return nullptr;
}

// Splits a line into words; a "quoted string" is one word (kept quoted).
bool Tokenize(std::string_view line, std::vector<std::string>* out, std::string* error) {
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t') {
      ++i;
      continue;
    }
    if (line[i] == '#') break;
    size_t j = i;
    if (line[i] == '"') {
      ++j;
      while (j < line.size() && line[j] != '"') j += line[j] == '\\' ? 2 : 1;
      if (j >= line.size()) {
        *error = "unterminated string";
        return false;
      }
      ++j;
    } else {
      while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    }
    out->emplace_back(line.substr(i, j - i));
    i = j;
  }
  return true;
}

bool Data(const std::string& word, std::string* out, std::string* error) {
  if (word.size() >= 2 && word.front() == '"') {
    out->clear();
    for (size_t i = 1; i + 1 < word.size(); ++i) {
      if (word[i] != '\\') {
        *out += word[i];
        continue;
      }
      const char c = word[++i];
      if (c == 'n') *out += '\n';
      else if (c == 't') *out += '\t';
      else if (c == '0') *out += '\0';
      else if (c == 'x' && i + 2 < word.size()) {
        int v = 0;
        for (int k = 0; k < 2; ++k) {
          const char h = word[++i];
          v = v * 16 + (h >= '0' && h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
        }
        *out += static_cast<char>(v);
      } else {
        *out += c;
      }
    }
    return true;
  }
  const size_t star = word.find('*');
  uint64_t count = 0;
  if (star == 1 && absl::SimpleAtoi(word.substr(2), &count) && count <= (64u << 20)) {
    *out = std::string(count, word[0]);
    return true;
  }
  // \0*N: N zero bytes (what a punched or zeroed range reads as, rule X3).
  if (star == 2 && word.starts_with("\\0") && absl::SimpleAtoi(word.substr(3), &count) &&
      count <= (64u << 20)) {
    *out = std::string(count, '\0');
    return true;
  }
  *error = "data must be a \"quoted string\", C*N or \\0*N, got '" + word + "'";
  return false;
}

bool Number(const std::string& word, int64_t* out) { return absl::SimpleAtoi(word, out); }

int OpenFlags(const std::string& word, bool* ok) {
  static const std::map<std::string, int> kFlags = {
      {"O_RDONLY", O_RDONLY},     {"O_WRONLY", O_WRONLY},     {"O_RDWR", O_RDWR},
      {"O_CREAT", O_CREAT},       {"O_EXCL", O_EXCL},         {"O_TRUNC", O_TRUNC},
      {"O_APPEND", O_APPEND},     {"O_DIRECTORY", O_DIRECTORY}, {"O_NOFOLLOW", O_NOFOLLOW},
      {"O_SYNC", O_SYNC},         {"O_DSYNC", O_DSYNC},       {"O_NOCACHE", kFsyncRangeNoCache},
      {"WAIT_BEFORE", static_cast<int>(kSyncFileRangeWaitBefore)},
      {"WRITE", static_cast<int>(kSyncFileRangeWrite)},
      {"WAIT_AFTER", static_cast<int>(kSyncFileRangeWaitAfter)},
  };
  int flags = 0;
  *ok = true;
  for (absl::string_view part : absl::StrSplit(word, '|')) {
    if (part == "0") continue;
    auto it = kFlags.find(std::string(part));
    if (it == kFlags.end()) {
      *ok = false;
      return 0;
    }
    flags |= it->second;
  }
  return flags;
}

}  // namespace

Result<WorkloadScript> WorkloadScript::Parse(const std::string& text, std::string* error) {
  WorkloadScript script;
  int number = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++number;
    std::vector<std::string> words;
    std::string why;
    if (!Tokenize(std::string_view(raw.data(), raw.size()), &words, &why)) {
      *error = absl::StrCat(number, ": ", why);
      return Error(EINVAL);
    }
    if (words.empty()) continue;
    const OpSpec* op = FindOp(words[0]);
    if (op == nullptr) {
      *error = absl::StrCat(number, ": unknown call '", words[0], "'");
      return Error(EINVAL);
    }
    const size_t args = words.size() - 1;
    if (args < op->min_args || args > op->max_args) {
      *error = absl::StrCat(number, ": '", words[0], "' takes ", op->min_args,
                            op->min_args == op->max_args ? "" : absl::StrCat(" to ", op->max_args),
                            " argument(s), got ", args);
      return Error(EINVAL);
    }
    Line line{number, words[0], std::vector<std::string>(words.begin() + 1, words.end())};
    // Check data, numbers and flags now, so a script fails before it runs.
    auto bad = [&](const std::string& what) {
      *error = absl::StrCat(number, ": ", what);
      return Error(EINVAL);
    };
    std::string data;
    int64_t n = 0;
    bool flags_ok = true;
    const std::string& o = line.op;
    if (o == "write" || o == "ack") {
      if (!Data(line.args[1], &data, &why)) return bad(why);
    } else if (o == "pwrite") {
      if (!Number(line.args[1], &n)) return bad("bad offset '" + line.args[1] + "'");
      if (!Data(line.args[2], &data, &why)) return bad(why);
    } else if (o == "ftruncate" || o == "truncate") {
      if (!Number(line.args[1], &n)) return bad("bad length '" + line.args[1] + "'");
    } else if (o == "open") {
      OpenFlags(line.args[2], &flags_ok);
      if (!flags_ok) return bad("bad open flags '" + line.args[2] + "'");
      if (line.args.size() == 4 && !Number(line.args[3], &n)) return bad("bad mode '" + line.args[3] + "'");
    } else if (o == "chown") {
      if (!Number(line.args[1], &n) || !Number(line.args[2], &n)) return bad("bad uid or gid");
    } else if (o == "chmod") {
      if (!Number(line.args[1], &n)) return bad("bad mode '" + line.args[1] + "'");
    } else if (o == "utimens") {
      if (!Number(line.args[1], &n) || !Number(line.args[2], &n)) return bad("bad times");
    } else if (o == "setxattr" || o == "ack-xattr") {
      if (!Data(line.args[2], &data, &why)) return bad(why);
    } else if (o == "fallocate") {
      if (FallocMode(line.args[1]) < 0) return bad("bad fallocate mode '" + line.args[1] + "'");
      if (!Number(line.args[2], &n) || !Number(line.args[3], &n)) return bad("bad offset or length");
    } else if (o == "sync_file_range" || o == "fsync_range") {
      const bool range = o == "sync_file_range";
      OpenFlags(line.args[range ? 3 : 1], &flags_ok);
      if (!flags_ok) return bad("bad flags '" + line.args[range ? 3 : 1] + "'");
      if (!Number(line.args[range ? 1 : 2], &n) || !Number(line.args[range ? 2 : 3], &n)) {
        return bad("bad offset or length");
      }
    }
    script.lines_.push_back(std::move(line));
  }
  return script;
}

Workload WorkloadScript::AsWorkload(Points points) const {
  auto lines = lines_;
  auto failures = failures_;
  return [lines, failures, points](WorkloadContext& ctx) {
    failures->clear();
    Filesystem& fs = ctx.fs();
    absl::flat_hash_map<std::string, Fd> fds;
    for (const Line& line : lines) {
      const auto& a = line.args;
      const std::string& o = line.op;
      std::string data, unused;
      int64_t x = 0, y = 0;
      bool ok = true;
      Result<void> result;
      auto fd = [&](const std::string& name) {
        auto it = fds.find(name);
        return it == fds.end() ? Fd(-1) : it->second;
      };
      auto from = [](auto r) { return r.ok() ? Result<void>() : Result<void>(Error(r.error())); };
      if (o == "open") {
        if (a.size() == 4) Number(a[3], &x);
        auto opened = fs.Open(a[1], OpenFlags(a[2], &ok), a.size() == 4 ? static_cast<uint32_t>(x) : 0644);
        if (opened.ok()) fds[a[0]] = *opened;
        result = from(opened);
      } else if (o == "close") {
        result = fs.Close(fd(a[0]));
        fds.erase(a[0]);
      } else if (o == "write") {
        Data(a[1], &data, &unused);
        result = from(fs.Write(fd(a[0]), data.data(), data.size()));
      } else if (o == "pwrite") {
        Number(a[1], &x);
        Data(a[2], &data, &unused);
        result = from(fs.Pwrite(fd(a[0]), data.data(), data.size(), x));
      } else if (o == "ftruncate") {
        Number(a[1], &x);
        result = fs.Ftruncate(fd(a[0]), x);
      } else if (o == "truncate") {
        Number(a[1], &x);
        result = fs.Truncate(a[0], x);
      } else if (o == "fsync") {
        result = fs.Fsync(fd(a[0]));
      } else if (o == "fdatasync") {
        result = fs.Fdatasync(fd(a[0]));
      } else if (o == "sync_file_range") {
        Number(a[1], &x);
        Number(a[2], &y);
        result = fs.SyncFileRange(fd(a[0]), x, y, static_cast<unsigned>(OpenFlags(a[3], &ok)));
      } else if (o == "fsync_range") {
        Number(a[2], &x);
        Number(a[3], &y);
        result = fs.FsyncRange(fd(a[0]), OpenFlags(a[1], &ok), x, y);
      } else if (o == "syncfs") {
        result = fs.Syncfs(fd(a[0]));
      } else if (o == "sync") {
        fs.Sync();
      } else if (o == "fsync-dir") {
        auto dir = fs.Open(a[0], O_RDONLY | O_DIRECTORY);
        result = from(dir);
        if (dir.ok()) {
          result = fs.Fsync(*dir);
          (void)fs.Close(*dir);
        }
      } else if (o == "mkdir") {
        result = fs.Mkdir(a[0], 0755);
      } else if (o == "rmdir") {
        result = fs.Rmdir(a[0]);
      } else if (o == "unlink") {
        result = fs.Unlink(a[0]);
      } else if (o == "rename") {
        result = fs.Rename(a[0], a[1]);
      } else if (o == "link") {
        result = fs.Link(a[0], a[1]);
      } else if (o == "symlink") {
        result = fs.Symlink(a[0], a[1]);
      } else if (o == "chown") {
        Number(a[1], &x);
        Number(a[2], &y);
        result = fs.Chown(a[0], static_cast<uint32_t>(x), static_cast<uint32_t>(y));
      } else if (o == "chmod") {
        Number(a[1], &x);
        result = fs.Chmod(a[0], static_cast<uint32_t>(x));
      } else if (o == "utimens") {
        Number(a[1], &x);
        Number(a[2], &y);
        result = fs.Utimens(a[0], {Timespec{x, 0}, Timespec{y, 0}});
      } else if (o == "setxattr") {
        Data(a[2], &data, &unused);
        result = fs.SetXattr(a[0], a[1], data, 0);
      } else if (o == "removexattr") {
        result = fs.RemoveXattr(a[0], a[1]);
      } else if (o == "fallocate") {
        Number(a[2], &x);
        Number(a[3], &y);
        result = fs.Fallocate(fd(a[0]), FallocMode(a[1]), x, y);
      } else if (o == "tmpfile") {
        // tmpfile NAME DIR: an unnamed file in DIR (rule X4), as descriptor NAME.
        auto opened = fs.Open(a[1], O_TMPFILE | O_RDWR, 0644);
        if (opened.ok()) fds[a[0]] = *opened;
        result = from(opened);
      } else if (o == "linkat") {
        result = fs.LinkAt(fd(a[0]), "", kCwd, a[1], AT_EMPTY_PATH);
      } else if (o == "ack-xattr") {
        Data(a[2], &data, &unused);
        ctx.Ack(XattrKey(a[0], a[1]), data);
      } else if (o == "ack") {
        Data(a[1], &data, &unused);
        ctx.Ack(a[0], data);
      } else if (o == "ack-absent") {
        ctx.Ack(a[0], std::string("\0<absent>", 9));
      }
      if (!result.ok()) {
        failures->push_back(absl::StrCat(line.number, ": ", o, ": ", std::strerror(result.error())));
      }
      const bool is_sync = FindOp(o)->sync;
      const bool is_ack = o == "ack" || o == "ack-absent" || o == "ack-xattr";
      if ((points == Points::kSyscalls && !is_ack && o != "mark") ||
          (points == Points::kSyncs && is_sync) || (points == Points::kMarked && o == "mark")) {
        ctx.Mark();
      }
    }
  };
}

Checker WorkloadScript::AsChecker() const {
  // Every ack of the script, per path, in order.
  const std::string absent(std::string("\0<absent>", 9));
  std::map<std::string, std::vector<std::string>> promises;
  for (const Line& line : lines_) {
    std::string data, unused;
    if (line.op == "ack") {
      Data(line.args[1], &data, &unused);
      promises[line.args[0]].push_back(data);
    } else if (line.op == "ack-absent") {
      promises[line.args[0]].push_back(absent);
    } else if (line.op == "ack-xattr") {
      Data(line.args[2], &data, &unused);
      promises[XattrKey(line.args[0], line.args[1])].push_back(data);
    }
  }
  return [promises, absent](Filesystem& fs, const Acks& acks) -> std::string {
    std::map<std::string, size_t> made;  // acks of each path before the crash
    for (const Ack& ack : acks) ++made[ack.key];
    for (const auto& [path, count] : made) {
      const std::vector<std::string>& all = promises.at(path);
      // Acceptable: the last promise made, or any made after it.
      std::vector<std::string> allowed(all.begin() + static_cast<std::ptrdiff_t>(count - 1), all.end());
      if (const size_t nul = path.find('\0'); nul != std::string::npos) {
        // An extended attribute's promise (rule X2): its whole value.
        const std::string file = path.substr(0, nul);
        const std::string name = path.substr(nul + 1);
        auto value = fs.GetXattr(file, name);
        const std::string got = value.ok() ? *value : absent;
        if (std::find(allowed.begin(), allowed.end(), got) != allowed.end()) continue;
        return absl::StrCat(file, ": extended attribute ", name,
                            value.ok() ? absl::StrCat(" holds ", got.size(), " bytes, not the ",
                                                      all[count - 1].size(), " acknowledged")
                                       : " is missing, but it was acknowledged");
      }
      auto fd = fs.Open(path, O_RDONLY);
      std::string got = absent;
      if (fd.ok()) {
        got.clear();
        char buf[65536];
        for (;;) {
          auto n = fs.Read(*fd, buf, sizeof buf);
          if (!n.ok() || *n == 0) break;
          got.append(buf, *n);
        }
        (void)fs.Close(*fd);
      } else if (fd.error() != ENOENT) {
        return absl::StrCat(path, ": ", std::strerror(fd.error()));
      }
      if (std::find(allowed.begin(), allowed.end(), got) != allowed.end()) continue;
      if (got == absent) return absl::StrCat(path, " is missing, but its data was acknowledged");
      if (all[count - 1] == absent) return absl::StrCat(path, " exists, but its removal was acknowledged");
      return absl::StrCat(path, " holds ", got.size(), " bytes, not the ", all[count - 1].size(),
                          " acknowledged", got.empty() ? " (it is empty)" : "");
    }
    return "";
  };
}

}  // namespace vfs
