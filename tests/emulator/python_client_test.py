#!/usr/bin/python3
"""Drives the Python `kubernetes` client (Debian python3-kubernetes) against kube-emulator:
list, watch with bookmarks, create, patch, replace with a stale resourceVersion (409),
custom objects, and a watch that must resume after a compaction (410).

    python_client_test.py <kube-emulator binary>
"""
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

EMULATOR = None


def wait_until(fn, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(0.05)
    return fn()


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        kubeconfig = os.path.join(cls.dir.name, "kubeconfig")
        cls.proc = subprocess.Popen(
            [EMULATOR, "--port", "0", "--kubeconfig-out", kubeconfig,
             "--bookmark-interval-seconds", "1", "--ready-delay-ms", "100"],
            stdout=subprocess.PIPE, text=True)
        line = cls.proc.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:"), line
        cls.url = line[len("listening on "):]
        config.load_kube_config(config_file=kubeconfig)
        cls.core = client.CoreV1Api()
        cls.apps = client.AppsV1Api()
        cls.ext = client.ApiextensionsV1Api()
        cls.custom = client.CustomObjectsApi()

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        code = cls.proc.wait(timeout=30)
        cls.proc.stdout.close()
        cls.dir.cleanup()
        # A clean stop on SIGTERM (and, under sanitizers, no report).
        assert code == 0, "kube-emulator exited with %d" % code

    def admin(self, path):
        req = urllib.request.Request(self.url + "/_emulator/" + path, data=b"", method="POST")
        with urllib.request.urlopen(req) as resp:
            return resp.read()

    def config_map(self, name, labels=None, data=None):
        return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels or {}),
                                  data=data or {"k": "v"})

    def test_create_list_and_select(self):
        created = self.core.create_namespaced_config_map("default", self.config_map("py-a", {"app": "py"}))
        self.assertEqual(created.metadata.name, "py-a")
        self.assertTrue(created.metadata.uid)
        self.assertTrue(created.metadata.resource_version)
        self.core.create_namespaced_config_map("default", self.config_map("py-b", {"app": "other"}))
        listed = self.core.list_namespaced_config_map("default", label_selector="app=py")
        self.assertEqual([i.metadata.name for i in listed.items], ["py-a"])
        self.assertTrue(listed.metadata.resource_version)
        with self.assertRaises(ApiException) as ctx:
            self.core.create_namespaced_config_map("default", self.config_map("py-a"))
        self.assertEqual(ctx.exception.status, 409)
        self.assertIn('configmaps \\"py-a\\" already exists', ctx.exception.body)
        with self.assertRaises(ApiException) as ctx:
            self.core.read_namespaced_config_map("missing", "default")
        self.assertEqual(ctx.exception.status, 404)

    def test_patch_and_stale_replace(self):
        cm = self.core.create_namespaced_config_map("default", self.config_map("py-c"))
        patched = self.core.patch_namespaced_config_map("py-c", "default", {"data": {"k": "patched"}})
        self.assertEqual(patched.data["k"], "patched")
        self.assertNotEqual(patched.metadata.resource_version, cm.metadata.resource_version)
        # Replacing with the first (now stale) resourceVersion conflicts.
        cm.data = {"k": "stale"}
        with self.assertRaises(ApiException) as ctx:
            self.core.replace_namespaced_config_map("py-c", "default", cm)
        self.assertEqual(ctx.exception.status, 409)
        self.assertIn("the object has been modified", ctx.exception.body)
        # With the current version it succeeds.
        cm.metadata.resource_version = patched.metadata.resource_version
        replaced = self.core.replace_namespaced_config_map("py-c", "default", cm)
        self.assertEqual(replaced.data["k"], "stale")
        json_patched = self.core.patch_namespaced_config_map(
            "py-c", "default", [{"op": "add", "path": "/data/j", "value": "1"}])
        self.assertEqual(json_patched.data, {"k": "stale", "j": "1"})

    def test_watch_with_bookmarks(self):
        rv = self.core.list_namespaced_config_map("default").metadata.resource_version
        self.core.create_namespaced_config_map("default", self.config_map("py-w"))
        types = []
        w = watch.Watch()
        for event in w.stream(self.core.list_namespaced_config_map, "default", resource_version=rv,
                              allow_watch_bookmarks=True, timeout_seconds=10):
            types.append(event["type"])
            if event["type"] == "ADDED":
                self.assertEqual(event["object"].metadata.name, "py-w")
                self.core.patch_namespaced_config_map("py-w", "default", {"data": {"k": "2"}})
            if event["type"] == "MODIFIED":
                self.assertEqual(event["object"].data["k"], "2")
            if event["type"] == "BOOKMARK":
                w.stop()
        self.assertEqual(types, ["ADDED", "MODIFIED", "BOOKMARK"])

    def test_watch_after_compaction_is_gone(self):
        cm = self.core.create_namespaced_config_map("default", self.config_map("py-old"))
        self.core.patch_namespaced_config_map("py-old", "default", {"data": {"k": "2"}})
        self.admin("compact")
        w = watch.Watch()
        with self.assertRaises(ApiException) as ctx:
            for _ in w.stream(self.core.list_namespaced_config_map, "default",
                              resource_version=cm.metadata.resource_version, timeout_seconds=5):
                pass
        self.assertEqual(ctx.exception.status, 410)

    def test_custom_objects_and_workloads(self):
        crd = {
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "gadgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "gadgets", "kind": "Gadget"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                       "spec": {"type": "object", "properties": {
                                           "size": {"type": "integer", "maximum": 5}}},
                                       "status": {"type": "object", "properties": {
                                           "ok": {"type": "boolean"}}}}}}}]}}
        self.ext.create_custom_resource_definition(crd)
        body = {"apiVersion": "example.com/v1", "kind": "Gadget",
                "metadata": {"name": "g"}, "spec": {"size": 1}}
        g = self.custom.create_namespaced_custom_object("example.com", "v1", "default", "gadgets", body)
        self.assertEqual(g["metadata"]["generation"], 1)
        g = self.custom.patch_namespaced_custom_object("example.com", "v1", "default", "gadgets", "g",
                                                       {"spec": {"size": 2}})
        self.assertEqual(g["spec"]["size"], 2)
        self.assertEqual(g["metadata"]["generation"], 2)
        g = self.custom.patch_namespaced_custom_object_status("example.com", "v1", "default", "gadgets",
                                                              "g", {"status": {"ok": True}})
        self.assertTrue(g["status"]["ok"])
        self.assertEqual(g["metadata"]["generation"], 2)
        with self.assertRaises(ApiException) as ctx:
            self.custom.patch_namespaced_custom_object("example.com", "v1", "default", "gadgets", "g",
                                                       {"spec": {"size": 9}})
        self.assertEqual(ctx.exception.status, 422)
        self.assertIn("spec.size in body should be less than or equal to 5", ctx.exception.body)

        dep = client.V1Deployment(
            metadata=client.V1ObjectMeta(name="py-web"),
            spec=client.V1DeploymentSpec(
                replicas=2, selector=client.V1LabelSelector(match_labels={"app": "py-web"}),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels={"app": "py-web"}),
                    spec=client.V1PodSpec(containers=[client.V1Container(name="a", image="nginx")]))))
        self.apps.create_namespaced_deployment("default", dep)
        self.assertTrue(wait_until(lambda: (self.apps.read_namespaced_deployment_status(
            "py-web", "default").status.ready_replicas or 0) == 2))
        self.assertEqual(self.apps.read_namespaced_deployment("py-web", "default").status.observed_generation, 1)
        status = self.apps.delete_namespaced_deployment("py-web", "default")
        self.assertEqual(status.status, "Success")


if __name__ == "__main__":
    EMULATOR = sys.argv.pop(1)
    unittest.main(verbosity=2)
