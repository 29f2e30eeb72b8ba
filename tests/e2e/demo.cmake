# The demo (hack/demo.sh): the demo app's own behaviour, and the demo's scenarios,
# shortened, against real nginx and Prometheus with the binaries of this build.
canaryd_add_test(demo_app_test demo_app_test.cc)
target_link_libraries(demo_app_test PRIVATE demo_app_lib)

foreach(variant bad healthy)
  add_test(NAME e2e_demo_${variant}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/demo_test.sh ${variant}
            $<TARGET_FILE:canaryd> $<TARGET_FILE:kube-emulator> $<TARGET_FILE:demo-app>
            $<TARGET_FILE:demo-bridge> ${PROJECT_SOURCE_DIR})
  set_tests_properties(e2e_demo_${variant} PROPERTIES TIMEOUT 300 LABELS e2e)
endforeach()
