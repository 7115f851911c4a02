# What `cmake --install` puts in a prefix, and the pieces an embedder's build
# finds there (README "Install", docs/embedding.md):
#
#   bin/vfs                          the tool
#   lib/libvfs.so.MAJOR              the C API, shared (only vfs_* exported)
#   lib/libvfs.a                     the C API, static
#   lib/libvfs_core.a, libvfs_memory.a, libvfs_fault.a, libvfs_harness.a,
#   lib/libvfs_disk.a, libvfs_sqlite.a
#                                    the C++ libraries, one per layer or store
#                                    (docs/architecture.md), and SQLite
#   include/vfs/...                  the public headers, by their include path
#                                    (include/vfs/vfs/filesystem.h), with
#                                    -I include/vfs: #include "vfs/filesystem.h"
#   lib/pkgconfig/vfs.pc             the C API for pkg-config
#   lib/cmake/vfs/                   find_package(vfs CONFIG): vfs::vfs (all of
#                                    the C++ library below the adapters),
#                                    vfs::core, vfs::memory, vfs::fault,
#                                    vfs::harness, vfs::disk, vfs::c,
#                                    vfs::c_static, vfs::sqlite
#   share/man/man1/vfs.1, vfs-*.1    generated from the tool's --help
#
# Headers go under include/vfs/ rather than include/ so that the source
# tree's top-level folders (vfs/, backends/, harness/, adapters/) do not land
# in /usr/include as generic names.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(VFS_HOMEPAGE "https://example.invalid/vfs" CACHE STRING "Homepage recorded in vfs.pc and the .deb")
set(VFS_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/vfs)
set(VFS_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/vfs)

# --- Libraries ---------------------------------------------------------------

# The static libraries are linked into libvfs.so, so they are position
# independent. The C++ core's archive is libvfs_core.a: libvfs.{a,so} is the
# C API, as `-lvfs` means in every C library. vfs::vfs is an interface target
# that brings the core, the memory and fault stores and the harness.
set_target_properties(vfs PROPERTIES EXPORT_NAME vfs)
foreach(layer core memory fault harness disk)
  set_target_properties(vfs_${layer} PROPERTIES EXPORT_NAME ${layer} POSITION_INDEPENDENT_CODE ON)
endforeach()
target_include_directories(vfs_disk PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
                                           $<INSTALL_INTERFACE:${VFS_INSTALL_INCLUDEDIR}>)
set_target_properties(vfs_c PROPERTIES OUTPUT_NAME vfs EXPORT_NAME c_static)
target_include_directories(vfs_c PUBLIC $<INSTALL_INTERFACE:${VFS_INSTALL_INCLUDEDIR}>)
set(VFS_EXPORTED_TARGETS vfs vfs_core vfs_memory vfs_fault vfs_harness vfs_disk vfs_c vfs_c_shared)
set(VFS_HAS_SQLITE OFF)
if(TARGET vfs_sqlite)
  set(VFS_HAS_SQLITE ON)
  set_target_properties(vfs_sqlite PROPERTIES EXPORT_NAME sqlite)
  target_include_directories(vfs_sqlite PUBLIC $<INSTALL_INTERFACE:${VFS_INSTALL_INCLUDEDIR}>)
  list(APPEND VFS_EXPORTED_TARGETS vfs_sqlite)
endif()

# The C API as a shared library with a versioned ABI: SONAME libvfs.so.MAJOR,
# file libvfs.so.MAJOR.MINOR.PATCH. The version script (cmake/libvfs.map)
# exports vfs_* only; the C++ core and the disk store are linked in whole,
# Abseil and the C++ runtime from their own shared libraries.
add_library(vfs_c_shared SHARED ${PROJECT_SOURCE_DIR}/adapters/capi/vfs.cc)
set_target_properties(vfs_c_shared PROPERTIES
  OUTPUT_NAME vfs EXPORT_NAME c
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/libvfs.map)
target_link_libraries(vfs_c_shared PRIVATE vfs_core vfs_memory vfs_disk)
target_link_options(vfs_c_shared PRIVATE "LINKER:--version-script=${PROJECT_SOURCE_DIR}/cmake/libvfs.map")
if(NOT VFS_SANITIZE)
  # Every symbol resolved at link time. Not under sanitizers: clang links
  # their runtime into executables only, so a shared library has undefined
  # __asan_* / __tsan_* references by design.
  target_link_options(vfs_c_shared PRIVATE "LINKER:--no-undefined")
endif()
target_include_directories(vfs_c_shared PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/adapters/capi/include>
                                               $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
                                               $<INSTALL_INTERFACE:${VFS_INSTALL_INCLUDEDIR}>)

# --- Public headers ----------------------------------------------------------

# The headers an embedder includes, and everything they include from this
# tree (found by following their #include "..." lines), and nothing else.
# CMake re-runs when one of them changes, so a new include is installed too.
# Each is named by its include path and found under the source tree or the
# C API's include folder (adapters/capi/include/vfs/vfs.h is "vfs/vfs.h").
set(VFS_HEADER_ROOTS ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/adapters/capi/include)
set(VFS_PUBLIC_HEADERS
  vfs/version.h
  vfs/vfs.h
  vfs/filesystem.h
  backends/memory/memory_store.h
  backends/disk/disk_store.h
  backends/fault/fault_store.h
  harness/crash_explorer.h
  harness/workload_script.h)
if(VFS_HAS_SQLITE)
  list(APPEND VFS_PUBLIC_HEADERS adapters/sqlite/sqlite_vfs.h)
endif()

# Sets ${out} to the file an include path names, or "" if none of the roots
# holds it.
function(vfs_find_header out header)
  set(${out} "" PARENT_SCOPE)
  foreach(root ${VFS_HEADER_ROOTS})
    if(EXISTS ${root}/${header})
      set(${out} ${root}/${header} PARENT_SCOPE)
      return()
    endif()
  endforeach()
endfunction()

function(vfs_header_closure out)
  set(queue ${ARGN})
  set(seen "")
  while(queue)
    list(POP_FRONT queue header)
    if(header IN_LIST seen)
      continue()
    endif()
    vfs_find_header(file ${header})
    if(NOT file)
      message(FATAL_ERROR "install: public header ${header} does not exist (cmake/VfsInstall.cmake)")
    endif()
    list(APPEND seen ${header})
    file(STRINGS ${file} lines REGEX "^#[ \t]*include[ \t]+\"[^\"]+\"")
    foreach(line ${lines})
      string(REGEX REPLACE "^#[ \t]*include[ \t]+\"([^\"]+)\".*" "\\1" included "${line}")
      # Only this tree's headers; "absl/..." and the like come from their packages.
      vfs_find_header(included_file ${included})
      if(included_file)
        list(APPEND queue ${included})
      endif()
    endforeach()
  endwhile()
  list(SORT seen)
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

vfs_header_closure(VFS_INSTALLED_HEADERS ${VFS_PUBLIC_HEADERS})
foreach(header ${VFS_INSTALLED_HEADERS})
  vfs_find_header(file ${header})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  get_filename_component(dir ${header} DIRECTORY)
  install(FILES ${file} DESTINATION ${VFS_INSTALL_INCLUDEDIR}/${dir})
endforeach()

# --- Install -----------------------------------------------------------------

install(TARGETS vfs_tool RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ${VFS_EXPORTED_TARGETS} EXPORT vfsTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${VFS_INSTALL_INCLUDEDIR})
install(EXPORT vfsTargets NAMESPACE vfs:: FILE vfsTargets.cmake DESTINATION ${VFS_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/vfsConfig.cmake.in
  ${PROJECT_BINARY_DIR}/vfsConfig.cmake INSTALL_DESTINATION ${VFS_INSTALL_CMAKEDIR})
# 0.x: a new MINOR may break the ABI as a new MAJOR would later; the SONAME
# and this check both follow MAJOR once it is 1 or more.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/vfsConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/vfsConfig.cmake ${PROJECT_BINARY_DIR}/vfsConfigVersion.cmake
  DESTINATION ${VFS_INSTALL_CMAKEDIR})
# vfs.pc names the prefix it is installed in (`cmake --install --prefix P`,
# or /usr in the .deb), so it is written at install time.
install(CODE "
  set(VFS_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(VFS_HOMEPAGE \"${VFS_HOMEPAGE}\")
  configure_file(\"${PROJECT_SOURCE_DIR}/cmake/vfs.pc.in\" \"${PROJECT_BINARY_DIR}/pkgconfig/vfs.pc\" @ONLY)")
install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/vfs.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# --- The man page ------------------------------------------------------------

include(${CMAKE_CURRENT_LIST_DIR}/VfsManPage.cmake)

# --- Tests of all this, and the .deb -----------------------------------------

if(VFS_BUILD_TESTS)
  add_subdirectory(${PROJECT_SOURCE_DIR}/tests/install ${PROJECT_BINARY_DIR}/tests_install)
endif()
include(${CMAKE_CURRENT_LIST_DIR}/VfsPackage.cmake)
