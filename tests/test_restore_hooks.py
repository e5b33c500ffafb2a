"""Velero's init-container restore hooks and `restore create --selector`
(issue 10), against the real kube-apiserver: a pod copied with the init.hook.restore.velero.io/
annotations is created with the hook's init container first in
spec.initContainers (Velero's InitRestoreHookPodAction), read back
through the API server."""

from __future__ import annotations

import json
import os
import subprocess

from test_restore_gather import write_items
from test_restore_mount import cp, get, restore_mount, unique_ns, wait_job

HOOK = "init.hook.restore.velero.io/"


def pod(ns, name, annotations):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "annotations": annotations},
            "spec": {"initContainers": [{"name": "own", "image": "busybox:1.36"}],
                     "containers": [{"name": "c", "image": "busybox:1.36"}]}}


def test_init_hook_from_annotations(mount, shop_vault, kube, tmp_path):
    """The annotated pod gets the hook's container (name, image, the
    command's JSON array) before its own init container; a pod without the
    annotations is restored as it was."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    ns = unique_ns("hooks")
    src = write_items(tmp_path / "src", [
        ("hooked.json", pod(ns, "hooked", {
            HOOK + "container-image": "alpine:3.19",
            HOOK + "container-name": "restore-hook",
            HOOK + "command": '["/bin/ash", "-c", "date"]'})),
        ("nameless.json", pod(ns, "nameless", {HOOK + "container-image": "alpine:3.19"})),
        ("plain.json", pod(ns, "plain", {"note": "no hook"})),
    ])
    cp("-r", src, m / "restore")
    text = wait_job(m, os.readlink(m / "restore/jobs/latest"))
    assert "state done" in text, text

    hooked = get(kube, "/api/v1/namespaces/%s/pods/hooked" % ns)
    assert hooked is not None, text
    ics = hooked["spec"]["initContainers"]
    assert [c["name"] for c in ics] == ["restore-hook", "own"], ics
    assert ics[0]["image"] == "alpine:3.19"
    assert ics[0]["command"] == ["/bin/ash", "-c", "date"]

    nameless = get(kube, "/api/v1/namespaces/%s/pods/nameless" % ns)
    ics = nameless["spec"]["initContainers"]
    assert ics[0]["name"].startswith("velero-restore-init-"), ics
    assert ics[0]["image"] == "alpine:3.19" and "command" not in ics[0], ics
    assert [c["name"] for c in ics[1:]] == ["own"]

    plain = get(kube, "/api/v1/namespaces/%s/pods/plain" % ns)
    assert [c["name"] for c in plain["spec"]["initContainers"]] == ["own"]


def test_init_hooks_from_file(velerofs, mount, shop_vault, kube, tmp_path):
    """-o restore_hooks=FILE (a Restore with spec.hooks): the init
    containers of the resources that select a pod (its target namespace
    after the mapping, its labels) come first; a pod the selector leaves
    out, and one whose own annotation names a hook, do not get them. A
    file Velero would fail on is refused at mount time, with the reason."""
    ns = unique_ns("hookfile")
    hook = {"name": "warm-cache", "image": "alpine:3.19", "command": ["/bin/ash", "-c", "true"]}
    hooks = tmp_path / "hooks.yaml"
    hooks.write_text(json.dumps({
        "apiVersion": "velero.io/v1", "kind": "Restore", "metadata": {"name": "r"},
        "spec": {"backupName": "b", "hooks": {"resources": [
            {"name": "web", "includedNamespaces": [ns],
             "labelSelector": {"matchLabels": {"app": "web"}},
             "postHooks": [{"init": {"initContainers": [hook]}}]},
            {"name": "elsewhere", "includedNamespaces": ["orig"],
             "postHooks": [{"init": {"initContainers": [dict(hook, name="wrong")]}}]}]}}}))
    m = restore_mount(mount, shop_vault, kube, tmp_path, "restore_hooks=%s" % hooks)
    src = write_items(tmp_path / "src", [
        ("web.json", dict(pod("orig", "web", {}), metadata={
            "name": "web", "namespace": "orig", "labels": {"app": "web"}})),
        ("db.json", dict(pod("orig", "db", {}), metadata={
            "name": "db", "namespace": "orig", "labels": {"app": "db"}})),
        ("annotated.json", dict(pod("orig", "annotated", {}), metadata={
            "name": "annotated", "namespace": "orig", "labels": {"app": "web"},
            "annotations": {HOOK + "container-image": "busybox:1.36",
                            HOOK + "container-name": "own-hook"}})),
    ])
    target = m / "restore/namespaces" / ns
    os.mkdir(target)
    cp("-r", *sorted(src.iterdir()), target)
    text = wait_job(m, os.readlink(m / "restore/jobs/latest"))
    assert "state done" in text, text

    def inits(name):
        return [c["name"] for c in get(kube, "/api/v1/namespaces/%s/pods/%s" % (ns, name))
                ["spec"]["initContainers"]]

    assert inits("web") == ["warm-cache", "own"]
    assert inits("db") == ["own"]
    assert inits("annotated") == ["own-hook", "own"]

    bad = tmp_path / "bad-hooks.yaml"
    bad.write_text("resources:\n- postHooks:\n  - init:\n      initContainers:\n"
                   "      - {name: x, image: alpine}\n")
    mnt = tmp_path / "badmnt"
    mnt.mkdir()
    r = subprocess.run([str(velerofs), "mount", "-f", "--cache", str(tmp_path / "c"),
                        "--kubeconfig", str(kube.kubeconfig),
                        "--restore-state", str(tmp_path / "badstate"),
                        "-o", "restore_hooks=%s" % bad, str(shop_vault), str(mnt)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "Command, Name or Image" in r.stderr, r.stderr
    assert not os.path.ismount(mnt)


def test_restore_create_selector(velerofs, mount, shop_vault, kube, tmp_path):
    """`velerofs restore create --selector` copies only the items whose
    labels match, as kubectl reads the selector (in, !=, absent keys);
    a bad selector and Velero's per-restore --dry-run are refused with
    the reason, before anything is copied."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    target = unique_ns("select")
    backup = os.readlink(m / "backups/latest")
    base = [str(velerofs), "restore", "create", str(m), "--from-backup", backup,
            "--include-namespaces", "shop", "--namespace-mappings", "shop:" + target]
    for bad, why in ((["--selector", "app in web"], "( expected"),
                     (["--selector", "tier>1"], "not supported"),
                     (["--dry-run"], "-o dry_run"),
                     (["--existing-resource-policy", "update"], "-o existing=update")):
        r = subprocess.run(base + bad, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and why in r.stderr, (bad, r.stderr)
    assert not (m / "restore/namespaces" / target).exists()
    r = subprocess.run(base + ["--include-resources", "deployments,configmaps,services",
                               "--selector", "app.kubernetes.io/name in (web, api),tier!=backend",
                               "--wait", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert json.loads(r.stdout)["state"] == "done", r.stdout
    # web's Deployment (tier frontend), its ConfigMap and Service (no
    # tier label: != holds), api's Service; not api's Deployment (tier
    # backend) nor the ConfigMaps without the label
    for path in ("/apis/apps/v1/namespaces/%s/deployments/web",
                 "/api/v1/namespaces/%s/configmaps/nginx-conf",
                 "/api/v1/namespaces/%s/services/web",
                 "/api/v1/namespaces/%s/services/api"):
        assert get(kube, path % target) is not None, path
    for path in ("/apis/apps/v1/namespaces/%s/deployments/api",
                 "/api/v1/namespaces/%s/configmaps/api-config",
                 "/api/v1/namespaces/%s/services/db"):
        assert get(kube, path % target) is None, path
