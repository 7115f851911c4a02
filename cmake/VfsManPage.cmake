# The man pages vfs(1) and vfs-SUBCOMMAND(1), generated at build time from
# the built tool's own --help output (cmake/GenerateManPage.cmake), so the
# page and the help cannot drift: change the help text and the next build
# rewrites the page. Installed in share/man/man1.
set(VFS_MAN_DIR ${PROJECT_BINARY_DIR}/man)
add_custom_command(
  OUTPUT ${VFS_MAN_DIR}/vfs.1
  COMMAND ${CMAKE_COMMAND} -DVFS_TOOL=$<TARGET_FILE:vfs_tool> -DOUT_DIR=${VFS_MAN_DIR}
          -DVFS_VERSION=${PROJECT_VERSION} -P ${PROJECT_SOURCE_DIR}/cmake/GenerateManPage.cmake
  DEPENDS vfs_tool ${PROJECT_SOURCE_DIR}/cmake/GenerateManPage.cmake
  COMMENT "Generating the vfs man pages from vfs --help"
  VERBATIM)
add_custom_target(vfs_man ALL DEPENDS ${VFS_MAN_DIR}/vfs.1)
# Every page the generator wrote (vfs.1 and one per subcommand): the list is
# only known after the build, hence a directory install with a pattern.
install(DIRECTORY ${VFS_MAN_DIR}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 FILES_MATCHING PATTERN "*.1")
