"""restore/ across a whole copy (issue 10), against the real kube-apiserver:
files that arrive together are one job applied in Velero's order, an item
waiting for its type does not hold the others, an API server that goes
away makes the job wait and resume by itself (across a daemon restart
too), namespace mapping holds across files (a PV and its PVC copied
apart bind), Velero's non-restorable kinds are skipped, every file gets a
report. Every result is read back through the API server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

from servers import harness
from test_restore_mount import (FINAL_RE, cp, get, job_files, read_report, restore_mount,
                                unique_ns, wait_all, wait_job)


def write_items(d, items):
    """One file per item under d, named so that copy order (alphabetical)
    is not Velero's order."""
    d.mkdir(parents=True, exist_ok=True)
    for name, obj in items:
        (d / name).write_text(json.dumps(obj))
    return d


def rv(obj):
    return int(obj["metadata"]["resourceVersion"])


def crd(group, kind, plural):
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "%s.%s" % (plural, group)},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"kind": kind, "plural": plural, "singular": kind.lower(),
                           "listKind": kind + "List"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {
                                   "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
    }


def cm(ns, name):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "resourceVersion": "7"}, "data": {"k": name}}


def deployment(ns, name):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}}


def reports_of(m, timeout=180):
    """Every job's final report (waits for all)."""
    return wait_all(m, timeout)


# ---------------------------------------------------------------------------


def test_cp_r_is_one_job_in_velero_order(mount, shop_vault, kube, tmp_path):
    """cp -r of a directory of one-item files is one job: the CRD first and
    Established before its object, the Namespace (with its labels, renamed
    to the target) before what goes in it, then Velero's priorities
    where they matter (ServiceAccounts before Secrets; ServiceAccounts,
    Secrets and ConfigMaps before the alphabetical rest: Deployments,
    the custom resource; the Service needs only its namespace); the copy
    order (file names) is the reverse."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    src = tmp_path / "ns-src"
    ns = unique_ns("gather")
    group = "g%s.gather.example.com" % ns.split("-")[1]
    write_items(src, [
        ("a-gizmo.json", {"apiVersion": group + "/v1", "kind": "Gizmo",
                          "metadata": {"name": "g1", "namespace": "orig"}, "spec": {"size": 3}}),
        ("b-deployment.json", deployment("orig", "web")),
        ("c-service.json", {"apiVersion": "v1", "kind": "Service",
                            "metadata": {"name": "web", "namespace": "orig"},
                            "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}}),
        ("d-configmap.json", cm("orig", "conf")),
        ("e-secret.json", {"apiVersion": "v1", "kind": "Secret",
                           "metadata": {"name": "s", "namespace": "orig"}, "data": {"a": "Yg=="}}),
        ("f-sa.json", {"apiVersion": "v1", "kind": "ServiceAccount",
                       "metadata": {"name": "robot", "namespace": "orig"}}),
        ("y-namespace.json", {"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": "orig", "labels": {"tier": "gold"},
                                           "annotations": {"owner": "team-a"}}}),
        ("z-crd.json", crd(group, "Gizmo", "gizmos")),
    ])
    target = m / "restore/namespaces" / ns
    os.mkdir(target)
    cp("-r", *sorted(src.iterdir()), target)
    reports = reports_of(m)
    assert len(reports) == 1, reports
    text = next(iter(reports.values()))
    assert "state done" in text, text
    assert re.search(r"^source restore/namespaces/%s/a-gizmo.json and 7 more files$" % ns, text, re.M), text
    assert "file restore/namespaces/%s/z-crd.json: 1 item" % ns in text, text

    got = {
        "crd": get(kube, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos." + group),
        "ns": get(kube, "/api/v1/namespaces/" + ns),
        "sa": get(kube, "/api/v1/namespaces/%s/serviceaccounts/robot" % ns),
        "secret": get(kube, "/api/v1/namespaces/%s/secrets/s" % ns),
        "cm": get(kube, "/api/v1/namespaces/%s/configmaps/conf" % ns),
        "svc": get(kube, "/api/v1/namespaces/%s/services/web" % ns),
        "deploy": get(kube, "/apis/apps/v1/namespaces/%s/deployments/web" % ns),
        "gizmo": get(kube, "/apis/%s/v1/namespaces/%s/gizmos/g1" % (group, ns)),
    }
    for k, v in got.items():
        assert v is not None, (k, text)
    # the namespace is the backed-up one, renamed
    assert got["ns"]["metadata"]["labels"].get("tier") == "gold"
    assert got["ns"]["metadata"]["annotations"].get("owner") == "team-a"
    # Velero's order where it matters (restore/order.c): the CRD and the
    # namespace before everything, the ServiceAccount before the Secret,
    # all that pods use before the Deployment and the custom resource;
    # the Service needs only its namespace (it may go with the accounts)
    needs = {"ns": ["crd"], "sa": ["crd", "ns"], "cm": ["crd", "ns"],
             "svc": ["crd", "ns"], "secret": ["crd", "ns", "sa"],
             "deploy": ["crd", "ns", "sa", "secret", "cm"],
             "gizmo": ["crd", "ns", "sa", "secret", "cm"]}
    order = sorted(got, key=lambda k: rv(got[k]))
    for k, before in needs.items():
        for b in before:
            assert rv(got[b]) < rv(got[k]), (b, "before", k, order)


def test_item_waiting_for_its_type_blocks_nothing(mount, shop_vault, kube, tmp_path):
    """An item of a kind the server does not serve (sorted before the
    Deployment) waits for its type after the others: the Deployment and
    the ConfigMap are restored while it waits; it fails at the end of
    the wait with the reason."""
    wait_s = 40
    m = restore_mount(mount, shop_vault, kube, tmp_path, "type_wait=%d" % wait_s)
    ns = unique_ns("waits")
    src = write_items(tmp_path / "src", [
        ("aardvark.json", {"apiVersion": "nope.example.com/v1", "kind": "Aardvark",
                           "metadata": {"name": "a", "namespace": ns}}),
        ("cm.json", cm(ns, "conf")),
        ("web.json", deployment(ns, "web")),
    ])
    t0 = time.monotonic()
    cp("-r", src, m / "restore")
    job = os.readlink(m / "restore/jobs/latest")
    while get(kube, "/apis/apps/v1/namespaces/%s/deployments/web" % ns) is None:
        assert time.monotonic() - t0 < wait_s - 5, read_report(m, job)
        time.sleep(0.1)
    assert not FINAL_RE.search(read_report(m, job)), "finished before the wait was over"
    assert get(kube, "/api/v1/namespaces/%s/configmaps/conf" % ns) is not None
    text = wait_job(m, job, timeout=wait_s + 60)
    assert "state failed" in text, text
    assert re.search(r"^failed aardvarks.nope.example.com %s/a: the server does not serve" % ns,
                     text, re.M), text
    assert re.search(r"^created deployments.apps %s/web$" % ns, text, re.M), text


@pytest.fixture
def outage_kube(etcd):
    """An API server of this test's own, that the test stops and starts."""
    k = harness.KubeApiserver(etcd)
    try:
        k.start()
    except harness.ServerError as e:
        pytest.fail(str(e))
    yield k
    k.stop()


def configmap_files(d, ns, n):
    d.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (d / ("cm-%04d.json" % i)).write_text(json.dumps(cm(ns, "cm-%04d" % i)))
    return d


def test_api_server_outage_waits_and_resumes(mount, shop_vault, outage_kube, tmp_path):
    """The API server stops mid-restore: the job waits (restore/status and
    its report say so, with the reason), survives a kill -9 of the daemon
    while waiting, and once the server is back finishes by itself: every
    item exactly once."""
    kube = outage_kube
    n = 1500
    ns = unique_ns("outage")
    src = configmap_files(tmp_path / "src", ns, n)
    m = restore_mount(mount, shop_vault, kube, tmp_path, "outage_wait=600", allow_errors=True)
    cp("-r", src, m / "restore")
    job = os.readlink(m / "restore/jobs/latest")
    # mid-restore as the cluster sees it: the report's item lines may
    # trail the requests (kinds applied together are reported together)
    deadline = time.monotonic() + 120
    while True:
        status, body = kube.request("GET", "/api/v1/namespaces/%s/configmaps?limit=50" % ns)
        if status == 200 and len(body.get("items", [])) >= 50:
            break
        assert time.monotonic() < deadline, read_report(m, job)
        time.sleep(0.02)
    # at once: a graceful stop drains requests for seconds, long enough
    # for a fast machine to finish the job before the outage begins
    kube.stop(keep_dir=True, hard=True)
    deadline = time.monotonic() + 120
    while "state waiting" not in read_report(m, job):
        text = read_report(m, job)
        assert not FINAL_RE.search(text), text
        assert time.monotonic() < deadline, text
        time.sleep(0.2)
    text = read_report(m, job)
    assert re.search(r"^waiting: .*(connect|refused|reset|127\.0\.0\.1).*retrying", text, re.M), text
    status = (m / "restore/status").read_text()
    assert re.search(r"^%s\s+waiting\s" % re.escape(job[:-4]), status, re.M), status
    # a daemon restart keeps the waiting job
    m.restart()
    assert job in job_files(m)
    time.sleep(1)
    assert not FINAL_RE.search(read_report(m, job))
    kube.start()
    text = wait_job(m, job, timeout=300)
    assert "state done" in text, text
    status, body = kube.request("GET", "/api/v1/namespaces/%s/configmaps?labelSelector=%s"
                                % (ns, "velero.io/restore-name=" + job[:-4]))
    assert status == 200
    names = sorted(i["metadata"]["name"] for i in body["items"])
    assert names == ["cm-%04d" % i for i in range(n)]
    assert len(re.findall(r"^(created|unchanged) configmaps ", text, re.M)) == n, text


def pv_pvc(pv_name, ns, claim):
    pv = {"apiVersion": "v1", "kind": "PersistentVolume",
          "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/bound-by-controller": "yes"}},
          "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                   "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "manual",
                   "hostPath": {"path": "/tmp/" + pv_name},
                   "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                "namespace": ns, "name": claim, "uid": "u-1", "resourceVersion": "9"}},
          "status": {"phase": "Bound"}}
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": claim, "namespace": ns,
                        "annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
           "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                    "resources": {"requests": {"storage": "1Gi"}}, "volumeName": pv_name},
           "status": {"phase": "Bound"}}
    return pv, pvc


@pytest.mark.parametrize("together", [False, True], ids=["apart", "together"])
def test_mapped_pv_and_pvc_copied_as_files_bind(mount, shop_vault, kube, tmp_path, together):
    """A PV and its PVC copied as separate files into
    restore/namespaces/<target>/ (two cp runs, each its own job, or one
    cp of both): the PV's claimRef points at the claim in <target> and the
    claim's volumeName at the PV, so they bind."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    target = unique_ns("pvmap")
    pv_name = "pv-" + target
    pv, pvc = pv_pvc(pv_name, "orig-data", "data")
    (tmp_path / "pv.json").write_text(json.dumps(pv))
    (tmp_path / "pvc.json").write_text(json.dumps(pvc))
    os.mkdir(m / "restore/namespaces" / target)
    if together:
        cp(tmp_path / "pv.json", tmp_path / "pvc.json", m / "restore/namespaces" / target)
    else:
        cp(tmp_path / "pv.json", m / "restore/namespaces" / target)
        wait_job(m)
        cp(tmp_path / "pvc.json", m / "restore/namespaces" / target)
    reports = reports_of(m)
    assert len(reports) == (1 if together else 2), reports
    for text in reports.values():
        assert "state done" in text, text
    got_pv = get(kube, "/api/v1/persistentvolumes/" + pv_name)
    got_pvc = get(kube, "/api/v1/namespaces/%s/persistentvolumeclaims/data" % target)
    assert got_pv is not None and got_pvc is not None, reports
    ref = got_pv["spec"]["claimRef"]
    assert (ref["namespace"], ref["name"]) == (target, "data"), ref
    assert got_pvc["spec"]["volumeName"] == pv_name


def event(ns, name, api="v1"):
    if api == "v1":
        return {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": ns},
                "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": ns},
                "reason": "Test", "message": "m", "type": "Normal",
                "firstTimestamp": "2026-11-01T10:00:00Z", "lastTimestamp": "2026-11-01T10:00:00Z",
                "count": 1, "source": {"component": "test"}}
    return {"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "eventTime": "2026-11-01T10:00:00.000000Z", "reportingController": "test/x",
            "reportingInstance": "test-1", "action": "Test", "reason": "Test", "type": "Normal",
            "regarding": {"kind": "ConfigMap", "name": "x", "namespace": ns}}


@pytest.mark.parametrize("include", [False, True], ids=["default", "include_nonrestorable"])
def test_nonrestorable_kinds(mount, shop_vault, kube, tmp_path, include):
    """Events (both groups) are skipped with the reason unless
    -o include_nonrestorable; the ConfigMap beside them is restored."""
    opts = ["include_nonrestorable"] if include else []
    m = restore_mount(mount, shop_vault, kube, tmp_path, *opts)
    ns = unique_ns("events")
    f = tmp_path / "mixed.json"
    f.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        event(ns, "e1"), event(ns, "e2", api="events.k8s.io"), cm(ns, "keep")]}))
    cp(f, m / "restore")
    text = wait_job(m)
    assert "state done" in text, text
    assert get(kube, "/api/v1/namespaces/%s/configmaps/keep" % ns) is not None
    e1 = get(kube, "/api/v1/namespaces/%s/events/e1" % ns)
    e2 = get(kube, "/apis/events.k8s.io/v1/namespaces/%s/events/e2" % ns)
    if include:
        assert e1 is not None and e2 is not None, text
    else:
        assert e1 is None and e2 is None, text
        assert re.search(r"^skipped events %s/e1: Velero does not restore this kind" % ns, text, re.M), text
        assert re.search(r"^skipped events.events.k8s.io %s/e2: Velero does not restore" % ns, text, re.M), text


def test_empty_file_gets_a_report(mount, shop_vault, kube, tmp_path):
    """cp of an empty file: a report (rejected: empty), nothing left in
    restore/."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    (tmp_path / "empty.yaml").write_bytes(b"")
    cp(tmp_path / "empty.yaml", m / "restore")
    deadline = time.monotonic() + 30
    while not job_files(m) and time.monotonic() < deadline:
        time.sleep(0.05)
    text = wait_job(m)
    assert "source restore/empty.yaml" in text and "state rejected" in text, text
    assert "empty file" in text, text
    assert "empty.yaml" not in os.listdir(m / "restore")


def test_invalid_job_warns_once(mount, shop_vault, kube, tmp_path):
    """A job directory that cannot be loaded is set aside with one warning;
    the next mount does not warn again. One without its job.json (what a
    failed commit leaves) goes quietly."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    bad = state / "restore-20260101-000000-0001"
    bad.mkdir(mode=0o700)
    (bad / "job.json").write_text("{not json")
    half = state / "restore-20260101-000000-0002"
    half.mkdir(mode=0o700)
    (half / ".job.json.tmp").write_text("{")
    m = restore_mount(mount, shop_vault, kube, tmp_path, state=state, allow_errors=True)
    assert job_files(m) == []
    first = m.stderr()
    assert len([ln for ln in first.splitlines() if "restore-20260101-000000-0001" in ln]) == 1, first
    assert "restore-20260101-000000-0002" not in first, first
    assert not half.exists() and not bad.exists()
    assert (state / ".invalid-restore-20260101-000000-0001" / "job.json").exists()
    m.restart(kill=False)
    assert "restore-20260101" not in m.stderr(), m.stderr()


def test_job_layouts_on_disk(mount, shop_vault, kube, tmp_path):
    """A gathered job keeps its second and later files as lines of one
    parts.jsonl (a last line without its newline, a commit cut off by a
    kill, is not part of it); a job written by an earlier build, with
    part-NNNN.json files, loads and runs the same."""
    ns = unique_ns("layout")
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    created = int(time.time())

    def job_json(jid, source, name):
        return json.dumps({"id": jid, "source": source, "created": created,
                           "target_ns": ns, "items": [cm("orig", name)]})

    new = state / "restore-20260101-000000-0001"
    new.mkdir(mode=0o700)
    (new / "job.json").write_text(job_json(new.name, "restore/a1.json", "a1"))
    (new / "parts.jsonl").write_text(
        json.dumps({"source": "restore/a2.json", "target_ns": ns, "items": [cm("orig", "a2")]})
        + "\n" + json.dumps({"source": "restore/a3.json", "target_ns": ns,
                             "items": [cm("orig", "a3")]})[:40])
    old = state / "restore-20260101-000000-0002"
    old.mkdir(mode=0o700)
    (old / "job.json").write_text(job_json(old.name, "restore/b1.json", "b1"))
    (old / "part-0001.json").write_text(job_json(old.name, "restore/b2.json", "b2"))
    m = restore_mount(mount, shop_vault, kube, tmp_path, state=state)
    reports = reports_of(m)
    assert len(reports) == 2, reports
    for text in reports.values():
        assert "state done" in text and "2 created" in text, text
    for name in ("a1", "a2", "b1", "b2"):
        assert get(kube, "/api/v1/namespaces/%s/configmaps/%s" % (ns, name)), name
    assert get(kube, "/api/v1/namespaces/%s/configmaps/a3" % ns) is None

    # a cp -r of three files: job.json and one parts.jsonl of two lines
    src = write_items(tmp_path / "three", [("c%d.json" % i, cm("orig", "c%d" % i))
                                           for i in range(3)])
    target = m / "restore/namespaces" / ns
    os.mkdir(target)
    cp("-r", *sorted(src.iterdir()), target)
    reports = reports_of(m)
    assert len(reports) == 3, reports
    (job,) = [d for d in state.iterdir() if d.name not in (new.name, old.name)
              and d.name.startswith("restore-")]
    files = sorted(f.name for f in job.iterdir())
    assert "parts.jsonl" in files and not [f for f in files if f.startswith("part-")], files
    assert len((job / "parts.jsonl").read_text().splitlines()) == 2


def test_status_json_of_one_job(velerofs, mount, shop_vault, kube, tmp_path):
    """Every --json is JSON: status of one job, and wait."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    cp(m / "backups/latest/namespaces/shop/configmaps/api-config.json", m / "restore")
    job = os.readlink(m / "restore/jobs/latest")[:-4]
    r = subprocess.run([str(velerofs), "restore", "wait", "--json", str(m), job],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    w = json.loads(r.stdout)
    assert w["job"] == job and w["state"] == "done", w
    for arg in (job, job + ".txt"):
        r = subprocess.run([str(velerofs), "restore", "status", "--json", str(m), arg],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        o = json.loads(r.stdout)
        assert o["job"] == job and o["state"] == "done" and o["report"].startswith("job " + job), o


def test_created_namespace_comes_from_the_backup(mount, shop_vault, kube, tmp_path):
    """A ConfigMap copied alone into restore/namespaces/<new>/: the
    namespace <new> is made from the backup's Namespace shop (its labels),
    though the Namespace was not copied; labelled with the backup."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    target = unique_ns("nsfrom")
    os.mkdir(m / "restore/namespaces" / target)
    cp(m / "backups/latest/namespaces/shop/configmaps/api-config.json", m / "restore/namespaces" / target)
    text = wait_job(m)
    assert "state done" in text, text
    assert "created namespaces %s" % target in text, text
    ns = get(kube, "/api/v1/namespaces/" + target)
    assert ns["metadata"]["labels"].get("team") == "commerce", ns
    assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == target
    c = get(kube, "/api/v1/namespaces/%s/configmaps/api-config" % target)
    assert c["metadata"]["labels"]["velero.io/backup-name"] == os.readlink(m / "backups/latest")


def test_kill9_during_a_large_copy_applies_each_item_once(mount, shop_vault, kube, tmp_path):
    """cp -r of 3,000 one-item files, the daemon killed with -9 while the
    job runs, mounted again on the same state: every item in the cluster
    exactly once (created, or recognised as created by the cut-off run),
    none failed."""
    n = 3000
    ns = unique_ns("bigkill")
    src = configmap_files(tmp_path / "src", ns, n)
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    cp("-r", src, m / "restore")
    deadline = time.monotonic() + 300
    while True:
        jobs = job_files(m)
        text = "\n".join(read_report(m, j) for j in jobs)
        if len(re.findall(r"^created ", text, re.M)) >= 200:
            break
        assert not re.search(r"^state done", text, re.M), "finished before the kill"
        assert time.monotonic() < deadline, text[-3000:]
        time.sleep(0.05)
    m.restart()  # kill -9, mount again
    reports = wait_all(m, timeout=600)
    text = "\n".join(reports.values())
    assert all("state done" in t for t in reports.values()), text[-3000:]
    status, body = kube.request("GET", "/api/v1/namespaces/%s/configmaps" % ns)
    assert status == 200
    names = sorted(i["metadata"]["name"] for i in body["items"])
    assert names == ["cm-%04d" % i for i in range(n)]
    # each item reported once, as created (before or after the kill)
    done = re.findall(r"^created configmaps %s/(cm-\d+)" % ns, text, re.M)
    assert sorted(done) == names, (len(done), text[-2000:])
    # and each object created once: its restore label names one job, its
    # generation is 1 (never patched)
    assert all(i["metadata"].get("generation", 1) == 1 for i in body["items"])


def test_backup_name_is_the_backup_read_from(mount, shop_vault, kube, tmp_path):
    """A file with the same bytes in several backups: velero.io/backup-name
    is the backup it was copied from (cp has it open), not the newest
    backup the mount opened; also for a file of several documents of one
    backup written by a shell; none for documents of two backups."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    backups = sorted(b for b in os.listdir(m / "backups") if b.startswith("daily-"))
    same = None
    for f in sorted((m / "backups" / backups[0] / "namespaces/shop/configmaps").iterdir()):
        twins = [b for b in backups[1:] if (m / "backups" / b / "namespaces/shop/configmaps" / f.name).exists()
                 and (m / "backups" / b / "namespaces/shop/configmaps" / f.name).read_bytes() == f.read_bytes()]
        if twins:
            same = (f.name, twins[-1])
            break
    assert same, "the example vault has a ConfigMap unchanged between two daily backups"
    name, newer = same
    old = backups[0]
    # the newer backup is opened (and read) first
    (m / "backups" / newer / "namespaces/shop/configmaps" / name).read_bytes()
    for label, cmd in (("cp", None), ("cat", "cat '%s' > '%s'")):
        ns = unique_ns("origin")
        os.mkdir(m / "restore/namespaces" / ns)
        src = m / "backups" / old / "namespaces/shop/configmaps" / name
        if cmd:
            subprocess.run(["sh", "-c", cmd % (src, m / "restore/namespaces" / ns / name)], check=True)
        else:
            cp(src, m / "restore/namespaces" / ns)
        text = wait_job(m)
        assert "state done" in text and ("backup %s" % old) in text, (label, text)
        obj = json.loads(src.read_bytes())
        got = get(kube, "/api/v1/namespaces/%s/configmaps/%s" % (ns, obj["metadata"]["name"]))
        assert got["metadata"]["labels"]["velero.io/backup-name"] == old, label
    # two documents of the old backup, joined by a shell: the old backup
    files = sorted((m / "backups" / old / "namespaces/shop/configmaps").iterdir())[:2]
    ns = unique_ns("origin")
    os.mkdir(m / "restore/namespaces" / ns)
    subprocess.run(["sh", "-c", "cat '%s' '%s' > '%s'" % (files[0], files[1],
                                                         m / "restore/namespaces" / ns / "two.json")],
                   check=True)
    text = wait_job(m)
    assert "state done" in text and ("backup %s" % old) in text, text
    for f in files:
        obj = json.loads(f.read_bytes())
        got = get(kube, "/api/v1/namespaces/%s/configmaps/%s" % (ns, obj["metadata"]["name"]))
        assert got["metadata"]["labels"]["velero.io/backup-name"] == old
    # documents of two backups: the backup cannot be told, no label
    ns = unique_ns("origin")
    os.mkdir(m / "restore/namespaces" / ns)
    other = sorted((m / "backups" / newer / "namespaces/shop/deployments.apps").iterdir())[0]
    subprocess.run(["sh", "-c", "cat '%s' '%s' > '%s'" % (files[0], other,
                                                         m / "restore/namespaces" / ns / "mixed.json")],
                   check=True)
    text = wait_job(m)
    assert "state done" in text and "\nbackup " not in text, text
    obj = json.loads(files[0].read_bytes())
    got = get(kube, "/api/v1/namespaces/%s/configmaps/%s" % (ns, obj["metadata"]["name"]))
    assert "velero.io/backup-name" not in got["metadata"]["labels"], got["metadata"]["labels"]


def test_restore_create_from_backup(velerofs, mount, shop_vault, kube, tmp_path):
    """`velerofs restore create MNT --from-backup B` with namespace
    inclusion, resource exclusion and a namespace mapping: one job, the
    items of shop in the mapped namespace, the excluded kinds not."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    target = unique_ns("create")
    backup = os.readlink(m / "backups/latest")
    r = subprocess.run([str(velerofs), "restore", "create", str(m), "--from-backup", backup,
                        "--include-namespaces", "shop",
                        "--exclude-resources", "pods,replicasets.apps,widgets.example.com",
                        "--namespace-mappings", "shop:" + target, "--wait", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (r.stdout, r.stderr)
    out = json.loads(r.stdout)
    assert out["state"] == "done", out
    assert len(job_files(m)) == 1, job_files(m)
    assert get(kube, "/apis/apps/v1/namespaces/%s/deployments/web" % target) is not None
    assert get(kube, "/api/v1/namespaces/%s/configmaps/api-config" % target) is not None
    status, pods = kube.request("GET", "/api/v1/namespaces/%s/pods" % target)
    assert status == 200 and pods["items"] == []
    ns = get(kube, "/api/v1/namespaces/" + target)
    assert ns["metadata"]["labels"].get("team") == "commerce"  # from the backup
    # a bad call: no backup named so
    r = subprocess.run([str(velerofs), "restore", "create", str(m), "--from-backup", "no-such"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "no-such" in r.stderr
