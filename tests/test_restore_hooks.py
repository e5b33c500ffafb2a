"""Velero's init-container restore hooks in restore/ (issue 10), against the
real kube-apiserver: a pod copied with the init.hook.restore.velero.io/
annotations is created with the hook's init container first in
spec.initContainers (Velero's InitRestoreHookPodAction), read back
through the API server."""

from __future__ import annotations

import json
import os

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
