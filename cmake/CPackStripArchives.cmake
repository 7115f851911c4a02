# CPack pre-build script (cmake/VfsPackage.cmake): strips the debug sections
# from the static archives in the staging tree before the .deb is made. The
# archives keep their symbol tables, so they still link.
file(GLOB_RECURSE archives "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*.a")
foreach(archive ${archives})
  execute_process(COMMAND strip --strip-debug "${archive}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "strip --strip-debug ${archive} failed")
  endif()
endforeach()
