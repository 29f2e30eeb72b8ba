// Discovery documents as kube-apiserver serves them: /version, /api (APIVersions),
// /apis (APIGroupList), /apis/<group> (APIGroup) and /api/v1, /apis/<g>/<v>
// (APIResourceList with verbs, shortNames, categories and the status/scale
// subresources). Pure functions of the type table.
#pragma once

#include <string>

#include "resource_types.h"

namespace canaryd::emulator {

std::string versionDocument(const std::string& gitVersion);
std::string apiVersionsDocument();
std::string apiGroupListDocument(const ResourceTypes& types);
// Empty when the group is not served.
std::string apiGroupDocument(const ResourceTypes& types, const std::string& group);
// Empty when the group/version is not served.
std::string apiResourceListDocument(const ResourceTypes& types, const std::string& group,
                                    const std::string& version);

}  // namespace canaryd::emulator
