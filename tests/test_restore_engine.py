"""The restore engine (restore/) against the real kube-apiserver, through
tests/unit/restore_probe.c (no FUSE): every test asserts what the API
server holds afterwards, read back through its API.

The test apiserver runs no controllers (no namespace or service-account
controller) and has ServiceAccount admission disabled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

import util


@pytest.fixture(scope="session")
def probe():
    b = util.build_dir() / "restore" / "restore-probe"
    if not b.is_file():
        pytest.fail("%s not built: run `ninja -C %s`" % (b, util.build_dir()))
    return b


def run_probe(probe, kube, state, *args, files=(), context=None, timeout=300,
              check=None):
    argv = [str(probe), "--kubeconfig", str(kube.kubeconfig), "--state", str(state)]
    if context:
        argv += ["--context", context]
    argv += [str(a) for a in args] + [str(f) for f in files]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    assert not util.SANITIZER_RE.search(r.stderr), r.stderr
    if check is not None:
        assert r.returncode == check, "exit %d\n%s\n%s" % (r.returncode, r.stdout, r.stderr)
    return r


def write(path, objs):
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))
    return path


def get(kube, path):
    status, body = kube.request("GET", path)
    return status, body


def deployment(ns, name, image="registry.example.com/team/web:1.0", replicas=2):
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {
            "name": name, "namespace": ns, "uid": "11111111-2222-3333-4444-555555555555",
            "resourceVersion": "12345", "generation": 7,
            "creationTimestamp": "2026-11-01T10:00:00Z",
            "labels": {"app": name}, "annotations": {"team": "shop"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                 "uid": "99999999-2222-3333-4444-555555555555"}],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": image}],
                         "initContainers": [{"name": "init", "image": "docker.io/library/busybox:1.36"}]},
            },
        },
        "status": {"replicas": 2, "readyReplicas": 2, "observedGeneration": 7},
    }


def configmap(ns, name, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "resourceVersion": "42",
                         "uid": "aaaaaaaa-2222-3333-4444-555555555555"},
            "data": data or {"k": "v"}}


# ---------------------------------------------------------------------------


def test_deployment_restored_and_cleaned(probe, kube, tmp_path):
    f = write(tmp_path / "web.json", [deployment("e2e-dep", "web")])
    r = run_probe(probe, kube, tmp_path / "state", "--backup", "nightly-1", files=[f], check=0)
    assert "created deployments.apps e2e-dep/web" in r.stdout
    job = r.stdout.split("submitted ")[1].split()[1]
    status, d = get(kube, "/apis/apps/v1/namespaces/e2e-dep/deployments/web")
    assert status == 200, d
    md = d["metadata"]
    assert md["uid"] != "11111111-2222-3333-4444-555555555555"
    assert "ownerReferences" not in md
    assert md.get("generation") == 1
    assert md["labels"] == {"app": "web", "velero.io/backup-name": "nightly-1",
                            "velero.io/restore-name": job}
    assert md["annotations"]["team"] == "shop"
    assert d["spec"]["replicas"] == 2
    # status is the server's (no controllers: none), not the backup's
    assert d.get("status", {}).get("readyReplicas") is None
    # the namespace was created (plain: not in the file)
    status, ns = get(kube, "/api/v1/namespaces/e2e-dep")
    assert status == 200
    assert "created namespaces e2e-dep" in r.stdout


def test_service_cluster_ip_and_node_ports_cleared(probe, kube, tmp_path):
    svc = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "e2e-svc", "resourceVersion": "5"},
        "spec": {"type": "NodePort", "clusterIP": "10.0.0.77", "clusterIPs": ["10.0.0.77"],
                 "selector": {"app": "web"},
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080,
                            "nodePort": 30777}]},
        "status": {"loadBalancer": {}},
    }
    headless = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "db", "namespace": "e2e-svc"},
        "spec": {"clusterIP": "None", "clusterIPs": ["None"], "ports": [{"port": 5432}]},
    }
    f = write(tmp_path / "svc.json", [svc, headless])
    run_probe(probe, kube, tmp_path / "state", files=[f], check=0)
    status, s = get(kube, "/api/v1/namespaces/e2e-svc/services/web")
    assert status == 200, s
    assert s["spec"]["clusterIP"] not in ("10.0.0.77", "", None)
    assert s["spec"]["ports"][0]["nodePort"] != 30777
    status, h = get(kube, "/api/v1/namespaces/e2e-svc/services/db")
    assert h["spec"]["clusterIP"] == "None"


def test_namespace_mapping_creates_namespace(probe, kube, tmp_path):
    ns_obj = {"apiVersion": "v1", "kind": "Namespace",
              "metadata": {"name": "shop", "uid": "x", "labels": {"tier": "gold"},
                           "annotations": {"owner": "team-a"}},
              "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    rb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
          "metadata": {"name": "edit", "namespace": "shop"},
          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
          "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "shop"},
                       {"kind": "ServiceAccount", "name": "mon", "namespace": "monitoring"}]}
    f = write(tmp_path / "shop.json", [configmap("shop", "app"), rb, ns_obj])
    r = run_probe(probe, kube, tmp_path / "state", "--ns", "e2e-copy", files=[f], check=0)
    status, n = get(kube, "/api/v1/namespaces/e2e-copy")
    assert status == 200, r.stdout
    assert n["metadata"]["labels"]["tier"] == "gold"
    assert n["metadata"]["annotations"]["owner"] == "team-a"
    status, cm = get(kube, "/api/v1/namespaces/e2e-copy/configmaps/app")
    assert status == 200 and cm["data"] == {"k": "v"}
    status, b = get(kube, "/apis/rbac.authorization.k8s.io/v1/namespaces/e2e-copy/rolebindings/edit")
    assert status == 200, b
    assert [s["namespace"] for s in b["subjects"]] == ["e2e-copy", "monitoring"]
    assert get(kube, "/api/v1/namespaces/shop/configmaps/app")[0] == 404


def test_crd_and_its_objects_in_one_file(probe, kube, tmp_path):
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.e2e.velerofs.io", "resourceVersion": "1"},
        "spec": {"group": "e2e.velerofs.io", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                           "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {
                                   "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
        "status": {"conditions": [{"type": "Established", "status": "True"}]},
    }
    cr = {"apiVersion": "e2e.velerofs.io/v1", "kind": "Widget",
          "metadata": {"name": "w1", "namespace": "e2e-crd", "uid": "u"}, "spec": {"size": 3}}
    # the CR first: the engine must still create the CRD first and wait
    f = tmp_path / "widgets.yaml"
    f.write_text("---\n" + json.dumps(cr) + "\n---\n" + json.dumps(crd) + "\n")
    r = run_probe(probe, kube, tmp_path / "state", files=[f], check=0)
    lines = r.stdout.splitlines()
    assert any(l.startswith("created customresourcedefinitions.apiextensions.k8s.io widgets") for l in lines)
    assert "created widgets.e2e.velerofs.io e2e-crd/w1" in r.stdout
    status, w = get(kube, "/apis/e2e.velerofs.io/v1/namespaces/e2e-crd/widgets/w1")
    assert status == 200, w
    assert w["spec"] == {"size": 3}


def test_skip_unchanged_update(probe, kube, tmp_path):
    f = write(tmp_path / "cm.json", [configmap("e2e-exist", "settings", {"mode": "blue"})])
    state = tmp_path / "state"
    run_probe(probe, kube, state, files=[f], check=0)
    # the same again: unchanged
    r = run_probe(probe, kube, tmp_path / "state2", files=[f], check=0)
    assert "unchanged configmaps e2e-exist/settings" in r.stdout
    # changed in the cluster: skipped by default, nothing changed
    status, _ = kube.request("PATCH", "/api/v1/namespaces/e2e-exist/configmaps/settings",
                             {"data": {"mode": "green"}},
                             content_type="application/merge-patch+json")
    assert status == 200
    r = run_probe(probe, kube, tmp_path / "state3", files=[f], check=0)
    assert "skipped configmaps e2e-exist/settings: already exists" in r.stdout
    assert get(kube, "/api/v1/namespaces/e2e-exist/configmaps/settings")[1]["data"] == {"mode": "green"}
    # existing=update: back to the backup's content, labelled with the job
    r = run_probe(probe, kube, tmp_path / "state4", "--existing", "update", files=[f], check=0)
    assert "updated configmaps e2e-exist/settings" in r.stdout
    job = r.stdout.split("submitted ")[1].split()[1]
    cm = get(kube, "/api/v1/namespaces/e2e-exist/configmaps/settings")[1]
    assert cm["data"] == {"mode": "blue"}
    assert cm["metadata"]["labels"]["velero.io/restore-name"] == job


def test_dry_run_creates_nothing(probe, kube, tmp_path):
    f = write(tmp_path / "dry.json", [configmap("e2e-dry", "a"), deployment("e2e-dry", "web")])
    r = run_probe(probe, kube, tmp_path / "state", "--dry-run", files=[f], check=0)
    assert "would create namespaces e2e-dry (dry run)" in r.stdout
    assert "would create configmaps e2e-dry/a (dry run)" in r.stdout
    assert get(kube, "/api/v1/namespaces/e2e-dry")[0] == 404
    # in an existing namespace the server itself checks the dry run
    kube.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": "e2e-dry2"}})
    f2 = write(tmp_path / "dry2.json", [configmap("e2e-dry2", "a"),
                                        configmap("e2e-dry2", "Bad_Name")])
    r = run_probe(probe, kube, tmp_path / "state2", "--dry-run", files=[f2])
    assert r.returncode == 1
    assert "would create configmaps e2e-dry2/a (dry run)" in r.stdout
    assert "failed configmaps e2e-dry2/Bad_Name: " in r.stdout
    assert "a lowercase RFC 1123 subdomain" in r.stdout  # the server's message
    assert get(kube, "/api/v1/namespaces/e2e-dry2/configmaps/a")[0] == 404


def test_malformed_yaml_rejected_nothing_applied(probe, kube, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n  namespace: e2e-bad\n"
                 "data:\n  a: b\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                 "  name: broken\n   namespace: e2e-bad\n")
    r = run_probe(probe, kube, tmp_path / "state", files=[f], check=1)
    assert "rejected" in r.stdout
    assert "bad.yaml: line 13 column 13: mapping values are not allowed" in r.stdout, r.stdout
    assert get(kube, "/api/v1/namespaces/e2e-bad/configmaps/good")[0] == 404
    assert get(kube, "/api/v1/namespaces/e2e-bad")[0] == 404
    # a List with one item that is not an object, a file that is not Kubernetes
    f2 = tmp_path / "list.json"
    f2.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        configmap("e2e-bad", "ok"), {"kind": "ConfigMap", "metadata": {"name": "x"}}]}))
    r = run_probe(probe, kube, tmp_path / "state2", files=[f2], check=1)
    assert "List item 1" in r.stdout and "no apiVersion" in r.stdout
    f3 = tmp_path / "notes.txt"
    f3.write_text("just some notes\n")
    r = run_probe(probe, kube, tmp_path / "state3", files=[f3], check=1)
    assert "not a Kubernetes object" in r.stdout or "expected a Kubernetes object" in r.stdout
    assert get(kube, "/api/v1/namespaces/e2e-bad/configmaps/ok")[0] == 404


def test_unknown_kind_fails_after_the_wait(probe, kube, tmp_path):
    f = write(tmp_path / "u.json", [{"apiVersion": "nope.velerofs.io/v1", "kind": "Gadget",
                                      "metadata": {"name": "g", "namespace": "e2e-unk"}}])
    r = run_probe(probe, kube, tmp_path / "state", "--type-wait", "2", files=[f], check=1)
    assert "failed gadgets.nope.velerofs.io e2e-unk/g: the server does not serve" in r.stdout


def test_kill_mid_job_then_resume_applies_rest_once(probe, kube, tmp_path):
    n = 300
    f = write(tmp_path / "many.json", [configmap("e2e-kill", "cm-%03d" % i) for i in range(n)])
    state = tmp_path / "state"
    argv = [str(probe), "--kubeconfig", str(kube.kubeconfig), "--state", str(state), str(f)]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    journal = None
    while time.time() < deadline:
        js = list(state.glob("restore-*/journal")) if state.exists() else []
        if js and js[0].read_text().count('"s":"created"') >= 40:
            journal = js[0]
            break
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL)
    p.communicate()
    assert journal, "the job did not start"
    done_before = journal.read_text().count('"s":"created"')
    assert done_before < n, "finished before the kill; make the job longer"
    r = run_probe(probe, kube, state, check=0)
    assert "state done" in r.stdout
    assert "items %d: %d created" % (n, n) in r.stdout, r.stdout[:2000]
    assert "unchanged" not in r.stdout and "failed" not in r.stdout
    status, lst = get(kube, "/api/v1/namespaces/e2e-kill/configmaps")
    names = sorted(i["metadata"]["name"] for i in lst["items"] if i["metadata"]["name"].startswith("cm-"))
    assert names == ["cm-%03d" % i for i in range(n)]
    job = state.glob("restore-*").__next__().name
    assert all(i["metadata"]["labels"]["velero.io/restore-name"] == job
               for i in lst["items"] if i["metadata"]["name"].startswith("cm-"))


def test_rbac_denied_reports_server_message(probe, kube, tmp_path):
    f = write(tmp_path / "cm.json", [configmap("default", "from-nobody")])
    r = run_probe(probe, kube, tmp_path / "state", files=[f], context="nobody", check=1)
    assert "state failed" in r.stdout
    assert 'User "nobody" cannot' in r.stdout, r.stdout
    assert get(kube, "/api/v1/namespaces/default/configmaps/from-nobody")[0] == 404


def test_transforms(probe, kube, tmp_path):
    mods = tmp_path / "mods.yaml"
    mods.write_text("""version: v1
resourceModifierRules:
- conditions:
    groupResource: deployments.apps
    resourceNameRegex: "^web.*$"
    namespaces: [e2e-tr]
  patches:
  - operation: replace
    path: /spec/replicas
    value: "5"
- conditions:
    groupResource: "*.apps"   # gobwas glob, '.' separates: "*" alone would not match
    labelSelector:
      matchLabels: {app: web}
  mergePatches:
  - patchData: |
      metadata:
        labels:
          patched: "yes"
- conditions:
    groupResource: deployments.apps
    matches:
    - path: /spec/template/spec/containers/0/name
      value: web
  strategicPatches:
  - patchData: |
      spec:
        template:
          spec:
            containers:
            - name: web
              env:
              - name: MODE
                value: restored
""")
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": "data", "namespace": "e2e-tr",
                        "annotations": {"pv.kubernetes.io/bind-completed": "yes",
                                        "volume.kubernetes.io/selected-node": "node-1",
                                        "keep": "me"}},
           "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "old-ssd",
                    "resources": {"requests": {"storage": "1Gi"}}}}
    f = write(tmp_path / "tr.json", [deployment("e2e-tr", "web"), pvc])
    run_probe(probe, kube, tmp_path / "state",
              "--image-map", "registry.example.com/team=mirror.local/team2,docker.io/library=mirror.local/lib",
              "--storageclass-map", "old-ssd=new-ssd", "--modifiers", mods, files=[f], check=0)
    d = get(kube, "/apis/apps/v1/namespaces/e2e-tr/deployments/web")[1]
    assert d["spec"]["replicas"] == 5
    assert d["metadata"]["labels"]["patched"] == "yes"
    c = d["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "mirror.local/team2/web:1.0"
    assert c["env"] == [{"name": "MODE", "value": "restored"}]
    assert d["spec"]["template"]["spec"]["initContainers"][0]["image"] == "mirror.local/lib/busybox:1.36"
    p = get(kube, "/api/v1/namespaces/e2e-tr/persistentvolumeclaims/data")[1]
    assert p["spec"]["storageClassName"] == "new-ssd"
    assert p["metadata"]["annotations"] == {"keep": "me"}
    assert "patched" not in p["metadata"].get("labels", {})


def test_bad_modifiers_refused(probe, kube, tmp_path):
    mods = tmp_path / "mods.yaml"
    mods.write_text("version: v2\nresourceModifierRules: []\n")
    r = run_probe(probe, kube, tmp_path / "state", "--modifiers", mods, check=2)
    assert "unsupported resource modifier version v2" in r.stderr
