#!/usr/bin/env python3
"""Checks RBAC rules against the API requests canaryd made.

    rbac_check.py REQUESTS_JSON MANIFEST SERVICE_ACCOUNT [--namespace NS] [--all-used]
                  [--same-rules-as MANIFEST SERVICE_ACCOUNT NS]

REQUESTS_JSON is kube-emulator's request log (GET /_emulator/requests?userAgent=canaryd):
{"requests": [{"verb", "group", "resource", "subresource", "namespace", "name", "code",
"userAgent"}, ...]}. MANIFEST is a multi-document YAML file (manifests/install.yaml or a
`helm template` rendering). SERVICE_ACCOUNT is NAMESPACE/NAME. --namespace: the namespace
of objects that name none (manifests/install-namespaced.yaml applied with -n).

The rules that apply are those of every Role and ClusterRole bound to the service
account by a RoleBinding (in its namespace) or a ClusterRoleBinding (everywhere), matched
as kube-apiserver's RBAC authorizer matches them: verb, API group, resource or
resource/subresource, and resourceNames only for requests that name an object (never
create, list or watch of a collection).

Fails (exit 1) when a request is not granted; with --all-used, also when a rule grants a
(verb, group, resource) that no request used, i.e. more than canaryd needs; with
--same-rules-as, also when the other manifest binds a different set of (verb, group,
resource, resourceNames) to its service account (a namespaced install granting exactly
what the cluster-wide one does). Prints the requests by (verb, group, resource) with
their counts either way.
"""
import argparse
import collections
import json
import sys

import yaml


def load_objects(path, default_namespace):
    objects = []
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if not isinstance(doc, dict) or "kind" not in doc:
                continue
            meta = doc.setdefault("metadata", {})
            if not meta.get("namespace") and doc["kind"] in ("Role", "RoleBinding"):
                meta["namespace"] = default_namespace
            objects.append(doc)
    return objects


def bound_rules(objects, sa_namespace, sa_name):
    """[(namespace or None for cluster-wide, rule, "Kind/name")] for the service account."""
    roles = {}
    for o in objects:
        if o["kind"] in ("Role", "ClusterRole"):
            roles[(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])] = o
    out = []
    for o in objects:
        if o["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        binding_ns = o["metadata"].get("namespace") if o["kind"] == "RoleBinding" else None
        applies = False
        for s in o.get("subjects") or []:
            if s.get("kind") != "ServiceAccount" or s.get("name") != sa_name:
                continue
            # A RoleBinding's ServiceAccount subject with no namespace is in the binding's.
            if (s.get("namespace") or binding_ns) == sa_namespace:
                applies = True
        if not applies:
            continue
        ref = o["roleRef"]
        role_ns = binding_ns if ref["kind"] == "Role" else None
        role = roles.get((ref["kind"], role_ns, ref["name"]))
        if role is None:
            sys.exit(f"{o['kind']} {o['metadata']['name']} refers to a missing {ref['kind']} "
                     f"{ref['name']}")
        for rule in role.get("rules") or []:
            out.append((binding_ns, rule, f"{ref['kind']}/{ref['name']}"))
    return out


def rule_set(rules):
    """The (verb, group, resource, resourceNames) a list of bound rules grants."""
    out = set()
    for _, rule, _ in rules:
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                for verb in rule.get("verbs", []):
                    out.add((verb, group, resource, tuple(sorted(rule.get("resourceNames") or []))))
    return out


def resource_of(req):
    return req["resource"] + ("/" + req["subresource"] if req.get("subresource") else "")


def matches(rule, scope_ns, req):
    if scope_ns is not None and req.get("namespace") != scope_ns:
        return False
    if req["verb"] not in rule.get("verbs", []) and "*" not in rule.get("verbs", []):
        return False
    if req.get("group", "") not in rule.get("apiGroups", []) and "*" not in rule.get(
            "apiGroups", []):
        return False
    if resource_of(req) not in rule.get("resources", []) and "*" not in rule.get(
            "resources", []):
        return False
    names = rule.get("resourceNames")
    if names:
        # As the RBAC authorizer: a request that names no object (create, list, watch of a
        # collection) never matches a rule with resourceNames.
        if req["verb"] in ("create", "list", "watch", "deletecollection") or not req.get("name"):
            return False
        return req["name"] in names
    return True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("requests")
    p.add_argument("manifest")
    p.add_argument("service_account")
    p.add_argument("--namespace", default="default")
    p.add_argument("--all-used", action="store_true")
    p.add_argument("--same-rules-as", nargs=3, metavar=("MANIFEST", "SERVICE_ACCOUNT", "NS"))
    args = p.parse_args()

    sa_ns, sa_name = args.service_account.split("/", 1)
    rules = bound_rules(load_objects(args.manifest, args.namespace), sa_ns, sa_name)
    if not rules:
        sys.exit(f"{args.manifest}: no rules bound to ServiceAccount {args.service_account}")
    with open(args.requests) as f:
        log = json.load(f)
    requests = log["requests"]
    if log.get("dropped"):
        sys.exit(f"the request log dropped {log['dropped']} entries")

    errors = []
    used = collections.Counter()
    non_resource = 0
    for req in requests:
        if not req.get("resource"):
            # /version, /api, /apis: non-resource URLs, readable by every authenticated
            # user through the built-in system:discovery ClusterRole.
            non_resource += 1
            continue
        used[(req["verb"], req.get("group", ""), resource_of(req))] += 1
        if not any(matches(rule, ns, req) for ns, rule, _ in rules):
            where = f" in {req['namespace']}" if req.get("namespace") else " (all namespaces)"
            name = f" {req['name']}" if req.get("name") else ""
            errors.append(f"not granted: {req['verb']} {resource_of(req)}"
                          f"{'.' + req['group'] if req.get('group') else ''}{name}{where}")

    if args.all_used:
        for ns, rule, role in rules:
            for group in rule.get("apiGroups", []):
                for resource in rule.get("resources", []):
                    for verb in rule.get("verbs", []):
                        probe = [r for r in requests if r.get("resource")
                                 and r["verb"] == verb and r.get("group", "") == group
                                 and resource_of(r) == resource]
                        if not any(matches(rule, ns, r) for r in probe):
                            names = rule.get("resourceNames")
                            errors.append(
                                f"granted but never used: {verb} {resource}"
                                f"{'.' + group if group else ''} ({role}"
                                f"{', names ' + ','.join(names) if names else ''})")

    if args.same_rules_as:
        other, other_sa, other_ns = args.same_rules_as
        o_ns, o_name = other_sa.split("/", 1)
        theirs = rule_set(bound_rules(load_objects(other, other_ns), o_ns, o_name))
        ours = rule_set(rules)
        for verb, group, resource, names in sorted(ours - theirs):
            errors.append(f"granted by {args.manifest} only: {verb} {resource}"
                          f"{'.' + group if group else ''} {list(names) or ''}")
        for verb, group, resource, names in sorted(theirs - ours):
            errors.append(f"granted by {other} only: {verb} {resource}"
                          f"{'.' + group if group else ''} {list(names) or ''}")

    print(f"{args.manifest}: {len(requests)} requests ({non_resource} non-resource), "
          f"{len(rules)} rules bound to {args.service_account}")
    by_group = sorted(used.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0]))
    for (verb, group, resource), n in by_group:
        print(f"  {verb:7} {resource}{'.' + group if group else ''}: {n}")
    # Deduplicated: one line per distinct refusal.
    for e in sorted(set(errors)):
        print("FAIL: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
