// The layers of docs/architecture.md, checked on the source tree: every
// source file has a layer, found from its folder; no #include and no CMake
// link runs from a layer to one above it; and the stores, and the adapters,
// do not use each other.
//
//   1 core      vfs/ (with the Store interface, vfs/store.h)
//   2 stores    backends/memory/, backends/fault/, backends/disk/
//   3 harness   harness/
//   4 adapters  adapters/capi/, adapters/sqlite/, tools/ (CLI, FUSE mount)
//     and front ends
//   5 checks    tests/, bench/, fuzz/, examples/: may use every layer; no
//     and examples  layer uses them
//
// The links are read from layer_links.txt, which the configure step writes
// (cmake/VfsLayers.cmake); a library's layer is that of its sources.
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace vfs::testing {
namespace {

namespace fs = std::filesystem;

struct Component {
  std::string_view folder;  // relative to the source tree, ending in '/'
  int layer;
};

// Keep in step with docs/architecture.md "Layers".
constexpr Component kComponents[] = {
    {"vfs/", 1},
    {"backends/memory/", 2},
    {"backends/fault/", 2},
    {"backends/disk/", 2},
    {"harness/", 3},
    {"adapters/capi/", 4},
    {"adapters/sqlite/", 4},
    {"tools/", 4},
    {"tests/", 5},
    {"bench/", 5},
    {"fuzz/", 5},
    {"examples/", 5},
};
constexpr int kChecksLayer = 5;

// Where "..." and <...> names of this tree are looked up, in order: the
// source tree, then the C API's include folder ("vfs/vfs.h" is
// adapters/capi/include/vfs/vfs.h, in the tree as when installed).
constexpr std::string_view kIncludeRoots[] = {"", "adapters/capi/include/"};

// The interface target `vfs` (vfs::vfs) has no sources: it bundles the
// layers up to the harness, so it counts as the harness.
constexpr std::pair<std::string_view, std::string_view> kTargetsWithoutSources[] = {
    {"vfs", "harness/"},
};

const Component* ComponentOf(std::string_view path) {
  for (const Component& c : kComponents) {
    if (path.substr(0, c.folder.size()) == c.folder) return &c;
  }
  return nullptr;
}

// Whether a file of `from` may use (include, link to) one of `to`: a lower
// layer, its own component, or anything from the checks and examples.
bool MayUse(const Component& from, const Component& to) {
  return to.layer < from.layer || to.folder == from.folder || from.layer == kChecksLayer;
}

std::string Describe(const Component& c) {
  return std::string(c.folder) + " (layer " + std::to_string(c.layer) + ")";
}

fs::path SourceRoot() { return fs::path(VFS_SOURCE_DIR); }

bool IsSourceFile(const fs::path& p) {
  static const std::set<std::string> kExtensions = {".h", ".hpp", ".c", ".cc", ".cpp"};
  return kExtensions.count(p.extension().string()) > 0;
}

// Every C and C++ file of the tree, relative to it, except build
// directories (build*) and hidden ones (.git, .ci).
std::vector<std::string> SourceFiles() {
  std::vector<std::string> files;
  const fs::path root = SourceRoot();
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && (name.rfind("build", 0) == 0 || name.rfind(".", 0) == 0)) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && IsSourceFile(it->path())) {
      files.push_back(fs::relative(it->path(), root).generic_string());
    }
  }
  return files;
}

// The tree's file an include names, relative to the tree, or nothing for a
// system or third-party header.
std::optional<std::string> Resolve(const std::string& includer, const std::string& name) {
  const fs::path root = SourceRoot();
  std::vector<fs::path> candidates;
  for (std::string_view r : kIncludeRoots) candidates.push_back(root / r / name);
  candidates.push_back(root / fs::path(includer).parent_path() / name);
  for (const fs::path& p : candidates) {
    if (fs::is_regular_file(p)) {
      return fs::relative(fs::weakly_canonical(p), fs::weakly_canonical(root)).generic_string();
    }
  }
  return std::nullopt;
}

struct Include {
  std::string file;
  int line;
  std::string name;
  std::string target;  // the resolved file, relative to the tree
};

std::vector<Include> TreeIncludes(const std::vector<std::string>& files) {
  static const std::regex kInclude(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
  std::vector<Include> out;
  for (const std::string& file : files) {
    std::ifstream in(SourceRoot() / file);
    std::string text;
    int line = 0;
    while (std::getline(in, text)) {
      ++line;
      std::smatch m;
      if (!std::regex_search(text, m, kInclude)) continue;
      if (auto target = Resolve(file, m[1].str())) out.push_back({file, line, m[1].str(), *target});
    }
  }
  return out;
}

TEST(Layers, EverySourceFileHasALayerFromItsFolder) {
  const std::vector<std::string> files = SourceFiles();
  ASSERT_GT(files.size(), 100u) << "scanned " << SourceRoot();
  for (const std::string& file : files) {
    EXPECT_NE(ComponentOf(file), nullptr)
        << file << ": its folder has no layer; add it to kComponents in tests/layers_test.cc "
        << "and to docs/architecture.md";
  }
}

TEST(Layers, UsingAHigherLayerOrAnotherStoreIsRefused) {
  const Component* core = ComponentOf("vfs/filesystem.h");
  const Component* memory = ComponentOf("backends/memory/memory_store.h");
  const Component* disk = ComponentOf("backends/disk/disk_store.h");
  const Component* capi = ComponentOf("adapters/capi/include/vfs/vfs.h");
  const Component* tool = ComponentOf("tools/vfs.cc");
  const Component* test = ComponentOf("tests/vfs/io_test.cc");
  ASSERT_TRUE(core && memory && disk && capi && tool && test);
  EXPECT_FALSE(MayUse(*core, *memory));
  EXPECT_FALSE(MayUse(*disk, *memory));
  EXPECT_FALSE(MayUse(*core, *capi));
  EXPECT_FALSE(MayUse(*capi, *tool));
  EXPECT_FALSE(MayUse(*core, *test));
  EXPECT_TRUE(MayUse(*memory, *core));
  EXPECT_TRUE(MayUse(*capi, *disk));
  EXPECT_TRUE(MayUse(*test, *tool));
}

TEST(Layers, NoIncludeRunsUpward) {
  const std::vector<Include> includes = TreeIncludes(SourceFiles());
  // The scan finds the includes it is meant to judge.
  ASSERT_GT(includes.size(), 200u);
  bool saw_store = false;
  for (const Include& inc : includes) {
    saw_store |= inc.file == "vfs/filesystem.h" && inc.target == "vfs/store.h";
    const Component* from = ComponentOf(inc.file);
    const Component* to = ComponentOf(inc.target);
    if (from == nullptr || to == nullptr) continue;  // EverySourceFileHasALayer...
    EXPECT_TRUE(MayUse(*from, *to))
        << inc.file << ":" << inc.line << ": #include \"" << inc.name << "\" runs from "
        << Describe(*from) << " to " << Describe(*to);
  }
  EXPECT_TRUE(saw_store) << "vfs/filesystem.h's include of vfs/store.h was not found";
}

struct Target {
  std::string type;
  std::vector<std::string> sources;
  std::vector<std::string> linked;
};

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ';')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::map<std::string, Target> ReadTargets() {
  std::map<std::string, Target> targets;
  std::ifstream in(VFS_LAYER_LINKS_FILE);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream fields_in(line);
    std::string field;
    while (std::getline(fields_in, field, '|')) fields.push_back(field);
    fields.resize(4);
    targets[fields[0]] = {fields[1], SplitList(fields[2]), SplitList(fields[3])};
  }
  return targets;
}

// The component of a target: that of its sources in this tree, which must
// all be in one component.
const Component* ComponentOfTarget(const std::string& name, const Target& t, std::string* error) {
  for (const auto& [target, folder] : kTargetsWithoutSources) {
    if (target == name) return ComponentOf(folder);
  }
  const Component* found = nullptr;
  for (const std::string& source : t.sources) {
    if (source.rfind("..", 0) == 0) continue;  // generated in the build tree
    const Component* c = ComponentOf(source);
    if (c == nullptr) {
      *error = source + " has no layer";
      return nullptr;
    }
    if (found != nullptr && found != c) {
      *error = "its sources are in " + std::string(found->folder) + " and " +
               std::string(c->folder) + ": one library per component";
      return nullptr;
    }
    found = c;
  }
  if (found == nullptr) *error = "no source in the tree; name its layer in kTargetsWithoutSources";
  return found;
}

TEST(Layers, NoLibraryLinksUpward) {
  const std::map<std::string, Target> targets = ReadTargets();
  ASSERT_TRUE(targets.count("vfs_core") && targets.count("vfs_tool"))
      << "no targets read from " << VFS_LAYER_LINKS_FILE;
  std::map<std::string, const Component*> component;
  for (const auto& [name, t] : targets) {
    std::string error;
    component[name] = ComponentOfTarget(name, t, &error);
    EXPECT_NE(component[name], nullptr) << "target " << name << ": " << error;
  }
  int checked = 0;
  for (const auto& [name, t] : targets) {
    const Component* from = component[name];
    if (from == nullptr) continue;
    for (const std::string& linked : t.linked) {
      auto it = component.find(linked);
      if (it == component.end() || it->second == nullptr) continue;  // not this project's
      ++checked;
      EXPECT_TRUE(MayUse(*from, *it->second))
          << "target " << name << " in " << Describe(*from) << " links " << linked << " in "
          << Describe(*it->second);
    }
  }
  EXPECT_GT(checked, 20);
}

TEST(Layers, EachLayerBelowTheAdaptersHasItsOwnLibrary) {
  const std::map<std::string, Target> targets = ReadTargets();
  std::set<std::string_view> with_library;
  for (const auto& [name, t] : targets) {
    if (t.type.find("LIBRARY") == std::string::npos) continue;
    std::string error;
    if (const Component* c = ComponentOfTarget(name, t, &error)) with_library.insert(c->folder);
  }
  for (const Component& c : kComponents) {
    if (c.layer >= 4) continue;
    EXPECT_TRUE(with_library.count(c.folder)) << c.folder << " has no library";
  }
}

}  // namespace
}  // namespace vfs::testing
