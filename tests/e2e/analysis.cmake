# Analysis scenarios (analysis_test.sh): canaryd and the kube-emulator with a real
# Prometheus (/usr/bin/prometheus) scraping the demo-app exporters every second. The
# script finds demo-app under ${PROJECT_BINARY_DIR}/hack/demo.
set(E2E_ANALYSIS_SCENARIOS healthy error-rate latency no-data prometheus-down invalid-spec)
foreach(scenario ${E2E_ANALYSIS_SCENARIOS})
  add_test(NAME e2e_analysis_${scenario}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/analysis_test.sh ${scenario}
            $<TARGET_FILE:canaryd> $<TARGET_FILE:kube-emulator> ${PROJECT_SOURCE_DIR}
            ${PROJECT_BINARY_DIR})
  set_tests_properties(e2e_analysis_${scenario} PROPERTIES TIMEOUT 150 LABELS e2e)
endforeach()
