/* version.h: the version of the vfs library and tool.
 *
 * The one place the version is written: CMakeLists.txt reads it from here
 * (project() VERSION, the shared library's SONAME libvfs.so.MAJOR, vfs.pc,
 * the CMake package, the .deb), and `vfs --version` prints it. Plain C, so
 * both the C API and C++ embedders can test it at compile time:
 *
 *   #if VFS_VERSION_NUMBER < 100   // older than 0.1.0
 *
 * The C API's vfs_version() returns the string of the library actually
 * loaded, which may be newer than the header a program was built with.
 *
 * MAJOR changes when the C ABI breaks (the SONAME follows it); MINOR when
 * calls are added; PATCH for fixes.
 */
#ifndef VFS_VERSION_H_
#define VFS_VERSION_H_

#define VFS_VERSION_MAJOR 0
#define VFS_VERSION_MINOR 1
#define VFS_VERSION_PATCH 0
#define VFS_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH. */
#define VFS_VERSION_NUMBER \
  (VFS_VERSION_MAJOR * 10000 + VFS_VERSION_MINOR * 100 + VFS_VERSION_PATCH)

#endif /* VFS_VERSION_H_ */
