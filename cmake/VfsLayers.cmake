# Writes every target of the build with its sources and the libraries it
# links to ${PROJECT_BINARY_DIR}/layer_links.txt, for tests/layers_test.cc,
# which checks that no library links to a layer above its own
# (docs/architecture.md "Layers"). Included last, when every target exists.
#
# One line per target, fields separated by "|":
#   name|type|source;source...|linked;linked...
# Sources relative to the source tree; the linked items as CMake holds them
# (other targets, imported targets such as absl::strings, flags).

function(vfs_collect_targets dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(subdir ${subdirs})
    vfs_collect_targets(${subdir} sub_targets)
    list(APPEND targets ${sub_targets})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

vfs_collect_targets(${PROJECT_SOURCE_DIR} vfs_all_targets)
set(vfs_layer_lines "")
foreach(target ${vfs_all_targets})
  get_target_property(type ${target} TYPE)
  if(NOT type MATCHES "^(STATIC_LIBRARY|SHARED_LIBRARY|MODULE_LIBRARY|OBJECT_LIBRARY|INTERFACE_LIBRARY|EXECUTABLE)$")
    continue()
  endif()
  get_target_property(target_dir ${target} SOURCE_DIR)
  get_target_property(sources ${target} SOURCES)
  set(relative_sources "")
  if(sources)
    foreach(source ${sources})
      if(NOT IS_ABSOLUTE ${source})
        set(source ${target_dir}/${source})
      endif()
      file(RELATIVE_PATH source ${PROJECT_SOURCE_DIR} ${source})
      list(APPEND relative_sources ${source})
    endforeach()
  endif()
  if(type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(linked ${target} INTERFACE_LINK_LIBRARIES)
  else()
    get_target_property(linked ${target} LINK_LIBRARIES)
  endif()
  if(NOT linked)
    set(linked "")
  endif()
  string(APPEND vfs_layer_lines "${target}|${type}|${relative_sources}|${linked}\n")
endforeach()
file(WRITE ${PROJECT_BINARY_DIR}/layer_links.txt "${vfs_layer_lines}")
