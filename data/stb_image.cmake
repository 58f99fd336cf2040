# stb_image with data/stb_image_fixes.patch applied: copies Debian's stb/stb_image.h (2.27) to
# <build>/stb_fixed/stb_image_fixed.h with the patch at configure time (reconfigured when either
# changes), and puts that directory on data/stb_impl.cpp's include path. Included by the main
# CMakeLists.txt and by fuzz/CMakeLists.txt, in the directory that compiles data/stb_impl.cpp.
find_path(SR_STB_INCLUDE_DIR stb/stb_image.h REQUIRED)
find_program(SR_PATCH_PROGRAM patch REQUIRED)
set(SR_STB_FIXED_DIR ${CMAKE_BINARY_DIR}/stb_fixed)
set(_sr_stb_src ${SR_STB_INCLUDE_DIR}/stb/stb_image.h)
set(_sr_stb_patch ${CMAKE_CURRENT_LIST_DIR}/stb_image_fixes.patch)
file(MAKE_DIRECTORY ${SR_STB_FIXED_DIR})
file(REMOVE ${SR_STB_FIXED_DIR}/stb_image_fixed.h.new ${SR_STB_FIXED_DIR}/stb_image_fixed.h.new.rej)
execute_process(
  COMMAND ${SR_PATCH_PROGRAM} --quiet --fuzz=0 --forward
          -o ${SR_STB_FIXED_DIR}/stb_image_fixed.h.new ${_sr_stb_src} ${_sr_stb_patch}
  RESULT_VARIABLE _sr_stb_rc OUTPUT_VARIABLE _sr_stb_out ERROR_VARIABLE _sr_stb_out)
if(NOT _sr_stb_rc EQUAL 0)
  message(FATAL_ERROR "data/stb_image_fixes.patch does not apply to ${_sr_stb_src} (it is made "
                      "for stb_image 2.27, Debian 12's libstb-dev): ${_sr_stb_out}")
endif()
configure_file(${SR_STB_FIXED_DIR}/stb_image_fixed.h.new ${SR_STB_FIXED_DIR}/stb_image_fixed.h
               COPYONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_sr_stb_src} ${_sr_stb_patch})
# stb_image_resize (also compiled in stb_impl.cpp) rounds float sums to bytes: with FMA
# contraction (any -march with FMA) those bytes depend on the instruction set and the compiler's
# vectoriser, so fashion-seg canvases and resized image folders would differ between machines
# (and a run could not resume on another). Without contraction they equal the plain x86-64
# build's on every machine.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/stb_impl.cpp PROPERTIES
                            INCLUDE_DIRECTORIES ${SR_STB_FIXED_DIR}
                            COMPILE_OPTIONS -ffp-contract=off)
