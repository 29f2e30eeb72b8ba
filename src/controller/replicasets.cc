// ReplicaSets: naming and creation (pod-template-hash, labels, controller ownerReference),
// adoption of orphans, scaling to what the state asks for (which also puts back a hand
// edit), delayed scale-down of an old stable, and revisionHistoryLimit (the Deployment
// controller's sync.go and Argo Rollouts' rollout/replicaset.go).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "api/json.h"
#include "controller/context.h"
#include "controller/names.h"
#include "controller/pod_template_hash.h"

namespace canaryd::controller {
namespace {

using Value = rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;

Value str(std::string_view s, Alloc& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

api::OwnerReference ownerReference(const api::Rollout& rollout) {
  return api::OwnerReference{std::string(kOwnerApiVersion),
                             std::string(kOwnerKind),
                             rollout.metadata.name,
                             rollout.metadata.uid,
                             true,
                             true};
}

Value ownerReferencesJson(const std::vector<api::OwnerReference>& refs, Alloc& a) {
  Value arr(rapidjson::kArrayType);
  for (const auto& r : refs) {
    Value o(rapidjson::kObjectType);
    o.AddMember("apiVersion", str(r.apiVersion, a), a);
    if (r.blockOwnerDeletion) o.AddMember("blockOwnerDeletion", true, a);
    if (r.controller) o.AddMember("controller", true, a);
    o.AddMember("kind", str(r.kind, a), a);
    o.AddMember("name", str(r.name, a), a);
    o.AddMember("uid", str(r.uid, a), a);
    arr.PushBack(o, a);
  }
  return arr;
}

Value stringMapJson(const api::StringMap& m, Alloc& a) {
  Value o(rapidjson::kObjectType);
  for (const auto& [k, v] : m) o.AddMember(str(k, a), str(v, a), a);
  return o;
}

bool ownedBy(const ReplicaSetView& rs, const api::Rollout& rollout) {
  const auto* ref = controllerOf(rs.metadata);
  return ref && ref->uid == rollout.metadata.uid;
}

std::optional<api::Time> scaleDownDeadline(const ReplicaSetView& rs) {
  auto it = rs.metadata.annotations.find(std::string(kScaleDownDeadlineAnnotation));
  if (it == rs.metadata.annotations.end()) return std::nullopt;
  return api::parseTime(it->second);
}

bool hasDeadlineAnnotation(const ReplicaSetView& rs) {
  return rs.metadata.annotations.count(std::string(kScaleDownDeadlineAnnotation)) > 0;
}

// The Rollout's pod template with the hash label, as the ReplicaSet for `hash` carries it.
Value podTemplate(const api::Rollout& rollout, const std::string& hash, Alloc& a) {
  const std::string hashLabel(kPodTemplateHashLabel);
  Value tpl(rapidjson::kObjectType);
  if (auto parsed = api::parseJson(rollout.spec.podTemplate->json); parsed && parsed->IsObject())
    tpl.CopyFrom(*parsed, a);
  if (!tpl.HasMember("metadata") || !tpl["metadata"].IsObject())
    tpl.AddMember("metadata", Value(rapidjson::kObjectType), a);
  Value& tplMeta = tpl["metadata"];
  if (!tplMeta.HasMember("labels") || !tplMeta["labels"].IsObject())
    tplMeta.AddMember("labels", Value(rapidjson::kObjectType), a);
  Value& tplLabels = tplMeta["labels"];
  if (tplLabels.HasMember(hashLabel.c_str())) tplLabels.RemoveMember(hashLabel.c_str());
  tplLabels.AddMember(str(hashLabel, a), str(hash, a), a);
  return tpl;
}

// The whole ReplicaSet canaryd creates for `hash`: the pod template with the hash label,
// the Rollout's selector plus the hash, and the controller ownerReference.
std::string replicaSetBody(const Context& ctx, const std::string& hash, int32_t replicas,
                           int64_t revision) {
  const auto& rollout = ctx.rollout;
  const std::string hashLabel(kPodTemplateHashLabel);
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();

  Value tpl = podTemplate(rollout, hash, a);

  api::StringMap labels = rollout.spec.podTemplate->labels;
  labels[hashLabel] = hash;

  Value meta(rapidjson::kObjectType);
  meta.AddMember("annotations",
                 stringMapJson({{std::string(kRevisionAnnotation), std::to_string(revision)}}, a),
                 a);
  meta.AddMember("labels", stringMapJson(labels, a), a);
  meta.AddMember("name", str(replicaSetName(rollout.metadata.name, hash), a), a);
  meta.AddMember("namespace", str(rollout.metadata.namespace_, a), a);
  meta.AddMember("ownerReferences", ownerReferencesJson({ownerReference(rollout)}, a), a);

  Value selector(rapidjson::kObjectType);
  const auto& sel = *rollout.spec.selector;
  if (!sel.matchExpressions.empty()) {
    Value exprs(rapidjson::kArrayType);
    for (const auto& req : sel.matchExpressions) {
      Value e(rapidjson::kObjectType);
      e.AddMember("key", str(req.key, a), a);
      e.AddMember("operator", str(req.operator_, a), a);
      if (!req.values.empty()) {
        Value values(rapidjson::kArrayType);
        for (const auto& v : req.values) values.PushBack(str(v, a), a);
        e.AddMember("values", values, a);
      }
      exprs.PushBack(e, a);
    }
    selector.AddMember("matchExpressions", exprs, a);
  }
  api::StringMap matchLabels = sel.matchLabels;
  matchLabels[hashLabel] = hash;
  selector.AddMember("matchLabels", stringMapJson(matchLabels, a), a);

  Value spec(rapidjson::kObjectType);
  spec.AddMember("replicas", replicas, a);
  spec.AddMember("selector", selector, a);
  spec.AddMember("template", tpl, a);

  doc.AddMember("apiVersion", "apps/v1", a);
  doc.AddMember("kind", "ReplicaSet", a);
  doc.AddMember("metadata", meta, a);
  doc.AddMember("spec", spec, a);
  api::sortKeys(doc);
  return api::toJson(doc);
}

std::string patchBody(const ReplicaSetView& rs, const ReplicaSetPatch& p) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  Value meta(rapidjson::kObjectType);
  if (!p.annotations.empty()) {
    Value ann(rapidjson::kObjectType);
    for (const auto& [k, v] : p.annotations)
      ann.AddMember(str(k, a), v ? str(*v, a) : Value(rapidjson::kNullType), a);
    meta.AddMember("annotations", ann, a);
  }
  if (p.ownerReferences)
    meta.AddMember("ownerReferences", ownerReferencesJson(*p.ownerReferences, a), a);
  meta.AddMember("resourceVersion", str(rs.metadata.resourceVersion, a), a);
  doc.AddMember("metadata", meta, a);
  if (p.replicas) {
    Value spec(rapidjson::kObjectType);
    spec.AddMember("replicas", *p.replicas, a);
    doc.AddMember("spec", spec, a);
  }
  return api::toJson(doc);
}

std::string describeError(const WriteError& e) {
  return std::string(toString(e.kind)) + ": " + e.message;
}

void setReplicas(Context& ctx, const ReplicaSetView& rs, int32_t replicas) {
  if (rs.specReplicas != replicas) ctx.patchFor(rs).replicas = replicas;
}

// True when `live` holds everything `desired` sets, with equal values: the API server
// adds defaults to a ReplicaSet's pod template (imagePullPolicy, restartPolicy, ...) but
// never changes what the creator set. Nulls and empty objects or arrays in `desired` may
// be absent from `live`. Arrays match element by element.
bool covers(const Value& live, const Value& desired) {
  auto emptyish = [](const Value& v) {
    return v.IsNull() || (v.IsObject() && v.MemberCount() == 0) || (v.IsArray() && v.Empty());
  };
  if (desired.IsObject()) {
    if (!live.IsObject()) return false;
    for (const auto& m : desired.GetObject()) {
      auto it = live.FindMember(m.name);
      if (it == live.MemberEnd()) {
        if (!emptyish(m.value)) return false;
      } else if (!covers(it->value, m.value)) {
        return false;
      }
    }
    return true;
  }
  if (desired.IsArray()) {
    if (!live.IsArray() || live.Size() != desired.Size()) return false;
    for (rapidjson::SizeType i = 0; i < desired.Size(); ++i)
      if (!covers(live[i], desired[i])) return false;
    return true;
  }
  return live == desired;
}

}  // namespace

bool podTemplateMatches(std::string_view liveTemplate, const std::string& desiredTemplate) {
  auto live = api::parseJson(liveTemplate);
  auto desired = api::parseJson(desiredTemplate);
  if (!live || !desired) return false;
  // The hash label names the ReplicaSet, not the pods: compared apart from the template
  // (as the deployment controller's EqualIgnoreHash).
  const char* hashLabel = kPodTemplateHashLabel.data();
  for (rapidjson::Document* doc : {&*live, &*desired}) {
    if (!doc->IsObject()) return false;
    auto meta = doc->FindMember("metadata");
    if (meta == doc->MemberEnd() || !meta->value.IsObject()) continue;
    auto labels = meta->value.FindMember("labels");
    if (labels != meta->value.MemberEnd() && labels->value.IsObject())
      labels->value.RemoveMember(hashLabel);
  }
  return covers(*live, *desired);
}

namespace {

// The name `name` is taken: the ReplicaSet there is this Rollout's when its pod template is
// the desired one and it is controlled by this Rollout (the cache had not seen it yet: a
// create that timed out but went through, a lagging or dropped watch) or by nobody (adopted).
// Anything else is a hash collision: status.collisionCount goes up so that the next
// reconcile uses another hash (the deployment controller's getNewReplicaSet; Argo Rollouts'
// createDesiredReplicaSet). A failed read decides nothing: the reconcile is retried.
Ptr<ReplicaSetView> takeExisting(Context& ctx, const std::string& hash, const std::string& name) {
  const auto& ns = ctx.rollout.metadata.namespace_;
  auto live = ctx.writer.readReplicaSet(ns, name);
  if (!live) {
    ctx.fail(Result::transient("create ReplicaSet " + name +
                               ": AlreadyExists, then read: " + describeError(live.error())));
    return nullptr;
  }
  const ReplicaSetView& rs = live->view;
  if (rs.metadata.deletionTimestamp) {
    // Its garbage collection ends with the name free again.
    ctx.fail(Result::transient("ReplicaSet " + name + " is being deleted"));
    return nullptr;
  }
  rapidjson::Document scratch;
  const std::string desired = api::toJson(podTemplate(ctx.rollout, hash, scratch.GetAllocator()));
  const bool sameTemplate = podTemplateMatches(live->podTemplate, desired);
  const auto* controller = controllerOf(rs.metadata);
  if (sameTemplate && (!controller || controller->uid == ctx.rollout.metadata.uid)) {
    auto view = std::make_shared<const ReplicaSetView>(rs);
    if (!controller) {
      auto refs = rs.metadata.ownerReferences;
      refs.push_back(ownerReference(ctx.rollout));
      ctx.patchFor(*view).ownerReferences = std::move(refs);
      spdlog::info("{}: adopting ReplicaSet {} found on create", ctx.key, name);
    } else {
      spdlog::info("{}: ReplicaSet {} exists already and is this Rollout's (the cache is behind)",
                   ctx.key, name);
    }
    ctx.allRSs.push_back(view);
    return view;
  }
  int32_t count = ctx.newStatus.collisionCount.value_or(0) + 1;
  ctx.newStatus.collisionCount = count;
  const std::string why = !sameTemplate
                              ? "has another pod template"
                              : "is controlled by " + controller->kind + " " + controller->name;
  ctx.event(
      EventType::kWarning, "HashCollision",
      "ReplicaSet " + name + " exists and " + why + ": collisionCount " + std::to_string(count));
  spdlog::warn("{}: hash collision on {} ({}), collisionCount {}", ctx.key, name, why, count);
  ctx.writeStatusOnFailure = true;
  ctx.fail(Result::transient("hash collision on ReplicaSet " + name));
  return nullptr;
}

// Fills in the text of ctx.rollout's pod template, which the cache does not keep
// (RolloutView), from the API server. The Rollout read must be the cached one: the same uid
// and a template with the same hash. Otherwise the cache is behind (the template changed
// since), and nothing is created from a template the cache has not seen: the reconcile is
// retried (the informer's update enqueues it as well). False when the reconcile stops.
bool loadTemplateText(Context& ctx) {
  api::PodTemplate& tpl = *ctx.rollout.spec.podTemplate;
  if (!tpl.trimmedFnv32a) return true;
  const auto& meta = ctx.rollout.metadata;
  auto live = ctx.writer.readRollout(meta.namespace_, meta.name);
  if (!live && live.error().kind == WriteError::Kind::kNotFound) {
    // Deleted since the cache was read: garbage collection removes what it owned.
    Result gone;
    gone.message = "Rollout deleted during the reconcile";
    ctx.fail(std::move(gone));
    return false;
  }
  if (!live) {
    ctx.fail(
        Result::transient("read Rollout for its pod template: " + describeError(live.error())));
    return false;
  }
  auto& liveTpl = live->spec.podTemplate;
  if (live->metadata.uid != meta.uid || !liveTpl ||
      podTemplateState(*liveTpl) != *tpl.trimmedFnv32a) {
    ctx.fail(Result::transient(
        "the Rollout's pod template changed since the cache was read (resourceVersion " +
        meta.resourceVersion + ", now " + live->metadata.resourceVersion +
        "); waiting for the cache"));
    return false;
  }
  tpl.json = std::move(liveTpl->json);
  tpl.trimmedFnv32a.reset();
  return true;
}

// Creates the ReplicaSet for `hash`; when the name is taken, see takeExisting.
Ptr<ReplicaSetView> createReplicaSet(Context& ctx, const std::string& hash, int32_t replicas) {
  if (!loadTemplateText(ctx)) return nullptr;
  const auto& ns = ctx.rollout.metadata.namespace_;
  const std::string name = replicaSetName(ctx.rollout.metadata.name, hash);
  int64_t revision = 0;
  for (const auto& rs : ctx.allRSs) revision = std::max(revision, revisionOf(*rs));
  auto created = ctx.writer.createReplicaSet(ns, replicaSetBody(ctx, hash, replicas, revision + 1));
  if (!created) {
    if (created.error().kind == WriteError::Kind::kAlreadyExists) {
      auto existing = takeExisting(ctx, hash, name);
      if (existing) setReplicas(ctx, *existing, replicas);
      return existing;
    }
    ctx.fail(
        Result::transient("create ReplicaSet " + name + ": " + describeError(created.error())));
    return nullptr;
  }
  ctx.event(EventType::kNormal, "CreatedReplicaSet",
            "Created ReplicaSet " + name + " with " + std::to_string(replicas) + " replicas",
            false);
  spdlog::info("{}: created ReplicaSet {} ({} replicas)", ctx.key, name, replicas);
  auto view = std::make_shared<const ReplicaSetView>(std::move(*created));
  ctx.allRSs.push_back(view);
  return view;
}

void flush(Context& ctx, const ReplicaSetView& rs) {
  auto it = ctx.patches.find(rs.metadata.name);
  if (it == ctx.patches.end() || it->second.empty()) return;
  const ReplicaSetPatch patch = it->second;
  ctx.patches.erase(it);
  auto r =
      ctx.writer.patchReplicaSet(rs.metadata.namespace_, rs.metadata.name, patchBody(rs, patch));
  if (!r) {
    ctx.fail(Result::transient("patch ReplicaSet " + rs.metadata.name + ": " +
                               describeError(r.error())));
    return;
  }
  if (patch.ownerReferences)
    ctx.event(EventType::kNormal, "AdoptedReplicaSet", "Adopted ReplicaSet " + rs.metadata.name,
              false);
  if (patch.replicas) {
    ctx.event(EventType::kNormal, "ScaledReplicaSet",
              "Scaled ReplicaSet " + rs.metadata.name + " from " + std::to_string(rs.specReplicas) +
                  " to " + std::to_string(*patch.replicas),
              false);
    spdlog::info("{}: scaled ReplicaSet {} from {} to {}", ctx.key, rs.metadata.name,
                 rs.specReplicas, *patch.replicas);
  }
}

}  // namespace

std::string_view toString(WriteError::Kind kind) {
  switch (kind) {
    case WriteError::Kind::kConflict:
      return "Conflict";
    case WriteError::Kind::kNotFound:
      return "NotFound";
    case WriteError::Kind::kAlreadyExists:
      return "AlreadyExists";
    case WriteError::Kind::kInvalid:
      return "Invalid";
    case WriteError::Kind::kForbidden:
      return "Forbidden";
    case WriteError::Kind::kOther:
      return "Other";
  }
  return "Other";
}

int64_t revisionOf(const ReplicaSetView& rs) {
  auto it = rs.metadata.annotations.find(std::string(kRevisionAnnotation));
  if (it == rs.metadata.annotations.end()) return 0;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return ec == std::errc() && ptr == it->second.data() + it->second.size() ? v : 0;
}

void classifyReplicaSets(Context& ctx) {
  const auto& rollout = ctx.rollout;
  const auto& ns = rollout.metadata.namespace_;
  ctx.desiredHash = podTemplateHash(*rollout.spec.podTemplate, rollout.status.collisionCount);
  ctx.allRSs.clear();
  for (auto& rs : ctx.lister.replicaSetsOwnedBy(ns, rollout.metadata.uid))
    if (ownedBy(*rs, rollout) && !rs->metadata.deletionTimestamp) ctx.allRSs.push_back(rs);
  // Adopt orphans of canaryd's making that match the selector (ControllerRefManager).
  for (auto& rs : ctx.lister.replicaSetsMatching(ns, *rollout.spec.selector)) {
    if (controllerOf(rs->metadata) || rs->metadata.deletionTimestamp || rs->podTemplateHash.empty())
      continue;
    auto refs = rs->metadata.ownerReferences;
    refs.push_back(ownerReference(rollout));
    ctx.patchFor(*rs).ownerReferences = std::move(refs);
    ctx.allRSs.push_back(rs);
    spdlog::info("{}: adopting ReplicaSet {}", ctx.key, rs->metadata.name);
  }
  // Deterministic order: by name.
  std::sort(ctx.allRSs.begin(), ctx.allRSs.end(),
            [](const auto& a, const auto& b) { return a->metadata.name < b->metadata.name; });
  sortReplicaSets(ctx);
}

void sortReplicaSets(Context& ctx) {
  ctx.stableRS = nullptr;
  ctx.canaryRS = nullptr;
  ctx.otherRSs.clear();
  const std::string& stableHash = ctx.newStatus.stableRS;
  const bool active = ctx.canaryActive();
  // Prefer the ReplicaSet with canaryd's own name when two carry one hash.
  auto pick = [&](const std::string& hash) -> Ptr<ReplicaSetView> {
    Ptr<ReplicaSetView> found;
    for (const auto& rs : ctx.allRSs) {
      if (rs->podTemplateHash != hash) continue;
      if (rs->metadata.name == replicaSetName(ctx.rollout.metadata.name, hash)) return rs;
      if (!found) found = rs;
    }
    return found;
  };
  if (!stableHash.empty()) ctx.stableRS = pick(stableHash);
  if (active) ctx.canaryRS = pick(ctx.desiredHash);
  for (const auto& rs : ctx.allRSs)
    if (rs != ctx.stableRS && rs != ctx.canaryRS) ctx.otherRSs.push_back(rs);
}

void reconcileReplicaSets(Context& ctx, const DesiredScale& scale) {
  const bool active = ctx.canaryActive();
  if (ctx.stableRS) {
    setReplicas(ctx, *ctx.stableRS, scale.stable);
  } else if (!active) {
    // The template is the stable one, so a missing stable ReplicaSet can be made again.
    ctx.stableRS = createReplicaSet(ctx, ctx.desiredHash, scale.stable);
    if (ctx.failure) return;
  } else {
    spdlog::warn("{}: stable ReplicaSet {} not found", ctx.key,
                 replicaSetName(ctx.rollout.metadata.name, ctx.newStatus.stableRS));
  }
  if (active) {
    if (ctx.canaryRS) {
      setReplicas(ctx, *ctx.canaryRS, scale.canary);
    } else {
      ctx.canaryRS = createReplicaSet(ctx, ctx.desiredHash, scale.canary);
      if (ctx.failure) return;
    }
  }
  // A stable or canary ReplicaSet has no business with a scale-down deadline (left by a
  // promotion that was rolled back, say).
  for (const auto& rs : {ctx.stableRS, ctx.canaryRS})
    if (rs && hasDeadlineAnnotation(*rs))
      ctx.patchFor(*rs).annotations[std::string(kScaleDownDeadlineAnnotation)] = std::nullopt;

  const int32_t delay = ctx.canary.scaleDownDelaySeconds;
  for (const auto& rs : ctx.otherRSs) {
    int32_t desired = 0;
    auto deadline = scaleDownDeadline(*rs);
    if (!deadline && rs == ctx.demotedStableRS && delay > 0 && rs->specReplicas > 0) {
      // The old stable keeps serving for scaleDownDelaySeconds after a promotion; the
      // deadline lives on the object so that a restart keeps it.
      deadline = ctx.now + std::chrono::seconds(delay);
      ctx.patchFor(*rs).annotations[std::string(kScaleDownDeadlineAnnotation)] =
          api::formatTime(*deadline);
    }
    if (deadline && ctx.now < *deadline) {
      desired = rs->specReplicas;
      ctx.requeueNoLaterThan(*deadline);
    } else if (hasDeadlineAnnotation(*rs)) {
      ctx.patchFor(*rs).annotations[std::string(kScaleDownDeadlineAnnotation)] = std::nullopt;
    }
    setReplicas(ctx, *rs, desired);
  }

  // Stable first (scale up before down), then canary, then the others.
  std::vector<Ptr<ReplicaSetView>> order;
  if (ctx.stableRS) order.push_back(ctx.stableRS);
  if (ctx.canaryRS) order.push_back(ctx.canaryRS);
  order.insert(order.end(), ctx.otherRSs.begin(), ctx.otherRSs.end());
  for (const auto& rs : order) {
    flush(ctx, *rs);
    if (ctx.failure) return;
  }
}

void cleanupOldReplicaSets(Context& ctx) {
  std::vector<Ptr<ReplicaSetView>> idle;
  for (const auto& rs : ctx.otherRSs)
    if (rs->specReplicas == 0 && rs->replicas == 0 && !hasDeadlineAnnotation(*rs))
      idle.push_back(rs);
  const auto limit = static_cast<size_t>(std::max(0, ctx.rollout.spec.revisionHistoryLimit));
  if (idle.size() <= limit) return;
  // Newest first: by revision, then creation time, then name.
  std::sort(idle.begin(), idle.end(), [](const auto& a, const auto& b) {
    if (revisionOf(*a) != revisionOf(*b)) return revisionOf(*a) > revisionOf(*b);
    if (a->metadata.creationTimestamp != b->metadata.creationTimestamp)
      return a->metadata.creationTimestamp > b->metadata.creationTimestamp;
    return a->metadata.name > b->metadata.name;
  });
  for (size_t i = limit; i < idle.size(); ++i) {
    const auto& rs = *idle[i];
    auto r = ctx.writer.deleteReplicaSet(rs.metadata.namespace_, rs.metadata.name, rs.metadata.uid);
    if (!r && r.error().kind != WriteError::Kind::kNotFound) {
      ctx.fail(Result::transient("delete ReplicaSet " + rs.metadata.name + ": " +
                                 describeError(r.error())));
      return;
    }
    ctx.event(EventType::kNormal, "DeletedReplicaSet",
              "Deleted old ReplicaSet " + rs.metadata.name + " (revisionHistoryLimit " +
                  std::to_string(limit) + ")",
              false);
    spdlog::info("{}: deleted old ReplicaSet {}", ctx.key, rs.metadata.name);
  }
}

}  // namespace canaryd::controller
