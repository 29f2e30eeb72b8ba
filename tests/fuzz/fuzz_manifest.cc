// Fuzz target for the manifest decoders: arbitrary bytes go through the JSON/YAML
// parser, then every document through Rollout and AnalysisTemplate decoding and
// validation. Beyond "no crash, no sanitizer report", it checks one property: a Rollout
// that checks clean encodes to JSON that decodes back to the same spec and metadata.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/encode.h"
#include "api/json.h"
#include "api/validate.h"

namespace {

void checkRoundTrip(const canaryd::api::Rollout& original) {
  using namespace canaryd::api;
  auto doc = parseJson(encodeRolloutJson(original));
  if (!doc) std::abort();
  auto again = decodeRollout(*doc);
  if (!again.errors.empty()) std::abort();
  if (!(again.object.spec == original.spec) || !(again.object.metadata == original.metadata))
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace canaryd::api;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto docs = parseManifests(text);
  if (!docs) return 0;
  for (const auto& doc : *docs) {
    for (bool strict : {true, false}) {
      auto rollout = checkRollout(doc, DecodeOptions{.strict = strict});
      if (rollout.errors.empty()) checkRoundTrip(rollout.object);
      auto tpl = checkAnalysisTemplate(doc, DecodeOptions{.strict = strict});
      for (const auto& e : tpl.errors) (void)e.toString();
    }
  }
  return 0;
}
