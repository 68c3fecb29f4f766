# Renders every man page in DIR (*.1, *.5, *.8) and fails on any warning or a non-zero exit.
#   cmake -DDIR=<dir with the pages> -P render-check.cmake
# Each page goes through `groff -man -Tutf8 -ww -z` (every groff warning) and, when man-db is
# installed, `man -l --warnings -E UTF-8 -P cat` (as a reader sees it). Prints
# "man.render: skipped" (the test's SKIP_REGULAR_EXPRESSION) when neither is installed.
cmake_minimum_required(VERSION 3.18)
if(NOT DIR)
  message(FATAL_ERROR "man.render: give -DDIR=<directory of the man pages>")
endif()
file(GLOB pages "${DIR}/*.1" "${DIR}/*.5" "${DIR}/*.8")
list(SORT pages)
if(NOT pages)
  message(FATAL_ERROR "man.render: no man pages (*.1, *.5, *.8) in ${DIR}")
endif()

find_program(GROFF groff)
find_program(MAN man)
if(NOT GROFF AND NOT MAN)
  message("man.render: skipped: neither groff nor man is installed (Debian: groff-base, man-db)")
  return()
endif()

# A fixed locale and width, so the result does not depend on who runs the test.
set(env ${CMAKE_COMMAND} -E env --unset=MANPAGER --unset=PAGER --unset=MANOPT
        --unset=MANROFFOPT LC_ALL=C.UTF-8 LANG=C.UTF-8 MANWIDTH=80)
set(failed 0)
foreach(page IN LISTS pages)
  get_filename_component(name "${page}" NAME)
  set(runs "")
  if(GROFF)
    list(APPEND runs groff)
  endif()
  if(MAN)
    list(APPEND runs man)
  endif()
  foreach(how IN LISTS runs)
    if(how STREQUAL "groff")
      execute_process(COMMAND ${env} ${GROFF} -man -Tutf8 -ww -z "${page}"
                      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
      set(text "x") # -z: no output to check
    else()
      execute_process(COMMAND ${env} ${MAN} -l --warnings -E UTF-8 -P cat "${page}"
                      RESULT_VARIABLE rc OUTPUT_VARIABLE text ERROR_VARIABLE err)
      set(out "")
    endif()
    string(STRIP "${out}${err}" problems)
    if(NOT rc EQUAL 0 OR NOT problems STREQUAL "" OR text STREQUAL "")
      message("man.render: ${name} (${how}): exit ${rc}\n${problems}")
      set(failed 1)
    else()
      message("man.render: ${name} (${how}): clean")
    endif()
  endforeach()
endforeach()
if(failed)
  message(FATAL_ERROR "man.render: some pages render with warnings or errors (above)")
endif()
