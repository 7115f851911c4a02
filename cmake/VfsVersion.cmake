# Reads the version from vfs/version.h, the one place it is written, into
# VFS_VERSION ("0.1.0") and VFS_VERSION_MAJOR/MINOR/PATCH. Included before
# project(), which takes VFS_VERSION.
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/../vfs/version.h _vfs_version_lines
     REGEX "^#define VFS_VERSION_(MAJOR|MINOR|PATCH) [0-9]+$")
foreach(_part MAJOR MINOR PATCH)
  set(VFS_VERSION_${_part} "")
  foreach(_line ${_vfs_version_lines})
    if(_line MATCHES "^#define VFS_VERSION_${_part} ([0-9]+)$")
      set(VFS_VERSION_${_part} ${CMAKE_MATCH_1})
    endif()
  endforeach()
  if(VFS_VERSION_${_part} STREQUAL "")
    message(FATAL_ERROR "vfs/version.h: no VFS_VERSION_${_part} line")
  endif()
endforeach()
set(VFS_VERSION "${VFS_VERSION_MAJOR}.${VFS_VERSION_MINOR}.${VFS_VERSION_PATCH}")
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/../vfs/version.h _vfs_version_string
     REGEX "^#define VFS_VERSION_STRING ")
if(NOT _vfs_version_string MATCHES "\"${VFS_VERSION}\"")
  message(FATAL_ERROR "vfs/version.h: VFS_VERSION_STRING is not \"${VFS_VERSION}\"")
endif()
