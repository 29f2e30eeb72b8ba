// The subset of kubectl's JSONPath that CRD additionalPrinterColumns use: `.a.b`,
// `.a[0].b`, `.a[*].b` and `.a[?(@.type=="Ready")].status`. Pure functions.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <vector>

namespace canaryd::emulator {

// Every value the path selects, in document order (empty when none).
std::vector<const rapidjson::Value*> evalJsonPath(const rapidjson::Value& root,
                                                  const std::string& path);

// A value at a simple dotted path (`.spec.replicas`), or null.
const rapidjson::Value* valueAtPath(const rapidjson::Value& root, const std::string& path);

}  // namespace canaryd::emulator
