# Compiles the proto with stock protoc for C++, Python and Java; fails on any error.
find_program(PROTOC protoc REQUIRED)
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
get_filename_component(DIR ${PROTO} DIRECTORY)
execute_process(COMMAND ${PROTOC} -I${DIR} --cpp_out=${OUT} --python_out=${OUT} --java_out=${OUT}
                        ${PROTO} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "stock protoc failed on ${PROTO}: ${err}")
endif()
if(NOT EXISTS ${OUT}/floorwalker_pb2.py OR NOT EXISTS ${OUT}/floorwalker.pb.cc)
  message(FATAL_ERROR "stock protoc produced no output for ${PROTO}")
endif()
message(STATUS "stock protoc: C++, Python and Java generated")
