// The reconciler's narrow view of the cluster: a read side (Lister, over the informers'
// caches) and a write side (Writer, over the API client). The reconciler depends on these
// only, so it is tested with in-memory fakes and mapped onto kube::Client and the informer
// stores by a thin adapter.
// Implementations must be thread-safe: N workers call them concurrently (for different
// rollouts). Objects returned by a Lister are shared and immutable.
#pragma once

#include <boost/system/result.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "controller/views.h"

namespace canaryd::controller {

template <class T>
using Ptr = std::shared_ptr<const T>;

// Reads from the informer caches. Never blocks on the network.
class Lister {
 public:
  virtual ~Lister() = default;

  // The Rollout at namespace/name, or nullptr when the cache has none.
  virtual Ptr<RolloutView> getRollout(std::string_view ns, std::string_view name) const = 0;

  // ReplicaSets in `ns` with an ownerReference whose uid is `ownerUid` (the informer's
  // ownerUID index), in any order.
  virtual std::vector<Ptr<ReplicaSetView>> replicaSetsOwnedBy(std::string_view ns,
                                                              std::string_view ownerUid) const = 0;

  // ReplicaSets in `ns` whose labels match `selector` (controller/selector.h
  // selectorMatches), owned or not, in any order: the candidates for adoption. The
  // ReplicaSet informer should watch with the label selector `canaryd.io/pod-template-hash`
  // (exists), which holds canaryd's ReplicaSets and orphans of them and nothing else.
  virtual std::vector<Ptr<ReplicaSetView>> replicaSetsMatching(
      std::string_view ns, const api::LabelSelector& selector) const = 0;

  // The ReplicaSet at namespace/name, or nullptr.
  virtual Ptr<ReplicaSetView> getReplicaSet(std::string_view ns, std::string_view name) const = 0;

  // The Service at namespace/name, or nullptr.
  virtual Ptr<ServiceView> getService(std::string_view ns, std::string_view name) const = 0;
};

// A failed write, typed as the API's metav1.Status reasons the reconciler tells apart.
struct WriteError {
  enum class Kind {
    kConflict,       // 409 Conflict: stale resourceVersion, or a failed precondition
    kNotFound,       // 404
    kAlreadyExists,  // 409 AlreadyExists (create)
    kInvalid,        // 422 Invalid
    kForbidden,      // 403 Forbidden
    kOther,          // anything else: network, 5xx, timeouts, 429 ...
  };
  Kind kind = Kind::kOther;
  std::string message;
};

std::string_view toString(WriteError::Kind kind);

template <class T>
using WriteResult = boost::system::result<T, WriteError>;

enum class EventType { kNormal, kWarning };

// A ReplicaSet as the API server holds it now, with its pod template (which the cache
// leaves out).
struct LiveReplicaSet {
  ReplicaSetView view;
  std::string podTemplate;  // spec.template as JSON text; "" when absent
};

// Writes through the API client (and the reads that must not come from the cache).
// Bodies are JSON text. A merge patch (application/merge-patch+json, RFC 7386) that
// carries metadata.resourceVersion is rejected with 409 Conflict when the object changed
// since (kube-apiserver checks a resourceVersion in a patch body as a precondition).
class Writer {
 public:
  virtual ~Writer() = default;

  // POST /apis/apps/v1/namespaces/{ns}/replicasets with `body` (a whole ReplicaSet).
  // Returns the created object's view.
  virtual WriteResult<ReplicaSetView> createReplicaSet(std::string_view ns,
                                                       const std::string& body) = 0;

  // GET /apis/apps/v1/namespaces/{ns}/replicasets/{name} from the API server, not the cache:
  // after a create answered AlreadyExists, the reconciler tells a ReplicaSet its informer
  // has not seen yet from a name taken by another template (the deployment controller's
  // getNewReplicaSet). kNotFound when it is gone.
  virtual WriteResult<LiveReplicaSet> readReplicaSet(std::string_view ns,
                                                     std::string_view name) = 0;

  // GET /apis/canaryd.io/v1alpha1/namespaces/{ns}/rollouts/{name} from the API server, decoded
  // (api::decodeRollout, not strict) with spec.template's text, which the cache does not keep
  // (RolloutView): read to create a ReplicaSet, once per ReplicaSet created. kNotFound when
  // it is gone.
  virtual WriteResult<api::Rollout> readRollout(std::string_view ns, std::string_view name) = 0;

  // PATCH (JSON merge patch) /apis/apps/v1/namespaces/{ns}/replicasets/{name}: spec.replicas,
  // metadata.labels / annotations / ownerReferences (adoption), with
  // metadata.resourceVersion as a precondition. Returns the patched object's view.
  virtual WriteResult<ReplicaSetView> patchReplicaSet(std::string_view ns, std::string_view name,
                                                      const std::string& mergePatch) = 0;

  // DELETE /apis/apps/v1/namespaces/{ns}/replicasets/{name} with DeleteOptions
  // {"preconditions":{"uid":uid},"propagationPolicy":"Background"}.
  virtual WriteResult<void> deleteReplicaSet(std::string_view ns, std::string_view name,
                                             std::string_view uid) = 0;

  // PATCH (JSON merge patch) /api/v1/namespaces/{ns}/services/{name}: spec.selector and the
  // canaryd.io/managed-by annotation.
  virtual WriteResult<void> patchService(std::string_view ns, std::string_view name,
                                         const std::string& mergePatch) = 0;

  // PUT /apis/canaryd.io/v1alpha1/namespaces/{ns}/rollouts/{name}/status with
  // metadata.resourceVersion = `resourceVersion` and .status = `statusJson` (an object, as
  // api::encodeRolloutStatus writes it). A changed object is a kConflict, never forced.
  virtual WriteResult<void> updateRolloutStatus(std::string_view ns, std::string_view name,
                                                std::string_view resourceVersion,
                                                const std::string& statusJson) = 0;

  // Records a core/v1 Event about `rollout` (involvedObject: its kind, name, namespace,
  // uid, resourceVersion). Best effort: failures are the implementation's to log.
  virtual void recordEvent(const api::Rollout& rollout, EventType type, std::string_view reason,
                           std::string_view message) = 0;
};

}  // namespace canaryd::controller
