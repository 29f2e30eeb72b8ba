// CustomResourceDefinitions in kube-emulator: registration in discovery and OpenAPI,
// structural schema validation with kube-apiserver's messages, pruning, defaulting,
// strict field validation, printer columns as a Table, and removal.
#include "emulator_test_fixture.h"

namespace canaryd::emulator::testing {
namespace {

const char* kWidgets = "/apis/example.com/v1/namespaces/default/widgets";

std::string widget(const std::string& name, const std::string& spec) {
  return R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":")" + name +
         R"("},"spec":)" + spec + "}";
}

TEST_F(EmulatorTest, CrdRegistersResourceAtOnce) {
  EXPECT_EQ(get(port_, "/apis/example.com/v1").status, 404u);
  createWidgetCrd();
  auto crd =
      get(port_, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")
          .json();
  EXPECT_EQ(str(crd, "status.conditions.1.type"), "Established");
  EXPECT_EQ(str(crd, "status.conditions.1.status"), "True");
  auto list = get(port_, "/apis/example.com/v1").json();
  EXPECT_EQ(str(list, "resources.0.name"), "widgets");
  EXPECT_EQ(str(list, "resources.0.shortNames.0"), "wd");
  EXPECT_EQ(str(list, "resources.1.name"), "widgets/status");
  EXPECT_EQ(str(list, "resources.2.name"), "widgets/scale");
  auto doc = get(port_, "/openapi/v3/apis/example.com/v1").json();
  const auto& schema = doc["components"]["schemas"]["com.example.v1.Widget"];
  EXPECT_EQ(str(schema, "x-kubernetes-group-version-kind.0.kind"), "Widget");
  EXPECT_EQ(str(schema, "properties.spec.properties.size.type"), "string");
  // Deleting the CRD removes the resource and its objects.
  ASSERT_EQ(create(kWidgets, widget("w", R"({"size":"small"})")).status, 201u);
  ASSERT_EQ(send(port_, "DELETE",
                 "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com", "")
                .status,
            200u);
  EXPECT_EQ(get(port_, "/apis/example.com/v1").status, 404u);
  EXPECT_EQ(get(port_, std::string(kWidgets) + "/w").status, 404u);
}

TEST_F(EmulatorTest, CustomObjectsAreValidatedAgainstTheSchema) {
  createWidgetCrd();
  auto r = create(
      kWidgets,
      widget("bad", R"({"size":"medium","replicas":11,"labels":{"a":"1","b":"2","c":"3"}})"));
  ASSERT_EQ(r.status, 422u) << r.body;
  auto st = r.json();
  EXPECT_EQ(str(st, "reason"), "Invalid");
  EXPECT_EQ(str(st, "details.kind"), "Widget");
  EXPECT_EQ(str(st, "details.group"), "example.com");
  std::string msg = str(st, "message");
  EXPECT_EQ(msg.rfind("Widget.example.com \"bad\" is invalid: [", 0), 0u) << msg;
  EXPECT_NE(
      msg.find("spec.size: Unsupported value: \"medium\": supported values: \"small\", \"large\""),
      std::string::npos)
      << msg;
  EXPECT_NE(msg.find("spec.replicas: Invalid value: 11: spec.replicas in body should be less than "
                     "or equal to 10"),
            std::string::npos)
      << msg;
  EXPECT_NE(
      msg.find(
          "spec.labels: Invalid value: 3: spec.labels in body should have at most 2 properties"),
      std::string::npos)
      << msg;

  r = create(kWidgets, widget("missing", "{}"));
  EXPECT_EQ(r.status, 422u);
  EXPECT_EQ(str(r.json(), "details.causes.0.field"), "spec.size");
  EXPECT_EQ(str(r.json(), "details.causes.0.reason"), "FieldValueRequired");

  r = create(kWidgets, widget("types", R"({"size":"small","replicas":"three","port":true})"));
  EXPECT_EQ(r.status, 422u);
  EXPECT_NE(str(r.json(), "message")
                .find("spec.replicas: Invalid value: \"string\": spec.replicas in body must be of "
                      "type integer: \"string\""),
            std::string::npos)
      << r.body;
  EXPECT_NE(str(r.json(), "message").find("spec.port"), std::string::npos);

  r = create(kWidgets, widget("neg", R"({"size":"small","replicas":-1})"));
  EXPECT_NE(str(r.json(), "message").find("should be greater than or equal to 0"),
            std::string::npos);

  // int-or-string accepts both.
  EXPECT_EQ(create(kWidgets, widget("p1", R"({"size":"small","port":8080})")).status, 201u);
  EXPECT_EQ(create(kWidgets, widget("p2", R"({"size":"small","port":"http"})")).status, 201u);
}

TEST_F(EmulatorTest, UnknownFieldsArePrunedOrRejected) {
  createWidgetCrd();
  // Without fieldValidation (Warn): pruned with a warning; preserved subtrees stay.
  auto r =
      create(kWidgets, widget("w", R"({"size":"small","bogus":1,"extra":{"any":{"thing":true}}})"));
  ASSERT_EQ(r.status, 201u) << r.body;
  auto w = r.json();
  EXPECT_FALSE(w["spec"].HasMember("bogus"));
  EXPECT_TRUE(w["spec"]["extra"]["any"]["thing"].GetBool());
  EXPECT_EQ(str(w, "spec.mode"), "auto");  // schema default
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "299 - \"unknown field \\\"spec.bogus\\\"\"");
  // fieldValidation=Strict: 400 BadRequest with a strict decoding error.
  r = send(port_, "POST", std::string(kWidgets) + "?fieldValidation=Strict",
           widget("s", R"({"size":"small","bogus":1,"more":2})"));
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(str(r.json(), "reason"), "BadRequest");
  EXPECT_EQ(str(r.json(), "message"),
            "Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: "
            "unknown field \"spec.bogus\", unknown field \"spec.more\"");
  EXPECT_EQ(get(port_, std::string(kWidgets) + "/s").status, 404u);
  // fieldValidation=Ignore: pruned silently.
  r = send(port_, "POST", std::string(kWidgets) + "?fieldValidation=Ignore",
           widget("i", R"({"size":"small","bogus":1})"));
  EXPECT_EQ(r.status, 201u);
  EXPECT_TRUE(r.warnings.empty());
}

TEST_F(EmulatorTest, CustomResourcesRefuseStrategicMergeAndUnconditionalPut) {
  createWidgetCrd();
  create(kWidgets, widget("w", R"({"size":"small"})"));
  auto r = send(port_, "PATCH", std::string(kWidgets) + "/w", R"({"spec":{"size":"large"}})",
                "application/strategic-merge-patch+json");
  EXPECT_EQ(r.status, 415u);
  r = send(port_, "PUT", std::string(kWidgets) + "/w", widget("w", R"({"size":"large"})"));
  EXPECT_EQ(r.status, 422u);
  EXPECT_EQ(str(r.json(), "details.causes.0.field"), "metadata.resourceVersion");
}

TEST_F(EmulatorTest, PrinterColumnsAsTable) {
  createWidgetCrd();
  create(kWidgets, widget("w", R"({"size":"large","replicas":3})"));
  send(port_, "PATCH", std::string(kWidgets) + "/w/status",
       R"({"status":{"conditions":[{"type":"Ready","status":"True"}]}})",
       "application/merge-patch+json");
  Call c{"GET", kWidgets};
  c.accept =
      "application/json;as=Table;v=v1;g=meta.k8s.io,application/"
      "json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
  auto t = request(port_, c).json();
  EXPECT_EQ(str(t, "kind"), "Table");
  EXPECT_EQ(str(t, "apiVersion"), "meta.k8s.io/v1");
  EXPECT_EQ(str(t, "columnDefinitions.0.name"), "Name");
  EXPECT_EQ(str(t, "columnDefinitions.1.name"), "Size");
  EXPECT_EQ(str(t, "columnDefinitions.3.name"), "Ready");
  EXPECT_EQ(str(t, "rows.0.cells.0"), "w");
  EXPECT_EQ(str(t, "rows.0.cells.1"), "large");
  EXPECT_EQ(num(t, "rows.0.cells.2"), 3);
  EXPECT_EQ(str(t, "rows.0.cells.3"), "True");
  EXPECT_EQ(str(t, "rows.0.object.kind"), "PartialObjectMetadata");
}

TEST_F(EmulatorTest, CustomResourceScale) {
  createWidgetCrd();
  create(kWidgets, widget("w", R"({"size":"small","replicas":1})"));
  send(port_, "PATCH", std::string(kWidgets) + "/w/status",
       R"({"status":{"replicas":1,"selector":"app=w"}})", "application/merge-patch+json");
  auto s = get(port_, std::string(kWidgets) + "/w/scale").json();
  EXPECT_EQ(num(s, "spec.replicas"), 1);
  EXPECT_EQ(str(s, "status.selector"), "app=w");
  auto p = send(port_, "PATCH", std::string(kWidgets) + "/w/scale", R"({"spec":{"replicas":4}})",
                "application/merge-patch+json");
  ASSERT_EQ(p.status, 200u) << p.body;
  EXPECT_EQ(num(get(port_, std::string(kWidgets) + "/w").json(), "spec.replicas"), 4);
}

TEST_F(EmulatorTest, InvalidCrdIsRejected) {
  auto r = create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", R"({
    "metadata":{"name":"wrong.example.com"},
    "spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"things","kind":"Thing"},
      "versions":[{"name":"v1","served":true,"storage":false}]}})");
  EXPECT_EQ(r.status, 422u);
  std::string msg = str(r.json(), "message");
  EXPECT_NE(msg.find("metadata.name: Invalid value: \"wrong.example.com\": must be "
                     "spec.names.plural+\".\"+spec.group"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("must have exactly one version marked as storage version"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("schemas are required"), std::string::npos) << msg;
}

}  // namespace
}  // namespace canaryd::emulator::testing
