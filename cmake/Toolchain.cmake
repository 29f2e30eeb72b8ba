# Compiler settings shared by every target: warnings as errors, ccache when
# present, and the optional sanitizers.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
endif()

add_compile_options(-Wall -Wextra -Werror -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # Boost.Asio coroutines trip a false positive in g++ 12 (GCC bug 105576 family).
  add_compile_options(-Wno-mismatched-new-delete -Wno-maybe-uninitialized)
  # Optimised builds: false positives inside std::string at -O2/-O3 (GCC bugs 105651
  # and 105329).
  add_compile_options(-Wno-restrict -Wno-stringop-overflow)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # RapidJSON 1.1's iterators define == and != in a way C++20 finds ambiguous.
  add_compile_options(-Wno-ambiguous-reversed-operator)
endif()
# Debug builds: enough debug info for backtraces (line tables, -g1), compressed (-gz):
# the test build stays near 2 GB on disk instead of 3.6 GB.
string(REPLACE "-g" "-g1 -gz" CMAKE_CXX_FLAGS_DEBUG "${CMAKE_CXX_FLAGS_DEBUG}")
add_link_options("$<$<CONFIG:Debug>:-gz>")

if(CANARYD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  # Position-dependent executables: the sanitizers' per-check data would otherwise
  # need one dynamic relocation each (about 50 MB per test binary).
  add_link_options(-fsanitize=address,undefined -no-pie)
endif()
