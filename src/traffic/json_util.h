// Small helpers the routers share for reading and building Kubernetes objects as RapidJSON
// values: member lookup, strings, the controller ownerReference canaryd writes, and the
// mapping of client errors to router errors. Internal to traffic/. Pure functions.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>

#include "traffic/client_error.h"
#include "traffic/router.h"

namespace canaryd::traffic::detail {

using Alloc = rapidjson::Document::AllocatorType;

// The member `key` of `v` when `v` is an object that has it, else nullptr.
const rapidjson::Value* member(const rapidjson::Value& v, std::string_view key);
rapidjson::Value* member(rapidjson::Value& v, std::string_view key);

// The string at `key`, or "" when absent or not a string.
std::string stringAt(const rapidjson::Value& v, std::string_view key);

// A string value (copied into `alloc`).
rapidjson::Value str(std::string_view s, Alloc& alloc);

// Sets `obj[key] = value`, replacing an existing member. `obj` must be an object.
void setMember(rapidjson::Value& obj, std::string_view key, rapidjson::Value value, Alloc& alloc);

// `obj[key]`, created as an empty object when absent (or not an object).
rapidjson::Value& objectAt(rapidjson::Value& obj, std::string_view key, Alloc& alloc);

// The ownerReference canaryd puts on what it creates for `rollout`: apiVersion
// canaryd.io/v1alpha1, kind Rollout, controller and blockOwnerDeletion true, so that
// deleting the Rollout garbage-collects the object (Kubernetes garbage collector).
rapidjson::Value rolloutOwnerReference(const api::Rollout& rollout, Alloc& alloc);

// Whether `object`'s metadata.ownerReferences hold a controller reference to `rollout`
// (kind Rollout of group canaryd.io with the Rollout's uid; by name when the Rollout has no
// uid, which only happens to objects that were never stored).
bool ownedBy(const rapidjson::Value& object, const api::Rollout& rollout);

// "<Kind> <namespace>/<name>", for messages.
std::string objectRef(std::string_view kind, std::string_view ns, std::string_view name);

// A client failure as a router error: never the user's to fix (invalidSpec false), so the
// reconcile is retried. `what` says which call, e.g. "get Ingress shop/web".
RouterError clientFailure(std::string_view what, const ClientError& e);

}  // namespace canaryd::traffic::detail
