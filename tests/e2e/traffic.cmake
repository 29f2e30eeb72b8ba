# Traffic routing scenarios (traffic_test.sh): full rollouts through an nginx canary
# Ingress and a Gateway API HTTPRoute checked with kubectl at every step, abort and retry,
# a canary with no available pod, a foreign Ingress left alone, and bad references
# reported as InvalidSpec. The *_faults variants run the rollouts with the emulator
# dropping every watch each 2 s and failing 5% of requests. Included by CMakeLists.txt in
# this directory.
set(E2E_TRAFFIC_SCENARIOS nginx nginx-abort nginx-unready gateway gateway-abort
  foreign-ingress nginx-invalid gateway-invalid)
foreach(scenario ${E2E_TRAFFIC_SCENARIOS})
  add_test(NAME e2e_traffic_${scenario}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/traffic_test.sh ${scenario}
            $<TARGET_FILE:canaryd> $<TARGET_FILE:kube-emulator> ${PROJECT_SOURCE_DIR})
  set_tests_properties(e2e_traffic_${scenario} PROPERTIES TIMEOUT 120 LABELS e2e)
endforeach()
foreach(scenario nginx nginx-abort gateway gateway-abort)
  add_test(NAME e2e_traffic_${scenario}_faults
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/traffic_test.sh ${scenario}
            $<TARGET_FILE:canaryd> $<TARGET_FILE:kube-emulator> ${PROJECT_SOURCE_DIR}
            --drop-watches-every-seconds 2 --error-fraction 0.05)
  set_tests_properties(e2e_traffic_${scenario}_faults PROPERTIES TIMEOUT 120 LABELS e2e)
endforeach()
