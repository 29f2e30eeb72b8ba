// A GoogleTest fixture that runs a kube-emulator in-process on a free port, with short
// delays (ready delay 100 ms, bookmarks every 200 ms) so tests need no long waits.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "emulator_client.h"
#include "server.h"

namespace canaryd::emulator::testing {

class EmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmulatorOptions o = options();
    emulator_ = std::make_unique<Emulator>(o);
    emulator_->start();
    port_ = emulator_->port();
  }
  void TearDown() override { emulator_.reset(); }
  virtual EmulatorOptions options() {
    EmulatorOptions o;
    o.controllers.readyDelay = std::chrono::milliseconds(100);
    o.bookmarkInterval = std::chrono::milliseconds(200);
    return o;
  }

  HttpResult create(const std::string& collection, const std::string& body) {
    return send(port_, "POST", collection, body);
  }

  // A CRD "widgets.example.com" (namespaced, status + scale subresources, printer
  // columns) with a schema exercising types, required, enum, bounds, int-or-string,
  // preserved fields and minProperties/maxProperties.
  void createWidgetCrd() {
    auto r = create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", R"({
      "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
      "metadata": {"name": "widgets.example.com"},
      "spec": {"group": "example.com", "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [{"name": "v1", "served": true, "storage": true,
          "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}},
          "additionalPrinterColumns": [
            {"name": "Size", "type": "string", "jsonPath": ".spec.size"},
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
            {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}],
          "schema": {"openAPIV3Schema": {"type": "object", "properties": {
            "spec": {"type": "object", "required": ["size"], "properties": {
              "size": {"type": "string", "enum": ["small", "large"]},
              "replicas": {"type": "integer", "minimum": 0, "maximum": 10},
              "port": {"x-kubernetes-int-or-string": true},
              "mode": {"type": "string", "default": "auto"},
              "labels": {"type": "object", "maxProperties": 2, "additionalProperties": {"type": "string"}},
              "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
            "status": {"type": "object", "properties": {
              "replicas": {"type": "integer"}, "selector": {"type": "string"}, "phase": {"type": "string"},
              "conditions": {"type": "array", "items": {"type": "object", "properties": {
                "type": {"type": "string"}, "status": {"type": "string"}}}}}}}}}}]}})");
    ASSERT_EQ(r.status, 201u) << r.body;
  }

  std::unique_ptr<Emulator> emulator_;
  unsigned short port_ = 0;
};

}  // namespace canaryd::emulator::testing
