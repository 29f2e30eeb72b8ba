// What helm's --wait and kubectl rollout read from the emulator: Service ClusterIP
// allocation, the simulated deployment controller (owned ReplicaSets named by the
// pod-template-hash, rollouts, rollbacks, scaling, history cleanup), the kubelet's Pod
// status, and protobuf DeleteOptions bodies as client-go's typed clients send them.
#include <cstdio>
#include <map>
#include <set>

#include "emulator_test_fixture.h"

namespace canaryd::emulator::testing {
namespace {

const char* kServices = "/api/v1/namespaces/default/services";
const char* kDeployments = "/apis/apps/v1/namespaces/default/deployments";
const char* kReplicaSets = "/apis/apps/v1/namespaces/default/replicasets";
const char* kProtobuf = "application/vnd.kubernetes.protobuf";

std::string service(const std::string& name, const std::string& extraSpec = "") {
  return R"({"apiVersion":"v1","kind":"Service","metadata":{"name":")" + name + R"("},"spec":{)" +
         extraSpec + R"("selector":{"app":"web"},"ports":[{"port":80}]}})";
}

std::string deployment(const std::string& name, int replicas, const std::string& image,
                       const std::string& templateAnnotations = "{}") {
  return R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":")" + name +
         R"("},"spec":{"replicas":)" + std::to_string(replicas) +
         R"(,"selector":{"matchLabels":{"app":")" + name +
         R"("}},"template":{"metadata":{"labels":{"app":")" + name + R"("},"annotations":)" +
         templateAnnotations + R"(},"spec":{"containers":[{"name":"app","image":")" + image +
         R"("}]}}}})";
}

bool inServiceCidr(const std::string& ip) {
  unsigned a, b, c, d;
  if (std::sscanf(ip.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d) != 4) return false;
  return a == 10 && b >= 96 && b <= 111 && c <= 255 && d <= 255;
}

// The ReplicaSets of the default namespace, by name.
std::map<std::string, rapidjson::Document> replicaSets(unsigned short port) {
  std::map<std::string, rapidjson::Document> out;
  auto list = get(port, kReplicaSets).json();
  for (auto& item : list["items"].GetArray()) {
    rapidjson::Document d;
    d.CopyFrom(item, d.GetAllocator());
    out.emplace(str(item, "metadata.name"), std::move(d));
  }
  return out;
}

// Minimal protobuf encoding: length-delimited and varint fields.
std::string varint(uint64_t v) {
  std::string s;
  while (v >= 0x80) {
    s += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  s += static_cast<char>(v);
  return s;
}
std::string bytesField(int number, const std::string& bytes) {
  return varint(static_cast<uint64_t>(number) << 3 | 2) + varint(bytes.size()) + bytes;
}
std::string varintField(int number, uint64_t v) {
  return varint(static_cast<uint64_t>(number) << 3) + varint(v);
}
// "k8s\0" + runtime.Unknown{typeMeta{apiVersion: v1, kind: DeleteOptions}, raw}.
std::string deleteOptions(const std::string& raw) {
  return std::string("k8s\0", 4) +
         bytesField(1, bytesField(1, "v1") + bytesField(2, "DeleteOptions")) + bytesField(2, raw) +
         bytesField(3, "") + bytesField(4, "");
}

TEST_F(EmulatorTest, ServiceClusterIpAllocatedAndKept) {
  auto r = create(kServices, service("web"));
  ASSERT_EQ(r.status, 201u) << r.body;
  auto svc = r.json();
  std::string ip = str(svc, "spec.clusterIP");
  EXPECT_TRUE(inServiceCidr(ip)) << ip;
  ASSERT_TRUE(svc["spec"]["clusterIPs"].IsArray());
  ASSERT_EQ(svc["spec"]["clusterIPs"].Size(), 1u);
  EXPECT_EQ(std::string(svc["spec"]["clusterIPs"][0].GetString()), ip);
  EXPECT_EQ(str(svc, "spec.ipFamilyPolicy"), "SingleStack");
  EXPECT_EQ(str(svc, "spec.internalTrafficPolicy"), "Cluster");

  // An update without clusterIP keeps it (helm and kubectl replace send none).
  std::string put = R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},
      "spec":{"selector":{"app":"web2"},"ports":[{"port":81}]}})";
  r = send(port_, "PUT", std::string(kServices) + "/web", put);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str(r.json(), "spec.clusterIP"), ip);
  EXPECT_EQ(str(r.json(), "spec.selector.app"), "web2");
  // It cannot change once set.
  r = send(port_, "PATCH", std::string(kServices) + "/web", R"({"spec":{"clusterIP":"10.96.5.5"}})",
           "application/merge-patch+json");
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_NE(str(r.json(), "message").find("may not change once set"), std::string::npos);

  // The address is a function of namespace/name: recreated, the Service gets it again.
  ASSERT_EQ(send(port_, "DELETE", std::string(kServices) + "/web", "").status, 200u);
  r = create(kServices, service("web"));
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(str(r.json(), "spec.clusterIP"), ip);

  // Another Service gets another address; a taken one cannot be requested.
  r = create(kServices, service("api"));
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_NE(str(r.json(), "spec.clusterIP"), ip);
  EXPECT_TRUE(inServiceCidr(str(r.json(), "spec.clusterIP")));
  r = create(kServices, service("dup", R"("clusterIP":")" + ip + R"(",)"));
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_NE(str(r.json(), "message").find("provided IP is already allocated"), std::string::npos);

  // Headless Services keep None; ExternalName Services get no address.
  r = create(kServices, service("headless", R"("clusterIP":"None",)"));
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(str(r.json(), "spec.clusterIP"), "None");
  r = create(kServices, R"({"metadata":{"name":"ext"},"spec":{"type":"ExternalName",
      "externalName":"example.com"}})");
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(str(r.json(), "spec.clusterIP"), "");
}

TEST_F(EmulatorTest, DeploymentOwnsReplicaSetNamedByPodTemplateHash) {
  auto d = create(kDeployments, deployment("web", 2, "nginx:1")).json();
  std::string uid = str(d, "metadata.uid");
  ASSERT_TRUE(eventually([&] {
    auto dep = get(port_, std::string(kDeployments) + "/web").json();
    return num(dep, "status.availableReplicas") == 2 && num(dep, "status.updatedReplicas") == 2 &&
           num(dep, "status.observedGeneration") == 1;
  }));
  auto rss = replicaSets(port_);
  ASSERT_EQ(rss.size(), 1u);
  const auto& [name, rs] = *rss.begin();
  std::string hash = str(rs, "metadata.labels.pod-template-hash");
  ASSERT_FALSE(hash.empty());
  EXPECT_LE(hash.size(), 10u);
  EXPECT_EQ(hash.find_first_not_of("bcdfghjklmnpqrstvwxz2456789"), std::string::npos) << hash;
  EXPECT_EQ(name, "web-" + hash);
  EXPECT_EQ(str(rs, "metadata.labels.app"), "web");
  EXPECT_EQ(str(rs, "spec.selector.matchLabels.pod-template-hash"), hash);
  EXPECT_EQ(str(rs, "spec.selector.matchLabels.app"), "web");
  EXPECT_EQ(str(rs, "spec.template.metadata.labels.pod-template-hash"), hash);
  EXPECT_EQ(num(rs, "spec.replicas"), 2);
  EXPECT_EQ(num(rs, "status.readyReplicas"), 2);
  EXPECT_EQ(num(rs, "status.observedGeneration"), num(rs, "metadata.generation"));
  const auto& owner = rs["metadata"]["ownerReferences"][0];
  EXPECT_EQ(str(owner, "kind"), "Deployment");
  EXPECT_EQ(str(owner, "name"), "web");
  EXPECT_EQ(str(owner, "uid"), uid);
  EXPECT_TRUE(owner["controller"].GetBool());
  EXPECT_TRUE(owner["blockOwnerDeletion"].GetBool());
  EXPECT_EQ(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");
  auto dep = get(port_, std::string(kDeployments) + "/web").json();
  EXPECT_EQ(dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");
  // Available and Progressing name the ReplicaSet, as the deployment controller's.
  bool progressed = false;
  for (const auto& c : dep["status"]["conditions"].GetArray())
    if (str(c, "type") == "Progressing")
      progressed = str(c, "reason") == "NewReplicaSetAvailable" &&
                   str(c, "message") == "ReplicaSet \"" + name + "\" has successfully progressed.";
  EXPECT_TRUE(progressed);

  // Scaling the Deployment scales its ReplicaSet.
  auto p = send(port_, "PATCH", std::string(kDeployments) + "/web/scale",
                R"({"spec":{"replicas":3}})", "application/merge-patch+json");
  ASSERT_EQ(p.status, 200u) << p.body;
  ASSERT_TRUE(eventually([&] {
    auto r = get(port_, std::string(kReplicaSets) + "/" + name).json();
    auto dp = get(port_, std::string(kDeployments) + "/web").json();
    return num(r, "spec.replicas") == 3 && num(r, "status.readyReplicas") == 3 &&
           num(dp, "status.readyReplicas") == 3 && num(dp, "status.observedGeneration") == 2;
  }));
  EXPECT_EQ(replicaSets(port_).size(), 1u);

  // Deleting the Deployment collects its ReplicaSet.
  ASSERT_EQ(send(port_, "DELETE", std::string(kDeployments) + "/web", "").status, 200u);
  EXPECT_TRUE(eventually([&] { return replicaSets(port_).empty(); }));
}

TEST_F(EmulatorTest, DeploymentRolloutAndRollbackReuseReplicaSets) {
  create(kDeployments, deployment("web", 2, "nginx:1"));
  std::string first;
  ASSERT_TRUE(eventually([&] {
    auto rss = replicaSets(port_);
    if (rss.size() != 1 || num(rss.begin()->second, "status.readyReplicas") != 2) return false;
    first = rss.begin()->first;
    return true;
  }));
  // A new template: a second ReplicaSet, revision 2; the first drains once it is ready.
  auto p =
      send(port_, "PATCH", std::string(kDeployments) + "/web",
           R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:2"}]}}}})",
           "application/strategic-merge-patch+json");
  ASSERT_EQ(p.status, 200u) << p.body;
  std::string second;
  ASSERT_TRUE(eventually([&] {
    auto rss = replicaSets(port_);
    if (rss.size() != 2) return false;
    for (const auto& [n, rs] : rss)
      if (n != first) second = n;
    return num(rss[second], "status.readyReplicas") == 2 && num(rss[first], "spec.replicas") == 0 &&
           num(rss[first], "status.replicas") == 0;
  }));
  auto rss = replicaSets(port_);
  EXPECT_EQ(rss[second]["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "2");
  EXPECT_EQ(str(rss[second], "spec.template.spec.containers.0.image"), "nginx:2");
  ASSERT_TRUE(eventually([&] {
    auto d = get(port_, std::string(kDeployments) + "/web").json();
    return num(d, "status.replicas") == 2 && num(d, "status.updatedReplicas") == 2 &&
           num(d, "status.availableReplicas") == 2 &&
           d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2";
  }));

  // Back to the first template, as a client that round-tripped it through Go types
  // (creationTimestamp: null, resources: {}): its ReplicaSet comes back as revision 3.
  p = send(port_, "PATCH", std::string(kDeployments) + "/web",
           R"({"spec":{"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[
               {"name":"app","image":"nginx:1","resources":{}}]}}}})",
           "application/strategic-merge-patch+json");
  ASSERT_EQ(p.status, 200u) << p.body;
  ASSERT_TRUE(eventually([&] {
    auto rss = replicaSets(port_);
    return rss.size() == 2 && num(rss[first], "status.readyReplicas") == 2 &&
           num(rss[second], "status.replicas") == 0 &&
           rss[first]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3";
  }));
}

TEST_F(EmulatorTest, NeverReadyTemplateKeepsTheOldReplicaSet) {
  create(kDeployments, deployment("web", 2, "nginx:1"));
  ASSERT_TRUE(eventually([&] {
    auto d = get(port_, std::string(kDeployments) + "/web").json();
    return num(d, "status.availableReplicas") == 2;
  }));
  std::string body =
      deployment("web", 2, "nginx:2", R"({"emulator.canaryd.io/never-ready":"true"})");
  auto r = send(port_, "PUT", std::string(kDeployments) + "/web", body);
  ASSERT_EQ(r.status, 200u) << r.body;
  ASSERT_TRUE(eventually([&] {
    auto d = get(port_, std::string(kDeployments) + "/web").json();
    return num(d, "status.observedGeneration") == 2 && num(d, "status.updatedReplicas") == 2 &&
           num(d, "status.replicas") == 4;
  }));
  // A Deployment made after the change becomes ready, so the ready delay has passed
  // for the never-ready ReplicaSet too: its replicas stay unready, the old ones stay.
  create(kDeployments, deployment("later", 1, "nginx:1"));
  ASSERT_TRUE(eventually([&] {
    auto l = get(port_, std::string(kDeployments) + "/later").json();
    return num(l, "status.availableReplicas") == 1;
  }));
  auto d = get(port_, std::string(kDeployments) + "/web").json();
  EXPECT_EQ(num(d, "status.availableReplicas"), 2);
  EXPECT_EQ(num(d, "status.unavailableReplicas"), 2);
  int old = 0;
  for (const auto& [n, rs] : replicaSets(port_)) {
    if (n.rfind("web-", 0) != 0) continue;
    if (str(rs, "spec.template.spec.containers.0.image") == "nginx:1") {
      ++old;
      EXPECT_EQ(num(rs, "spec.replicas"), 2);
    } else {
      EXPECT_EQ(num(rs, "status.readyReplicas"), -1);  // omitted when 0
    }
  }
  EXPECT_EQ(old, 1);
}

TEST_F(EmulatorTest, RevisionHistoryLimitDeletesDrainedReplicaSets) {
  auto r = create(kDeployments,
                  R"({"metadata":{"name":"web"},"spec":{"replicas":1,"revisionHistoryLimit":1,
                      "selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":
                      {"app":"web"}},"spec":{"containers":[{"name":"app","image":"v1"}]}}}})");
  ASSERT_EQ(r.status, 201u) << r.body;
  for (std::string image : {"v2", "v3"}) {
    auto p = send(port_, "PATCH", std::string(kDeployments) + "/web",
                  R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":")" + image +
                      R"("}]}}}})",
                  "application/strategic-merge-patch+json");
    ASSERT_EQ(p.status, 200u) << p.body;
    // The status of this generation, not the previous one's (which reads the same).
    ASSERT_TRUE(eventually([&] {
      auto d = get(port_, std::string(kDeployments) + "/web").json();
      return num(d, "status.observedGeneration") == num(d, "metadata.generation") &&
             num(d, "status.updatedReplicas") == 1 && num(d, "status.availableReplicas") == 1 &&
             num(d, "status.replicas") == 1;
    }));
  }
  // The current ReplicaSet and one drained one (v2) remain; v1 was deleted.
  ASSERT_TRUE(eventually([&] { return replicaSets(port_).size() == 2; }));
  std::set<std::string> images;
  for (const auto& [n, rs] : replicaSets(port_))
    images.insert(str(rs, "spec.template.spec.containers.0.image"));
  EXPECT_EQ(images, (std::set<std::string>{"v2", "v3"}));
}

TEST_F(EmulatorTest, PodsBecomeRunningAndReady) {
  auto r = create("/api/v1/namespaces/default/pods",
                  R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"x"}]}})");
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(str(r.json(), "status.phase"), "Pending");
  ASSERT_TRUE(eventually([&] {
    return str(get(port_, "/api/v1/namespaces/default/pods/p").json(), "status.phase") == "Running";
  }));
  auto pod = get(port_, "/api/v1/namespaces/default/pods/p").json();
  bool ready = false;
  for (const auto& c : pod["status"]["conditions"].GetArray())
    if (str(c, "type") == "Ready") ready = str(c, "status") == "True";
  EXPECT_TRUE(ready);
  EXPECT_TRUE(pod["status"]["containerStatuses"][0]["ready"].IsTrue());
  EXPECT_FALSE(str(pod, "status.podIP").empty());

  r = create("/api/v1/namespaces/default/pods",
             R"({"metadata":{"name":"q","annotations":{"emulator.canaryd.io/never-ready":"true"}},
                 "spec":{"containers":[{"name":"c","image":"x"}]}})");
  ASSERT_EQ(r.status, 201u) << r.body;
  ASSERT_TRUE(eventually([&] {
    return str(get(port_, "/api/v1/namespaces/default/pods/q").json(), "status.phase") == "Running";
  }));
  pod = get(port_, "/api/v1/namespaces/default/pods/q").json();
  std::string qReady;
  for (const auto& c : pod["status"]["conditions"].GetArray())
    if (str(c, "type") == "Ready") qReady = str(c, "status");
  EXPECT_EQ(qReady, "False");
}

TEST_F(EmulatorTest, ProtobufDeleteOptions) {
  const std::string cms = "/api/v1/namespaces/default/configmaps";
  auto c = create(cms, R"({"metadata":{"name":"c"},"data":{"k":"v"}})").json();
  std::string uid = str(c, "metadata.uid");
  // preconditions {uid} that does not match: 409.
  auto r = send(port_, "DELETE", cms + "/c", deleteOptions(bytesField(2, bytesField(1, "nope"))),
                kProtobuf);
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_NE(str(r.json(), "message").find("Precondition failed: UID in precondition: nope"),
            std::string::npos);
  // dryRun: ["All"]: answered, nothing deleted.
  r = send(port_, "DELETE", cms + "/c", deleteOptions(bytesField(5, "All")), kProtobuf);
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(get(port_, cms + "/c").status, 200u);
  // gracePeriodSeconds, matching preconditions and propagationPolicy: deleted.
  std::string raw =
      varintField(1, 0) + bytesField(2, bytesField(1, uid)) + bytesField(4, "Background");
  r = send(port_, "DELETE", cms + "/c", deleteOptions(raw), kProtobuf);
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str(r.json(), "status"), "Success");
  EXPECT_EQ(get(port_, cms + "/c").status, 404u);

  // helm's storage driver deletes with empty options.
  create(cms, R"({"metadata":{"name":"d"}})");
  r = send(port_, "DELETE", cms + "/d", deleteOptions(""), kProtobuf);
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(get(port_, cms + "/d").status, 404u);

  // propagationPolicy Orphan: the Deployment goes, its ReplicaSet stays without owner.
  create(kDeployments, deployment("web", 1, "nginx"));
  ASSERT_TRUE(eventually([&] { return replicaSets(port_).size() == 1; }));
  r = send(port_, "DELETE", std::string(kDeployments) + "/web",
           deleteOptions(bytesField(4, "Orphan")), kProtobuf);
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(get(port_, std::string(kDeployments) + "/web").status, 404u);
  auto rss = replicaSets(port_);
  ASSERT_EQ(rss.size(), 1u);
  EXPECT_FALSE(rss.begin()->second["metadata"].HasMember("ownerReferences"));

  // Not protobuf, or a DeleteOptions of another kind: 400 as kube-apiserver.
  create(cms, R"({"metadata":{"name":"e"}})");
  r = send(port_, "DELETE", cms + "/e", "garbage", kProtobuf);
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(str(r.json(), "reason"), "BadRequest");
  std::string wrongKind = std::string("k8s\0", 4) +
                          bytesField(1, bytesField(1, "v1") + bytesField(2, "ConfigMap")) +
                          bytesField(2, "");
  r = send(port_, "DELETE", cms + "/e", wrongKind, kProtobuf);
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(get(port_, cms + "/e").status, 200u);
}

}  // namespace
}  // namespace canaryd::emulator::testing
