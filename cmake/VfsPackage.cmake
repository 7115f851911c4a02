# The Debian package (CPack's DEB generator): `cpack -G DEB` in the build
# directory, or scripts/package-test.sh, which also installs and tries it.
#
# One package, `vfs`, holding everything `cmake --install` installs: the
# tool, the shared and static libraries, the headers, the CMake and
# pkg-config files and the man pages, under /usr. Its Depends are the
# Debian packages the README's "Dependencies" lists for what it holds:
# Abseil and Boost (the C++ headers include them and the libraries link
# Abseil), SQLite (vfs::sqlite), FUSE 3 (the tool's `vfs mount`).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vfs)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "vfs maintainers <vfs@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "in-memory filesystem with real durability semantics")
set(CPACK_PACKAGE_DESCRIPTION
    "A C++20 library, a C API (libvfs.so) and the vfs tool: an in-memory filesystem whose fsync, fdatasync, sync_file_range and O_SYNC commit exactly the dirty state to a store, with power cuts, crash-state exploration and sync benchmarks.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # executables and the shared library only: archives keep their symbols
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # vfs_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE ${VFS_HOMEPAGE})
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libabsl-dev, libboost-dev, libsqlite3-dev, fuse3, libfuse3-dev, liburing-dev")
# The shared library's shlibs file and the ldconfig trigger.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# The static archives without their debug sections (as Debian's -dev
# packages ship them): 40 MB less. The tool and libvfs.so are stripped by
# CPACK_STRIP_FILES.
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/CPackStripArchives.cmake)
# Only what `cmake --install` installs; not the source or the build tree.
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
