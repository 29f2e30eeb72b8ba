# The api module's sources, shared by canaryd_core and the fuzz build (tests/fuzz).
set(CANARYD_API_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/decode.cc
  ${CMAKE_CURRENT_LIST_DIR}/duration.cc
  ${CMAKE_CURRENT_LIST_DIR}/encode.cc
  ${CMAKE_CURRENT_LIST_DIR}/field_error.cc
  ${CMAKE_CURRENT_LIST_DIR}/json.cc
  ${CMAKE_CURRENT_LIST_DIR}/lint.cc
  ${CMAKE_CURRENT_LIST_DIR}/types.cc
  ${CMAKE_CURRENT_LIST_DIR}/validate.cc)
