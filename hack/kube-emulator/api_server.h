// ApiServer: kube-apiserver's REST semantics over the in-memory Store, independent of
// the transport. It routes a parsed HTTP request (/api, /apis, discovery, OpenAPI,
// resources and their status/scale subresources) to get/list/create/update/patch/delete
// and answers JSON, or describes a watch for the HTTP layer to stream.
// Not synchronised: every call must come from the server's one I/O thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "api_error.h"
#include "resource_types.h"
#include "selectors.h"
#include "store.h"

namespace canaryd::emulator {

// The deepest JSON nesting a request body may have.
inline constexpr size_t kMaxJsonDepth = 1000;

struct Request {
  std::string method;  // GET, POST, PUT, PATCH, DELETE
  std::string path;    // decoded path without the query
  std::map<std::string, std::string> query;
  std::string contentType;
  std::string accept;
  std::string userAgent;
  std::string body;
};

struct Response {
  unsigned status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

Response errorResponse(const ApiError& e);

// A boolean query parameter as Go's strconv.ParseBool reads it (1, t, T, true, TRUE,
// True), which is how kube-apiserver decodes ?watch= and friends.
bool queryFlag(const Request& req, const char* key);

// What a watch request asked for, once validated.
struct WatchSpec {
  ResourceTypePtr type;
  std::string ns;  // empty: all namespaces
  LabelSelector labels;
  FieldSelector fields;
  bool initialEvents = false;  // resourceVersion "" or "0": synthetic ADDED first
  uint64_t fromResourceVersion = 0;
  bool bookmarks = false;
  std::chrono::seconds timeout{0};  // 0: the server's default
  bool table = false;               // as=Table events
};

// What the HTTP layer must do for a request: answer, or stream a watch.
using Outcome = std::variant<Response, WatchSpec>;

// A watch event after selector filtering: the type to report and the object.
struct FilteredEvent {
  EventType type;
  ObjectPtr object;
};

struct ApiServerOptions {
  size_t historyLimit = 10000;
  // Object counts for `limit` above which kube-apiserver would page anyway: none here.
  std::function<std::chrono::system_clock::time_point()> clock = [] {
    return std::chrono::system_clock::now();
  };
  // The "version" document's gitVersion.
  std::string gitVersion = "v1.32.0";
};

class ApiServer {
 public:
  explicit ApiServer(ApiServerOptions options = {});

  Outcome handle(const Request& request);

  // Watch helpers for the HTTP layer.
  std::optional<FilteredEvent> filterEvent(const WatchSpec& spec, const StoreEvent& ev) const;
  bool matches(const WatchSpec& spec, const rapidjson::Value& object) const;
  // One line of the watch stream: {"type":...,"object":...}\n, the object in the
  // requested version (or as a Table row).
  std::string renderEvent(const WatchSpec& spec, const char* type,
                          const rapidjson::Value& object) const;
  // The same for a stored snapshot, rendered once and shared by every watch that sends
  // it (one write fans out to hundreds of watches).
  const std::string& renderEvent(const WatchSpec& spec, const char* type, const ObjectPtr& object);
  std::string renderBookmark(const WatchSpec& spec, uint64_t resourceVersion) const;
  std::string renderError(const ApiError& error) const;

  Store& store() { return store_; }
  ResourceTypes& types() { return types_; }
  std::chrono::system_clock::time_point now() const { return options_.clock(); }

  // Deletes as a DELETE request would, for the garbage collector and the namespace
  // controller: finalizers are honoured, dependents handled per propagationPolicy
  // ("Background", "Foreground", "Orphan").
  std::optional<ApiError> deleteObject(const ResourceType& type, const std::string& ns,
                                       const std::string& name, const std::string& propagation);
  // Writes an object's new status as the status subresource would (for the simulated
  // controllers); the object must exist. Bumps resourceVersion only if it changed.
  void writeStatus(const std::string& storeKey, const rapidjson::Value& object,
                   const rapidjson::Value& status);
  // Removes one finalizer, deleting the object if it was the last one and deletion
  // was requested.
  void removeFinalizer(const std::string& storeKey, const rapidjson::Value& object,
                       const std::string& finalizer);

  // Time stamps in RFC 3339 (seconds), as metav1.Time marshals.
  std::string timestamp() const;
  // Called after every write that changes an object (for the controllers' wake-up).
  void setOnChange(std::function<void()> fn) { onChange_ = std::move(fn); }

 private:
  struct Target {
    ResourceTypePtr type;
    std::string ns;
    std::string name;
    std::string subresource;
    bool watchPrefix = false;
  };

  Outcome handleResource(const Request& req, const Target& t);
  Response get(const Request& req, const Target& t);
  Outcome list(const Request& req, const Target& t);
  Response create(const Request& req, const Target& t);
  Response update(const Request& req, const Target& t);
  Response patch(const Request& req, const Target& t);
  Response remove(const Request& req, const Target& t);
  Response removeCollection(const Request& req, const Target& t);
  Response getScale(const Target& t);
  Response writeScale(const Request& req, const Target& t, bool isPatch);

  // Shared write path for PUT and PATCH: `proposed` is the whole new object.
  Response commitUpdate(const Request& req, const Target& t, rapidjson::Document proposed,
                        const ObjectPtr& existing, bool isCreateOnUpdate = false);

  // Decodes a request body (JSON, or protobuf for Secret/ConfigMap) into an object.
  boost::system::result<rapidjson::Document, ApiError> decodeBody(const Request& req,
                                                                  const ResourceType& type);
  // Defaults and validation for the kind; errors as a 422 Invalid (or 400 for strict
  // decoding). `old` is null on create.
  std::optional<ApiError> admit(const Request& req, const ResourceType& type,
                                rapidjson::Document& obj, const rapidjson::Value* old);
  // Renders the object for the client: apiVersion of the requested version.
  std::string renderObject(const ResourceType& type, const rapidjson::Value& obj) const;
  bool wantsTable(const Request& req) const;
  std::string renderTable(const ResourceType& type, const std::vector<ObjectPtr>& objects,
                          const std::string& resourceVersion, const std::string& cont,
                          bool includeObject, bool withColumns = true) const;

  std::string newUid();
  std::string generateNameSuffix();
  void changed() {
    if (onChange_) onChange_();
  }

  // CustomResourceDefinition side effects on create/update/delete.
  void crdStored(const rapidjson::Value& crd);
  std::optional<ApiError> crdDeleting(const rapidjson::Value& crd);
  // Validates and defaults a CRD, and sets the status its controllers would write.
  void validateCrd(rapidjson::Document& crd, api::ErrorList& errors);

  ApiServerOptions options_;
  Store store_;
  ResourceTypes types_;
  std::mt19937_64 rng_;
  std::function<void()> onChange_;
  std::vector<std::string> warnings_;  // Warning headers of the request being served
  // Every ClusterIP handed out or stored, and possibly some since released: a superset,
  // filled by one scan of the Services on first use and rescanned only when a candidate
  // address is in it, so that creating N Services costs O(N log N), not a scan each.
  std::set<std::string> clusterIps_;
  bool clusterIpsLoaded_ = false;
  void loadClusterIps();
  struct RenderedEvent {
    ObjectPtr object;  // keeps the key's address alive
    std::string line;
  };
  // (object address, event type, apiVersion, table) -> rendered line; bounded.
  std::map<std::tuple<const void*, std::string, std::string, bool>, RenderedEvent> rendered_;

  friend class Discovery;
};

}  // namespace canaryd::emulator
