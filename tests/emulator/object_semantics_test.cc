// Object semantics of kube-emulator over HTTP: metadata the server sets, generation
// rules, status isolation, optimistic concurrency, Status errors, selectors, paging,
// finalizers and garbage collection.
#include "emulator_test_fixture.h"

namespace canaryd::emulator::testing {
namespace {

const char* kDeployments = "/apis/apps/v1/namespaces/default/deployments";

std::string deployment(const std::string& name, int replicas, const std::string& image) {
  return R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":")" + name +
         R"(","labels":{"app":")" + name + R"("}},"spec":{"replicas":)" + std::to_string(replicas) +
         R"(,"selector":{"matchLabels":{"app":")" + name +
         R"("}},"template":{"metadata":{"labels":{"app":")" + name +
         R"("}},"spec":{"containers":[{"name":"app","image":")" + image + R"("}]}}}})";
}

std::string configMap(const std::string& name, const std::string& labels = "{}") {
  return R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + name + R"(","labels":)" +
         labels + R"(},"data":{"k":"v"}})";
}

TEST_F(EmulatorTest, CreateSetsServerFields) {
  auto r = create(kDeployments, deployment("web", 2, "nginx"));
  ASSERT_EQ(r.status, 201u) << r.body;
  auto d = r.json();
  EXPECT_EQ(str(d, "metadata.namespace"), "default");
  EXPECT_EQ(str(d, "metadata.uid").size(), 36u);
  EXPECT_FALSE(str(d, "metadata.creationTimestamp").empty());
  EXPECT_FALSE(str(d, "metadata.resourceVersion").empty());
  EXPECT_EQ(num(d, "metadata.generation"), 1);
  // apps/v1 defaults.
  EXPECT_EQ(str(d, "spec.strategy.type"), "RollingUpdate");
  EXPECT_EQ(num(d, "spec.revisionHistoryLimit"), 10);
  // ConfigMaps keep no generation.
  auto cm = create("/api/v1/namespaces/default/configmaps", configMap("c")).json();
  EXPECT_EQ(num(cm, "metadata.generation"), -1);
}

TEST_F(EmulatorTest, GenerateNameAndMonotonicResourceVersions) {
  auto a = create("/api/v1/namespaces/default/configmaps",
                  R"({"metadata":{"generateName":"cfg-"},"data":{}})")
               .json();
  auto b = create("/api/v1/namespaces/default/configmaps",
                  R"({"metadata":{"generateName":"cfg-"},"data":{}})")
               .json();
  std::string na = str(a, "metadata.name"), nb = str(b, "metadata.name");
  EXPECT_EQ(na.size(), 9u);
  EXPECT_EQ(na.rfind("cfg-", 0), 0u);
  EXPECT_NE(na, nb);
  EXPECT_LT(std::stoull(str(a, "metadata.resourceVersion")),
            std::stoull(str(b, "metadata.resourceVersion")));
}

TEST_F(EmulatorTest, GenerationChangesOnlyWithSpec) {
  auto d = create(kDeployments, deployment("web", 2, "nginx")).json();
  std::string rv1 = str(d, "metadata.resourceVersion");
  // A metadata-only change: new resourceVersion, same generation.
  auto p = send(port_, "PATCH", std::string(kDeployments) + "/web",
                R"({"metadata":{"labels":{"tier":"front"}}})", "application/merge-patch+json");
  ASSERT_EQ(p.status, 200u) << p.body;
  EXPECT_EQ(num(p.json(), "metadata.generation"), 1);
  EXPECT_NE(str(p.json(), "metadata.resourceVersion"), rv1);
  // A spec change bumps it.
  p = send(port_, "PATCH", std::string(kDeployments) + "/web", R"({"spec":{"replicas":3}})",
           "application/merge-patch+json");
  EXPECT_EQ(num(p.json(), "metadata.generation"), 2);
  // A status change through the main endpoint is ignored entirely: no write at all.
  // Let the simulated controller settle the status first, so nothing else writes.
  ASSERT_TRUE(eventually([&] {
    auto d = get(port_, std::string(kDeployments) + "/web").json();
    return num(d, "status.readyReplicas") == 3 && num(d, "status.observedGeneration") == 2;
  }));
  auto cur = get(port_, std::string(kDeployments) + "/web").json();
  std::string rv3 = str(cur, "metadata.resourceVersion");
  auto before = num(cur, "status.replicas");
  p = send(port_, "PATCH", std::string(kDeployments) + "/web", R"({"status":{"replicas":99}})",
           "application/merge-patch+json");
  EXPECT_EQ(num(p.json(), "metadata.generation"), 2);
  EXPECT_EQ(num(p.json(), "status.replicas"), before);
  EXPECT_EQ(str(p.json(), "metadata.resourceVersion"), rv3);
}

TEST_F(EmulatorTest, StatusSubresourceIsolation) {
  createWidgetCrd();
  auto w = create("/apis/example.com/v1/namespaces/default/widgets",
                  R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},
                      "spec":{"size":"small","replicas":1},"status":{"phase":"Ignored"}})");
  ASSERT_EQ(w.status, 201u) << w.body;
  EXPECT_EQ(str(w.json(), "status.phase"), "");  // status dropped on create
  auto obj = w.json();
  // PUT /status: only status changes, whatever else the body says.
  std::string body =
      R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w","resourceVersion":")" +
      str(obj, "metadata.resourceVersion") +
      R"(","labels":{"x":"y"}},"spec":{"size":"large","replicas":1},"status":{"phase":"Ready"}})";
  auto s = send(port_, "PUT", "/apis/example.com/v1/namespaces/default/widgets/w/status", body);
  ASSERT_EQ(s.status, 200u) << s.body;
  EXPECT_EQ(str(s.json(), "status.phase"), "Ready");
  EXPECT_EQ(str(s.json(), "spec.size"), "small");
  EXPECT_EQ(str(s.json(), "metadata.labels.x"), "");
  EXPECT_EQ(num(s.json(), "metadata.generation"), 1);
  // The main endpoint ignores status.
  auto m = send(port_, "PATCH", "/apis/example.com/v1/namespaces/default/widgets/w",
                R"({"spec":{"size":"large"},"status":{"phase":"Gone"}})",
                "application/merge-patch+json");
  ASSERT_EQ(m.status, 200u) << m.body;
  EXPECT_EQ(str(m.json(), "status.phase"), "Ready");
  EXPECT_EQ(str(m.json(), "spec.size"), "large");
  EXPECT_EQ(num(m.json(), "metadata.generation"), 2);
}

TEST_F(EmulatorTest, StaleResourceVersionConflicts) {
  auto c = create("/api/v1/namespaces/default/configmaps", configMap("c")).json();
  std::string rv = str(c, "metadata.resourceVersion");
  std::string body =
      R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","resourceVersion":")" + rv +
      R"("},"data":{"k":"2"}})";
  ASSERT_EQ(send(port_, "PUT", "/api/v1/namespaces/default/configmaps/c", body).status, 200u);
  // The same resourceVersion again is now stale.
  auto r = send(port_, "PUT", "/api/v1/namespaces/default/configmaps/c", body);
  EXPECT_EQ(r.status, 409u);
  auto st = r.json();
  EXPECT_EQ(str(st, "kind"), "Status");
  EXPECT_EQ(str(st, "reason"), "Conflict");
  EXPECT_EQ(str(st, "message"),
            "Operation cannot be fulfilled on configmaps \"c\": the object has been modified; "
            "please apply your changes to the latest version and try again");
  EXPECT_EQ(num(st, "code"), 409);
  // A patch carrying a stale resourceVersion conflicts too.
  r = send(port_, "PATCH", "/api/v1/namespaces/default/configmaps/c",
           R"({"metadata":{"resourceVersion":")" + rv + R"("},"data":{"k":"3"}})",
           "application/merge-patch+json");
  EXPECT_EQ(r.status, 409u);
}

TEST_F(EmulatorTest, StatusErrors) {
  auto nf = get(port_, "/apis/apps/v1/namespaces/default/deployments/nope");
  EXPECT_EQ(nf.status, 404u);
  EXPECT_EQ(str(nf.json(), "reason"), "NotFound");
  EXPECT_EQ(str(nf.json(), "message"), "deployments.apps \"nope\" not found");
  EXPECT_EQ(str(nf.json(), "details.kind"), "deployments");
  EXPECT_EQ(get(port_, "/apis/nope.io/v1/things").status, 404u);

  ASSERT_EQ(create("/api/v1/namespaces/default/configmaps", configMap("dup")).status, 201u);
  auto ae = create("/api/v1/namespaces/default/configmaps", configMap("dup"));
  EXPECT_EQ(ae.status, 409u);
  EXPECT_EQ(str(ae.json(), "reason"), "AlreadyExists");
  EXPECT_EQ(str(ae.json(), "message"), "configmaps \"dup\" already exists");

  auto inv = create("/api/v1/namespaces/default/configmaps", configMap("Bad_Name"));
  EXPECT_EQ(inv.status, 422u);
  auto iv = inv.json();
  EXPECT_EQ(str(iv, "reason"), "Invalid");
  EXPECT_EQ(str(iv, "details.causes.0.field"), "metadata.name");
  EXPECT_EQ(str(iv, "details.causes.0.reason"), "FieldValueInvalid");
  EXPECT_EQ(str(iv, "message")
                .rfind("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: "
                       "\"Bad_Name\": a lowercase RFC 1123 subdomain",
                       0),
            0u);

  auto bad = create("/api/v1/namespaces/default/configmaps", "{not json");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(str(bad.json(), "reason"), "BadRequest");

  auto wrongKind = create("/api/v1/namespaces/default/configmaps",
                          R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}})");
  EXPECT_EQ(wrongKind.status, 400u);

  EXPECT_EQ(send(port_, "POST", "/api/v1/namespaces/default/configmaps/dup", "{}").status, 405u);
  auto ssa = send(port_, "PATCH", "/api/v1/namespaces/default/configmaps/dup", "{}",
                  "application/apply-patch+yaml");
  EXPECT_EQ(ssa.status, 415u);
  EXPECT_EQ(str(ssa.json(), "reason"), "UnsupportedMediaType");
  auto noNs = create("/api/v1/namespaces/missing/configmaps", configMap("x"));
  EXPECT_EQ(noNs.status, 404u);
  EXPECT_EQ(str(noNs.json(), "message"), "namespaces \"missing\" not found");
  auto deploy =
      create(kDeployments, R"({"metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"a":"b"}},
      "template":{"metadata":{"labels":{"a":"c"}},"spec":{"containers":[{"name":"x","image":"y"}]}}}})");
  EXPECT_EQ(deploy.status, 422u);
  EXPECT_NE(str(deploy.json(), "message").find("`selector` does not match template `labels`"),
            std::string::npos);
}

TEST_F(EmulatorTest, LabelAndFieldSelectors) {
  create("/api/v1/namespaces/default/configmaps", configMap("a", R"({"env":"prod","tier":"web"})"));
  create("/api/v1/namespaces/default/configmaps", configMap("b", R"({"env":"dev"})"));
  create("/api/v1/namespaces/default/configmaps", configMap("c", "{}"));
  auto names = [&](const std::string& query) {
    auto r = get(port_, "/api/v1/namespaces/default/configmaps?" + query);
    std::string out;
    auto d = r.json();
    if (!d.IsObject() || !d.HasMember("items")) return "status " + std::to_string(r.status);
    for (const auto& i : d["items"].GetArray()) out += str(i, "metadata.name");
    return out;
  };
  EXPECT_EQ(names("labelSelector=env%3Dprod"), "a");
  EXPECT_EQ(names("labelSelector=env%3D%3Dprod"), "a");
  EXPECT_EQ(names("labelSelector=env!%3Dprod"), "bc");
  EXPECT_EQ(names("labelSelector=env+in+(prod,dev)"), "ab");
  EXPECT_EQ(names("labelSelector=env+notin+(prod)"), "bc");
  EXPECT_EQ(names("labelSelector=tier"), "a");
  EXPECT_EQ(names("labelSelector=!env"), "c");
  EXPECT_EQ(names("labelSelector=env,!tier"), "b");
  EXPECT_EQ(names("fieldSelector=metadata.name%3Db"), "b");
  EXPECT_EQ(names("fieldSelector=metadata.name!%3Db"), "ac");
  EXPECT_EQ(names("labelSelector=env+in+prod"), "status 400");
  EXPECT_EQ(names("fieldSelector=spec.foo%3Dx"), "status 400");
}

TEST_F(EmulatorTest, PagedList) {
  for (int i = 0; i < 7; ++i)
    create("/api/v1/namespaces/default/configmaps", configMap("cm" + std::to_string(i)));
  std::string cont, all;
  int pages = 0;
  std::string firstRv;
  do {
    auto r = get(port_, "/api/v1/namespaces/default/configmaps?limit=3" +
                            (cont.empty() ? "" : "&continue=" + cont))
                 .json();
    ++pages;
    if (firstRv.empty()) firstRv = str(r, "metadata.resourceVersion");
    EXPECT_EQ(str(r, "metadata.resourceVersion"), firstRv);
    for (const auto& i : r["items"].GetArray()) all += str(i, "metadata.name") + ",";
    cont = str(r, "metadata.continue");
    if (pages == 1) {
      EXPECT_EQ(num(r, "metadata.remainingItemCount"), 4);
    }
  } while (!cont.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(all, "cm0,cm1,cm2,cm3,cm4,cm5,cm6,");
  // A token older than a compaction has expired.
  auto r = get(port_, "/api/v1/namespaces/default/configmaps?limit=3").json();
  std::string token = str(r, "metadata.continue");
  create("/api/v1/namespaces/default/configmaps", configMap("later"));
  ASSERT_EQ(send(port_, "POST", "/_emulator/compact", "").status, 200u);
  auto expired = get(port_, "/api/v1/namespaces/default/configmaps?limit=3&continue=" + token);
  EXPECT_EQ(expired.status, 410u);
  EXPECT_EQ(str(expired.json(), "reason"), "Expired");
}

TEST_F(EmulatorTest, FinalizersDelayDeletion) {
  create("/api/v1/namespaces/default/configmaps",
         R"({"metadata":{"name":"f","finalizers":["example.com/hold"]},"data":{}})");
  auto del = send(port_, "DELETE", "/api/v1/namespaces/default/configmaps/f", "");
  ASSERT_EQ(del.status, 200u);
  EXPECT_FALSE(str(del.json(), "metadata.deletionTimestamp").empty());
  auto still = get(port_, "/api/v1/namespaces/default/configmaps/f");
  EXPECT_EQ(still.status, 200u);
  // New finalizers are refused while deleting.
  auto add = send(port_, "PATCH", "/api/v1/namespaces/default/configmaps/f",
                  R"({"metadata":{"finalizers":["example.com/hold","other/x"]}})",
                  "application/merge-patch+json");
  EXPECT_EQ(add.status, 422u);
  auto rm = send(port_, "PATCH", "/api/v1/namespaces/default/configmaps/f",
                 R"({"metadata":{"finalizers":null}})", "application/merge-patch+json");
  EXPECT_EQ(rm.status, 200u) << rm.body;
  EXPECT_EQ(get(port_, "/api/v1/namespaces/default/configmaps/f").status, 404u);
}

TEST_F(EmulatorTest, GarbageCollectionByOwnerReferences) {
  auto owner = create("/api/v1/namespaces/default/configmaps", configMap("owner")).json();
  std::string uid = str(owner, "metadata.uid");
  auto dependent = [&](const std::string& name) {
    return create(
        "/api/v1/namespaces/default/configmaps",
        R"({"metadata":{"name":")" + name +
            R"(","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"owner","uid":")" +
            uid + R"("}]},"data":{}})");
  };
  ASSERT_EQ(dependent("dep1").status, 201u);
  ASSERT_EQ(dependent("dep2").status, 201u);
  // Background (the default): the owner goes at once, dependents soon after.
  ASSERT_EQ(send(port_, "DELETE", "/api/v1/namespaces/default/configmaps/owner", "").status, 200u);
  EXPECT_EQ(get(port_, "/api/v1/namespaces/default/configmaps/owner").status, 404u);
  EXPECT_TRUE(eventually([&] {
    return get(port_, "/api/v1/namespaces/default/configmaps/dep1").status == 404 &&
           get(port_, "/api/v1/namespaces/default/configmaps/dep2").status == 404;
  }));
}

TEST_F(EmulatorTest, ForegroundAndOrphanDeletion) {
  auto mk = [&](const std::string& owner) {
    auto o = create("/api/v1/namespaces/default/configmaps", configMap(owner)).json();
    std::string uid = str(o, "metadata.uid");
    create(
        "/api/v1/namespaces/default/configmaps",
        R"({"metadata":{"name":")" + owner +
            R"(-dep","finalizers":["example.com/slow"],"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":")" +
            owner + R"(","uid":")" + uid + R"("}]},"data":{}})");
  };
  mk("fg");
  auto del = send(port_, "DELETE", "/api/v1/namespaces/default/configmaps/fg",
                  R"({"propagationPolicy":"Foreground"})");
  ASSERT_EQ(del.status, 200u);
  EXPECT_EQ(str(del.json(), "metadata.finalizers.0"), "foregroundDeletion");
  // The owner waits while its dependent (held by a finalizer) exists.
  EXPECT_TRUE(eventually([&] {
    return !str(get(port_, "/api/v1/namespaces/default/configmaps/fg-dep").json(),
                "metadata.deletionTimestamp")
                .empty();
  }));
  EXPECT_EQ(get(port_, "/api/v1/namespaces/default/configmaps/fg").status, 200u);
  send(port_, "PATCH", "/api/v1/namespaces/default/configmaps/fg-dep",
       R"({"metadata":{"finalizers":null}})", "application/merge-patch+json");
  EXPECT_TRUE(eventually(
      [&] { return get(port_, "/api/v1/namespaces/default/configmaps/fg").status == 404; }));

  mk("or");
  ASSERT_EQ(
      send(port_, "DELETE", "/api/v1/namespaces/default/configmaps/or?propagationPolicy=Orphan", "")
          .status,
      200u);
  auto dep = get(port_, "/api/v1/namespaces/default/configmaps/or-dep");
  EXPECT_EQ(dep.status, 200u);
  EXPECT_FALSE(dep.json()["metadata"].HasMember("ownerReferences"));
}

TEST_F(EmulatorTest, NamespaceDeletionRemovesContent) {
  ASSERT_EQ(create("/api/v1/namespaces", R"({"metadata":{"name":"tmp"}})").status, 201u);
  ASSERT_EQ(create("/api/v1/namespaces/tmp/configmaps", configMap("x")).status, 201u);
  auto del = send(port_, "DELETE", "/api/v1/namespaces/tmp", "");
  EXPECT_EQ(del.status, 200u);
  EXPECT_EQ(str(del.json(), "status.phase"), "Terminating");
  EXPECT_TRUE(eventually([&] { return get(port_, "/api/v1/namespaces/tmp").status == 404; }));
  EXPECT_EQ(get(port_, "/api/v1/namespaces/tmp/configmaps/x").status, 404u);
}

TEST_F(EmulatorTest, ScaleSubresource) {
  create(kDeployments, deployment("web", 2, "nginx"));
  auto s = get(port_, std::string(kDeployments) + "/web/scale").json();
  EXPECT_EQ(str(s, "kind"), "Scale");
  EXPECT_EQ(str(s, "apiVersion"), "autoscaling/v1");
  EXPECT_EQ(num(s, "spec.replicas"), 2);
  EXPECT_EQ(str(s, "status.selector"), "app=web");
  auto p = send(port_, "PATCH", std::string(kDeployments) + "/web/scale",
                R"({"spec":{"replicas":5}})", "application/merge-patch+json");
  ASSERT_EQ(p.status, 200u) << p.body;
  EXPECT_EQ(num(p.json(), "spec.replicas"), 5);
  auto d = get(port_, std::string(kDeployments) + "/web").json();
  EXPECT_EQ(num(d, "spec.replicas"), 5);
  EXPECT_EQ(num(d, "metadata.generation"), 2);
  auto neg = send(port_, "PATCH", std::string(kDeployments) + "/web/scale",
                  R"({"spec":{"replicas":-1}})", "application/merge-patch+json");
  EXPECT_EQ(neg.status, 422u);
}

TEST_F(EmulatorTest, ReplicaSetStatusConverges) {
  auto rs = [](const std::string& name, const std::string& annotations) {
    return R"({"metadata":{"name":")" + name +
           R"("},"spec":{"replicas":3,"selector":{"matchLabels":{"app":")" + name +
           R"("}},"template":{"metadata":{"labels":{"app":")" + name + R"("},"annotations":)" +
           annotations + R"(},"spec":{"containers":[{"name":"a","image":"b"}]}}}})";
  };
  ASSERT_EQ(create("/apis/apps/v1/namespaces/default/replicasets", rs("ok", "{}")).status, 201u);
  ASSERT_EQ(create("/apis/apps/v1/namespaces/default/replicasets",
                   rs("stuck", R"({"emulator.canaryd.io/never-ready":"true"})"))
                .status,
            201u);
  EXPECT_TRUE(eventually([&] {
    auto d = get(port_, "/apis/apps/v1/namespaces/default/replicasets/ok").json();
    return num(d, "status.readyReplicas") == 3 && num(d, "status.availableReplicas") == 3 &&
           num(d, "status.observedGeneration") == 1;
  }));
  auto stuck = get(port_, "/apis/apps/v1/namespaces/default/replicasets/stuck").json();
  EXPECT_EQ(num(stuck, "status.replicas"), 3);
  EXPECT_EQ(num(stuck, "status.readyReplicas"), -1);
  EXPECT_EQ(num(stuck, "status.observedGeneration"), 1);
}

TEST_F(EmulatorTest, DiscoveryAndOpenApi) {
  auto core = get(port_, "/api/v1").json();
  EXPECT_EQ(str(core, "kind"), "APIResourceList");
  auto groups = get(port_, "/apis").json();
  bool apps = false;
  for (const auto& g : groups["groups"].GetArray()) apps |= str(g, "name") == "apps";
  EXPECT_TRUE(apps);
  auto appsList = get(port_, "/apis/apps/v1").json();
  bool scale = false;
  for (const auto& r : appsList["resources"].GetArray())
    scale |= str(r, "name") == "deployments/scale" && str(r, "kind") == "Scale";
  EXPECT_TRUE(scale);
  auto index = get(port_, "/openapi/v3").json();
  EXPECT_FALSE(str(index, "paths.apis/apps/v1.serverRelativeURL").empty());
  auto doc = get(port_, "/openapi/v3/apis/apps/v1").json();
  const auto& patch =
      doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
  bool fieldValidation = false;
  for (const auto& p : patch["parameters"].GetArray())
    fieldValidation |= str(p, "name") == "fieldValidation";
  EXPECT_TRUE(fieldValidation);
  EXPECT_EQ(str(patch, "x-kubernetes-group-version-kind.kind"), "Deployment");
  EXPECT_EQ(get(port_, "/openapi/v2").status, 404u);
  EXPECT_EQ(str(get(port_, "/version").json(), "major"), "1");
}

}  // namespace
}  // namespace canaryd::emulator::testing
