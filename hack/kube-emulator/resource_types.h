// The resource type table: every resource the emulator serves, built-in ones (as
// kube-apiserver registers them) and those registered from CustomResourceDefinitions.
// Discovery, OpenAPI, routing and validation all read it. Not synchronised: used on the
// server's one I/O thread only.
#pragma once

#include <rapidjson/document.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace canaryd::emulator {

// One additionalPrinterColumns entry (apiextensions/v1 CustomResourceColumnDefinition).
struct PrinterColumn {
  std::string name;
  std::string type;  // integer, number, string, boolean, date
  std::string format;
  std::string description;
  std::string jsonPath;  // e.g. .status.phase
  int priority = 0;
};

struct ResourceType {
  std::string group;  // "" for the core group
  std::string version;
  std::string resource;  // plural, lower case
  std::string singular;
  std::string kind;
  std::string listKind;
  bool namespaced = true;
  std::vector<std::string> shortNames;
  std::vector<std::string> categories;
  std::vector<std::string> verbs;
  bool statusSubresource = false;
  bool scaleSubresource = false;
  std::string specReplicasPath = ".spec.replicas";
  std::string statusReplicasPath = ".status.replicas";
  std::string labelSelectorPath;  // for the Scale's status.selector; may be empty
  // Whether metadata.generation is kept: 1 on create, +1 when anything outside metadata
  // (and status, when status is a subresource) changes. Kinds without it (ConfigMap,
  // Secret, Service ...) have no generation, as their kube-apiserver strategies.
  bool tracksGeneration = false;
  bool custom = false;  // served from a CRD
  std::string crdName;  // <plural>.<group>, when custom
  bool storageVersion = true;
  // openAPIV3Schema of this version (custom types only), null when absent.
  std::shared_ptr<const rapidjson::Document> schema;
  std::vector<PrinterColumn> printerColumns;

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  // The storage identity, the same for every version of a resource.
  std::string storeKey() const { return group + "/" + resource; }
  std::string groupResource() const { return group.empty() ? resource : resource + "." + group; }
};

using ResourceTypePtr = std::shared_ptr<const ResourceType>;

class ResourceTypes {
 public:
  // Registers the built-in types listed in the emulator's documentation.
  ResourceTypes();

  ResourceTypePtr find(const std::string& group, const std::string& version,
                       const std::string& resource) const;
  // Any served version's type for group/kind (the storage version first); null if none.
  ResourceTypePtr findKind(const std::string& group, const std::string& kind) const;
  ResourceTypePtr findByStoreKey(const std::string& storeKey) const;

  // Every registered type in registration order (built-ins first, then CRDs by name).
  std::vector<ResourceTypePtr> all() const;
  // Groups in discovery order; each with its versions, preferred first.
  struct GroupVersions {
    std::string group;
    std::vector<std::string> versions;
  };
  std::vector<GroupVersions> groups() const;
  std::vector<ResourceTypePtr> inGroupVersion(const std::string& group,
                                              const std::string& version) const;

  // Registers (or re-registers) the served versions of an apiextensions.k8s.io/v1
  // CustomResourceDefinition object. The CRD must already be valid.
  void registerCrd(const rapidjson::Value& crd);
  void unregisterCrd(const std::string& crdName);
  // Changes whenever the table changes, for discovery/OpenAPI hashes and ETags.
  unsigned long long revision() const { return revision_; }

 private:
  void add(ResourceType t);
  std::vector<ResourceTypePtr> types_;
  unsigned long long revision_ = 1;
};

}  // namespace canaryd::emulator
