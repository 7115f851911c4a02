// The `fault` control command refuses rules that could never fire as the
// user meant (issue 17, finding 7): one_in=0, an empty path=, an empty
// kinds=. A refused rule adds nothing.
#include <string>

#include "gtest/gtest.h"
#include "tools/mount/mounted_fs.h"

namespace vfs {
namespace {

TEST(FaultArgs, EmptyOrZeroArgumentsAreRefusedAndAddNoRule) {
  std::string why;
  auto mounted = MountedFs::Open({}, &why);
  ASSERT_TRUE(mounted.ok()) << why;
  MountedFs& fs = **mounted;
  EXPECT_EQ(fs.Control("fault one_in=0"),
            "error: fault: one_in= takes 1 or more (one_in=1 fires at every match)");
  EXPECT_EQ(fs.Control("fault path="),
            "error: fault: path= takes an absolute path in the mount (path=/dir/file)");
  EXPECT_EQ(fs.Control("fault path=relative"),
            "error: fault: path= takes an absolute path in the mount (path=/dir/file)");
  EXPECT_EQ(fs.Control("fault kinds="), "error: fault: kinds= needs a kind (page,inode,... or all)");
  // The first rule that is added gets id 1: none of the above was added.
  const std::string added = fs.Control("fault one_in=1 seed=3");
  EXPECT_EQ(added.rfind("ok rule 1:", 0), 0u) << added;
}

}  // namespace
}  // namespace vfs
