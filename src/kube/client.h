// kube::Client: the synchronous, thread-safe REST client that reconcile workers call
// (client-go's dynamic client, blocking calls): typed resource paths for core and group
// resources and their subresources, get / list (paged) / create / update / patch /
// delete / watch, objects as owned RapidJSON documents, failures as ApiError values.
// The interface is abstract so that controller tests can substitute a recording fake;
// HttpClient (kube/http_client.h) is the real one. Implementations are thread-safe.
#pragma once

#include <rapidjson/document.h>

#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "kube/errors.h"

namespace canaryd::kube {

class Watch;

// An API object (or a List, or a Status) as JSON. Owned by the caller; documents from the
// client are never shared with anyone else, so callers may modify them.
using Object = std::shared_ptr<rapidjson::Document>;

template <class T>
using Result = boost::system::result<T, ApiError>;

// ---- client-side failures (no usable HTTP response) ----
// They carry code 0, reason kUnknown and one of these reasonText values.

// Connecting, the TLS handshake, writing or reading failed (refused, reset, bad certificate).
inline constexpr std::string_view kReasonTransport = "ClientTransportError";
// The per-request timeout passed before the response was complete.
inline constexpr std::string_view kReasonClientTimeout = "ClientTimeout";
// The response (or a watch event) was not the JSON it should be, or a stream was cut
// in the middle of an object.
inline constexpr std::string_view kReasonDecode = "ClientDecodeError";
// Credentials could not be obtained (exec plugin failed, token file unreadable).
inline constexpr std::string_view kReasonCredentials = "ClientCredentialsError";
// The client was shut down, or the call was cancelled (Watch::stop).
inline constexpr std::string_view kReasonCancelled = "ClientCancelled";

ApiError clientError(std::string_view reasonText, std::string message);
// No HTTP status: a failure on this side of the wire (any of the reasons above).
bool isClientError(const ApiError& e);
bool isTransportError(const ApiError& e);  // kReasonTransport or kReasonClientTimeout
bool isDecodeError(const ApiError& e);
bool isCancelled(const ApiError& e);

// ---- resources and paths ----

// A resource type (schema.GroupVersionResource plus its scope). Paths follow
// kube-apiserver's layout: /api/v1/... for the core group, /apis/<group>/<version>/...
// otherwise; /namespaces/<ns>/ before the resource for namespaced ones.
struct GroupVersionResource {
  std::string group;  // "" for core
  std::string version;
  std::string resource;  // plural, lower case
  bool namespaced = true;

  // "v1" or "apps/v1".
  std::string groupVersion() const;
  // "/api/v1" or "/apis/apps/v1".
  std::string apiPath() const;
  // The collection: /apis/apps/v1/namespaces/<ns>/replicasets, or every namespace's when
  // ns is empty (also the only form for cluster-scoped resources, which ignore ns).
  std::string collectionPath(std::string_view ns) const;
  // One object, optionally a subresource ("status", "scale"):
  // /apis/apps/v1/namespaces/<ns>/replicasets/<name>/status. Segments are
  // percent-encoded where needed.
  std::string objectPath(std::string_view ns, std::string_view name,
                         std::string_view subresource = {}) const;
  // "replicasets.apps" or "pods", for messages and metrics.
  std::string groupResource() const;

  bool operator==(const GroupVersionResource&) const = default;
};

// The resources canaryd reads and writes.
namespace resources {
extern const GroupVersionResource kNamespaces;
extern const GroupVersionResource kPods;
extern const GroupVersionResource kServices;
extern const GroupVersionResource kConfigMaps;
extern const GroupVersionResource kSecrets;
extern const GroupVersionResource kCoreEvents;  // v1 events
extern const GroupVersionResource kEvents;      // events.k8s.io/v1
extern const GroupVersionResource kReplicaSets;
extern const GroupVersionResource kDeployments;
extern const GroupVersionResource kIngresses;
extern const GroupVersionResource kHttpRoutes;  // gateway.networking.k8s.io/v1
extern const GroupVersionResource kLeases;
extern const GroupVersionResource kRollouts;           // canaryd.io/v1alpha1
extern const GroupVersionResource kAnalysisTemplates;  // canaryd.io/v1alpha1
}  // namespace resources

// ---- options (metav1.GetOptions, ListOptions, CreateOptions, PatchOptions, DeleteOptions) ----

struct GetOptions {
  // "" reads the latest (a quorum read); "0" allows any cached version.
  std::string resourceVersion;
  std::string subresource;  // e.g. "status", "scale"
};

struct ListOptions {
  std::string labelSelector;  // e.g. "app=podinfo,tier in (web)"
  std::string fieldSelector;  // e.g. "metadata.name=podinfo"
  // "" (latest, consistent), "0" (any, possibly stale), or a version to start from.
  std::string resourceVersion;
  std::string resourceVersionMatch;  // "", "NotOlderThan" or "Exact"
  int64_t limit = 0;                 // page size; 0: everything at once
  std::string continueToken;         // from the previous page's metadata.continue
  // Watch only: ask for BOOKMARK events, and for the server to end the watch after this
  // many seconds (0: the server's default).
  bool allowWatchBookmarks = false;
  int64_t timeoutSeconds = 0;
};

struct WriteOptions {
  std::string subresource;   // "status" for updateStatus; "scale"
  std::string fieldManager;  // the manager name recorded in managedFields
  bool dryRun = false;       // dryRun=All: validated, not stored
};

// The Content-Type of a PATCH body.
enum class PatchType {
  kMerge,           // application/merge-patch+json (RFC 7386)
  kJson,            // application/json-patch+json (RFC 6902)
  kStrategicMerge,  // application/strategic-merge-patch+json (built-in kinds only)
};
std::string_view patchContentType(PatchType type);

// metav1.DeletionPropagation.
enum class PropagationPolicy { kDefault, kBackground, kForeground, kOrphan };

struct DeleteOptions {
  PropagationPolicy propagationPolicy = PropagationPolicy::kDefault;
  // Preconditions: the delete fails with 409 Conflict unless the object still has this
  // uid / resourceVersion.
  std::string preconditionUid;
  std::string preconditionResourceVersion;
  std::optional<int64_t> gracePeriodSeconds;
  bool dryRun = false;
};

// One page of a list.
struct ListPage {
  Object list;                  // the whole List document (kind ...List, items[])
  std::string resourceVersion;  // metadata.resourceVersion
  std::string continueToken;    // metadata.continue; "" on the last page
  std::optional<int64_t> remainingItemCount;

  // list->items (an empty array when absent).
  const rapidjson::Value& items() const;
};

// The REST client. Every call blocks the calling thread until the response is decoded
// (or the client's retries are spent) and must not be made from the client's own I/O
// thread. Errors are ApiErrors: the server's Status (isNotFound, isConflict, ...) or a
// client-side failure (isClientError).
class Client {
 public:
  virtual ~Client() = default;

  // GET one object (or its subresource). ns is ignored for cluster-scoped resources.
  virtual Result<Object> get(const GroupVersionResource& gvr, std::string_view ns,
                             std::string_view name, const GetOptions& options = {}) = 0;

  // GET one page of the collection (every namespace when ns is empty). Page with
  // options.limit and the returned continueToken; as kube-apiserver, a continue token
  // older than the compaction window fails with 410 Expired (isResourceExpired).
  virtual Result<ListPage> list(const GroupVersionResource& gvr, std::string_view ns,
                                const ListOptions& options = {}) = 0;

  // POST the object to the collection of ns (or of its metadata.namespace when ns is
  // empty). Returns the stored object. AlreadyExists (409) when the name is taken.
  virtual Result<Object> create(const GroupVersionResource& gvr, std::string_view ns,
                                const rapidjson::Value& object,
                                const WriteOptions& options = {}) = 0;

  // PUT the whole object (or its subresource) at metadata.name. metadata.resourceVersion,
  // when set, is the precondition: a newer stored object fails with 409 Conflict.
  virtual Result<Object> update(const GroupVersionResource& gvr, std::string_view ns,
                                const rapidjson::Value& object,
                                const WriteOptions& options = {}) = 0;

  // PATCH the object (or its subresource) with a body of the given type.
  virtual Result<Object> patch(const GroupVersionResource& gvr, std::string_view ns,
                               std::string_view name, PatchType type, std::string_view patch,
                               const WriteOptions& options = {}) = 0;

  // DELETE the object. NotFound when it is already gone; Conflict when a precondition
  // fails.
  virtual Result<void> remove(const GroupVersionResource& gvr, std::string_view ns,
                              std::string_view name, const DeleteOptions& options = {}) = 0;

  // Opens a watch on the collection (GET ?watch=1 with options' selectors,
  // resourceVersion, allowWatchBookmarks and timeoutSeconds). The stream is read with
  // Watch::next() (kube/watch.h).
  virtual Result<std::unique_ptr<Watch>> watch(const GroupVersionResource& gvr, std::string_view ns,
                                               const ListOptions& options) = 0;

  // Conveniences over the calls above.
  Result<Object> updateStatus(const GroupVersionResource& gvr, std::string_view ns,
                              const rapidjson::Value& object, WriteOptions options = {}) {
    options.subresource = "status";
    return update(gvr, ns, object, options);
  }
  Result<Object> patchStatus(const GroupVersionResource& gvr, std::string_view ns,
                             std::string_view name, PatchType type, std::string_view patch,
                             WriteOptions options = {}) {
    options.subresource = "status";
    return this->patch(gvr, ns, name, type, patch, options);
  }
};

// Percent-encodes a path segment or query value (RFC 3986 unreserved characters pass).
std::string urlEncode(std::string_view s);

// The query string (without '?') for options, in a fixed order; empty values omitted.
std::string listQuery(const ListOptions& options, bool watch);

// metav1.MicroTime's wire format: RFC 3339 in UTC with microseconds
// ("2024-01-01T00:00:00.000000Z"), as Leases and events.k8s.io Events carry it.
std::string formatMicroTime(std::chrono::system_clock::time_point t);

// Reads a string at a dotted path of an object ("metadata.resourceVersion"); "" when
// absent or not a string.
std::string_view stringAt(const rapidjson::Value& object, std::string_view dottedPath);

}  // namespace canaryd::kube
