"""etcd snapshots as recovery points (issue 12), end to end against real
servers: a kube-apiserver on its own etcd, with encryption at rest
(aescbc, aesgcm, secretbox: harness.encryption_config()), filled by
tests/etcd_population.py plus a namespace of our own; `etcdctl snapshot
save`; the snapshot file put in a vault beside Velero backups (a local
directory and MinIO), laid out as GKE on VMware backs clusters up
(<dir>/<date>/user-cluster_<cluster>_snapshot.db and pki/ beside it).

What the mount must show:

* snapshots/<name>/ with every object the apiserver held at the
  snapshot's revision, each exactly as the apiserver returns it (LIST
  with resourceVersion=<revision>&resourceVersionMatch=Exact: the same
  state, not a later one), every kind, and no object more;
* describe.txt with what `etcdutl snapshot status` prints;
* a second snapshot after updates and deletes: history/ and a diff of the
  two directories show exactly those changes; snapshots/latest/<cluster>;
* a `cp` into restore/ restores an item as from a Velero backup;
* bad input (truncated, not bbolt, bbolt without etcd's bucket, a corrupt
  page) is a clear error in that snapshot's errors.txt, and the other
  snapshots and the backups are unaffected.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import struct
import subprocess
import time
import urllib.parse
import uuid

import errno

import pytest

import etcd_population
import util
from servers import harness
from test_remote import restart_minio, s3_env, s3_url, use_env  # noqa: F401 (a fixture)
from test_restore_mount import restore_mount, wait_job

NS = "etcdsrc"
CLUSTER = "prod"
DAY1 = "clusters/2026-12-01"
DAY2 = "clusters/2026-12-02"
SNAP = "user-cluster_%s_snapshot.db" % CLUSTER
NAME1 = "clusters_2026-12-01_" + SNAP
NAME2 = "clusters_2026-12-02_" + SNAP
T1 = 1796083200  # 2026-12-01T00:00:00Z: the files' mtimes order them
T2 = T1 + 86400

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.etcdsrc.velerofs.test"},
    "spec": {
        "group": "etcdsrc.velerofs.test",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {"type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True}}}},
        }],
    },
}


def our_objects():
    """The objects of our own namespace: what the second snapshot changes."""
    def meta(name):
        return {"name": name, "namespace": NS, "labels": {"app": "etcdsrc"}}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("app"),
         "data": {"k": "v1", "multi": "line 1\nline 2\n"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("same"),
         "data": {"k": "never changes"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("s1"), "type": "Opaque",
         "stringData": {"password": "hunter2"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("web"),
         "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "web"}}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web"),
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}},
        {"apiVersion": "etcdsrc.velerofs.test/v1", "kind": "Widget", "metadata": meta("w1"),
         "spec": {"size": 3, "ratio": 0.25, "tags": ["a", "b"]}},
    ]


def create(kube, obj):
    group, _, version = obj["apiVersion"].rpartition("/")
    base = "/apis/%s/%s" % (group, version) if group else "/api/%s" % version
    plural = {"ConfigMap": "configmaps", "Secret": "secrets", "Service": "services",
              "Deployment": "deployments", "Widget": "widgets", "Namespace": "namespaces",
              "CustomResourceDefinition": "customresourcedefinitions"}[obj["kind"]]
    ns = obj["metadata"].get("namespace")
    path = base + ("/namespaces/%s" % ns if ns else "") + "/" + plural
    st, body = kube.request("POST", path, obj)
    assert st in (200, 201), (path, st, body)
    return body


def snapshot_save(etcd, dest: pathlib.Path, mtime: int):
    dest.parent.mkdir(parents=True, exist_ok=True)
    harness.run([str(harness.binary("etcdctl")), "--endpoints", etcd.url,
                 "snapshot", "save", str(dest)])
    os.utime(dest, (mtime, mtime))


def etcdutl_status(path):
    r = harness.run([str(harness.binary("etcdutl")), "snapshot", "status", "-w", "json",
                     str(path)])
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, shop_vault, populated_kube):
    """The populated, encrypting apiserver (populated_kube: every creatable
    kind, real CRDs, a key rotation) with our own namespace, and two
    snapshots: the first after that, the second after our namespace
    changed."""
    kube, pop = populated_kube
    etcd = kube.etcd
    work = tmp_path_factory.mktemp("etcdsrc")
    create(kube, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    create(kube, CRD)
    assert util.wait_for(lambda: kube.request(
        "GET", "/apis/etcdsrc.velerofs.test/v1/namespaces/%s/widgets" % NS)[0] == 200, 60)
    for o in our_objects():
        create(kube, o)
    # what kubeadm leaves: describe.txt's Kubernetes version comes from it
    # (source_etcd.c learn(): picked by its key, then parsed)
    create(kube, {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
                  "data": {"ClusterConfiguration": "apiVersion: kubeadm.k8s.io/v1beta4\n"
                                                   "kind: ClusterConfiguration\n"
                                                   "kubernetesVersion: v1.34.10-kubeadm\n"}})
    vault = work / "vault"
    # Velero backups beside the snapshots
    shutil.copytree(shop_vault / "backups", vault / "backups")
    snapshot_save(etcd, vault / DAY1 / SNAP, T1)
    shutil.copytree(kube.pki, vault / DAY1 / "pki")
    st1 = etcdutl_status(vault / DAY1 / SNAP)

    # the changes the second snapshot must show, and only them
    kube.kubectl("-n", NS, "patch", "configmap", "app", "--type", "merge",
                 "-p", '{"data":{"k":"v2"}}')
    kube.kubectl("-n", NS, "delete", "secret", "s1")
    kube.kubectl("-n", NS, "create", "configmap", "new", "--from-literal=a=b")
    kube.kubectl("-n", NS, "patch", "widgets.etcdsrc.velerofs.test", "w1", "--type",
                 "merge", "-p", '{"spec":{"size":4}}')
    snapshot_save(etcd, vault / DAY2 / SNAP, T2)
    shutil.copytree(kube.pki, vault / DAY2 / "pki")
    st2 = etcdutl_status(vault / DAY2 / SNAP)
    return dict(etcd=etcd, kube=kube, vault=vault, pop=pop, st1=st1, st2=st2,
                encryption=kube.encryption_file)


def describe_revision(snapdir):
    for line in (snapdir / "describe.txt").read_text().splitlines():
        if line.strip().startswith("Revision:"):
            return int(line.split(":")[1])
    raise AssertionError("no Revision in describe.txt:\n" + (snapdir / "describe.txt").read_text())


def items_of(snapdir):
    """{(gr, ns, name): object} of the JSON view of a recovery point."""
    out = {}
    for f in list(snapdir.glob("namespaces/*/*/*.json")) + list(snapdir.glob("cluster/*/*.json")):
        obj = json.loads(f.read_bytes())
        gr = f.parent.name
        ns = obj["metadata"].get("namespace")
        out[(gr, ns, obj["metadata"]["name"])] = obj
    return out


def served(kube):
    """{gr (Velero's name): (group, preferred version, resource)} of every
    listable resource the apiserver stores."""
    out = {}
    st, core = kube.request("GET", "/api/v1")
    gvs = [("", "v1", core)]
    st, groups = kube.request("GET", "/apis")
    for g in groups["groups"]:
        v = g["preferredVersion"]["version"]
        st, res = kube.request("GET", "/apis/%s/%s" % (g["name"], v))
        gvs.append((g["name"], v, res))
    for group, version, res in gvs:
        for r in res["resources"]:
            if "/" in r["name"] or "list" not in r.get("verbs", []):
                continue
            if r["name"] == "componentstatuses" or group == "events.k8s.io":
                continue  # not stored / the same objects as core events
            gr = "%s.%s" % (r["name"], group) if group else r["name"]
            out[gr] = (group, version, r["name"])
    return out


def list_at(kube, group, version, resource, rev):
    base = "/apis/%s/%s" % (group, version) if group else "/api/%s" % version
    q = urllib.parse.urlencode({"resourceVersion": str(rev),
                                "resourceVersionMatch": "Exact"})
    deadline = time.monotonic() + 60
    while True:  # 429 "storage is (re)initializing" while a CRD's storage starts
        st, body = kube.request("GET", "%s/%s?%s" % (base, resource, q))
        if st != 429 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert st == 200, (resource, st, json.dumps(body))
    kind = body["kind"][:-len("List")]
    items = {}
    for o in body["items"]:
        o = {"apiVersion": body["apiVersion"], "kind": kind, **o}  # as kubectl shows them
        items[(o["metadata"].get("namespace"), o["metadata"]["name"])] = o
    return items


def json_diff(a, b, path=""):
    """Where two JSON values differ: lines "path: snapshot | apiserver"."""
    if type(a) is not type(b) or not isinstance(a, (dict, list)):
        return [] if a == b else ["%s: %s | %s" % (path or "/", json.dumps(a)[:300],
                                                   json.dumps(b)[:300])]
    out = []
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            out += json_diff(a.get(k, "<absent>"), b.get(k, "<absent>"), path + "/" + k)
    else:
        if len(a) != len(b):
            out.append("%s: %d items | %d items" % (path, len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            out += json_diff(x, y, "%s/%d" % (path, i))
    return out


# kinds whose storage version is not served (see assert_same_as_apiserver)
NOT_SERVED: set = set()


def version_served(kube, group, version):
    path = "/apis/%s/%s" % (group, version) if group else "/api/%s" % version
    return kube.request("GET", path)[0] == 200


def assert_same_as_apiserver(kube, snapdir):
    """Every object of the snapshot equals the apiserver's at the
    snapshot's revision, and the apiserver had no object more."""
    rev = describe_revision(snapdir)
    items = items_of(snapdir)
    assert items, "no items in %s" % snapdir
    by_gr = {}
    for (gr, ns, name), obj in items.items():
        by_gr.setdefault(gr, {})[(ns, name)] = obj
    live_grs = served(kube)
    mismatches, missing, extra = [], [], []
    NOT_SERVED.clear()
    for gr, (group, version, resource) in sorted(live_grs.items()):
        have = by_gr.get(gr, {})
        versions = {o["apiVersion"] for o in have.values()} or {
            "%s/%s" % (group, version) if group else version}
        live = {}
        for av in versions:
            g, _, v = av.rpartition("/")
            if v != version and not version_served(kube, g, v):
                # stored in a version the server does not serve (a beta
                # API off by default): compared with the served one,
                # apiVersion aside, and noted
                NOT_SERVED.add("%s stored as %s, served as %s" % (
                    gr, av, "%s/%s" % (group, version) if group else version))
                for k, o in list_at(kube, group, version, resource, rev).items():
                    if k in have:
                        o = dict(o, apiVersion=av)
                    live[k] = o
                continue
            for k, o in list_at(kube, g, v, resource, rev).items():
                if k not in have or have[k]["apiVersion"] == av:
                    live[k] = o
        for k in sorted(set(live) - set(have), key=str):
            missing.append("%s %s/%s" % (gr, k[0] or "-", k[1]))
        for k in sorted(set(have) - set(live), key=str):
            extra.append("%s %s/%s" % (gr, k[0] or "-", k[1]))
        for k in sorted(set(have) & set(live), key=str):
            if have[k] != live[k]:
                mismatches.append("%s %s/%s:\n    %s" % (
                    gr, k[0] or "-", k[1], "\n    ".join(json_diff(have[k], live[k])[:20])))
    unknown = sorted(set(by_gr) - set(live_grs))
    errors = (snapdir / "errors.txt").read_text() if (snapdir / "errors.txt").exists() else ""
    assert not (mismatches or missing or extra or unknown), (
        "%d objects differ, %d missing, %d not on the server, kinds not served %s\n"
        "(stored in a version not served, compared apiVersion aside: %s)\n"
        "%s\nmissing: %s\nextra: %s\nerrors.txt:\n%s" % (
            len(mismatches), len(missing), len(extra), unknown, sorted(NOT_SERVED),
            "\n".join(mismatches[:10]), missing[:50], extra[:50], errors[:5000]))
    return items


def test_snapshot_objects_equal_the_apiserver(cluster, mount):
    m = mount(cluster["vault"], json=True,
              args=["-o", "encryption-config=%s" % cluster["encryption"]])
    assert sorted(os.listdir(m / "snapshots")) == sorted([NAME1, NAME2, "latest"])
    # the Velero backups beside them are there as ever
    assert set(os.listdir(util.SHOP_VAULT / "backups")) <= set(os.listdir(m / "backups"))
    for name in (NAME1, NAME2):
        items = assert_same_as_apiserver(cluster["kube"], m / "snapshots" / name)
        assert ("secrets", NS, "s1") in items or name == NAME2
        assert ("widgets.etcdsrc.velerofs.test", NS, "w1") in items
        assert ("customresourcedefinitions.apiextensions.k8s.io", None,
                "widgets.etcdsrc.velerofs.test") in items
        assert ("deployments.apps", NS, "web") in items and ("services", NS, "web") in items
    # the population's objects, every one
    snap1 = items_of(m / "snapshots" / NAME1)
    grs = {gr for gr, _, _ in snap1}
    for o in cluster["pop"].created:
        gr = "%s.%s" % (o.resource, o.group) if o.group else o.resource
        if o.group == "events.k8s.io":
            gr = "events"
        assert gr in grs, "%s: no %s in the snapshot" % (o, gr)


def test_describe_is_etcdutl_status(cluster, mount):
    m = mount(cluster["vault"], json=True,
              args=["-o", "encryption-config=%s" % cluster["encryption"]])
    for name, st in ((NAME1, cluster["st1"]), (NAME2, cluster["st2"])):
        text = (m / "snapshots" / name / "describe.txt").read_text()
        assert "Revision:    %d\n" % st["revision"] in text, text
        assert "Total keys:  %d\n" % st["totalKey"] in text, text
        assert "Hash:        %x\n" % st["hash"] in text, text
        assert "Version:     %s\n" % st["version"] in text, text
        assert "Cluster name: %s" % CLUSTER in text
        uid = json.loads((m / "snapshots" / name / "cluster/namespaces/kube-system.json")
                         .read_bytes())["metadata"]["uid"]
        assert "Cluster UID:  %s\n" % uid in text
        assert "Kubernetes:   v1.34.10-kubeadm (from kubeadm-config)\n" in text, text
        assert "Resource List:\n" in text and "  configmaps: " in text
        assert "Keys not decoded" not in text, text
        assert "Integrity:    the SHA-256 etcdctl snapshot save appended matches" in text
        keys = (m / "snapshots" / name / "keys.txt").read_text()
        assert "/registry/configmaps/%s/app\t" % NS in keys
        assert "namespaces/%s/configmaps/app\n" % NS in keys
        # what is not an object of an API is shown as stored
        assert (m / "snapshots" / name / "raw/registry/ranges/servicenodeports").is_file()
        assert "/registry/ranges/servicenodeports\t" in keys
    # pki/ beside the snapshot: certificates readable, keys 0400
    pki = m / "snapshots" / NAME1 / "pki"
    assert (pki / "ca.crt").read_bytes() == (cluster["kube"].pki / "ca.crt").read_bytes()
    assert os.stat(pki / "ca.key").st_mode & 0o777 == 0o400
    assert os.stat(pki / "ca.crt").st_mode & 0o777 == 0o444
    assert "ca.crt" in (pki / "certificates.txt").read_text()


def test_certificates_txt_counts_days_from_the_snapshot(cluster, mount):
    """certificates.txt is cached with the index: its days left are counted
    from the snapshot's time (the file's mtime in the vault), says so, and
    never go stale; "not after" is the absolute expiry."""
    import datetime
    m = mount(cluster["vault"], json=True)
    for name, t in ((NAME1, T1), (NAME2, T2)):
        text = (m / "snapshots" / name / "pki/certificates.txt").read_text()
        when = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert "# days left: whole days from %s (the snapshot's time)" % when in text, text[:400]
        r = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in",
                            str(cluster["kube"].pki / "ca.crt")],
                           capture_output=True, text=True, check=True)
        na = datetime.datetime.strptime(r.stdout.strip().split("=", 1)[1],
                                        "%b %d %H:%M:%S %Y %Z").replace(tzinfo=datetime.timezone.utc)
        days = (int(na.timestamp()) - t) // 86400
        section = text.split("\nca.crt (", 1)[1]
        assert "    not after:   %s\n" % na.strftime("%Y-%m-%dT%H:%M:%SZ") in section
        # the harness's CA is newer than the snapshots' backdated mtimes
        assert "    days left:   %d at %s (not yet valid then)\n" % (days, when) in section, \
            section[:600]


def test_history_and_diff_show_exactly_the_changes(cluster, mount):
    m = mount(cluster["vault"], json=True,
              args=["-o", "encryption-config=%s" % cluster["encryption"]])
    assert os.readlink(m / "snapshots/latest" / CLUSTER) == "../" + NAME2
    a, b = m / "snapshots" / NAME1, m / "snapshots" / NAME2
    r = subprocess.run(["diff", "-rq", str(a / "namespaces" / NS), str(b / "namespaces" / NS)],
                       capture_output=True, text=True)
    lines = sorted(line.replace(str(a), "A").replace(str(b), "B")
                   for line in r.stdout.splitlines())
    assert lines == sorted([
        "Files A/namespaces/%s/configmaps/app.json and B/namespaces/%s/configmaps/app.json differ"
        % (NS, NS),
        "Files A/namespaces/%s/widgets.etcdsrc.velerofs.test/w1.json and "
        "B/namespaces/%s/widgets.etcdsrc.velerofs.test/w1.json differ" % (NS, NS),
        "Only in A/namespaces/%s: secrets" % NS,  # s1 was its only Secret
        "Only in B/namespaces/%s/configmaps: new.json" % NS,
    ]), r.stdout
    app_b = json.loads((b / "namespaces" / NS / "configmaps/app.json").read_bytes())
    assert app_b["data"]["k"] == "v2"

    def versions(*comps):
        return sorted(os.listdir(m.path.joinpath("history", *comps)))
    app = versions("namespaces", NS, "configmaps", "app")
    assert [v for v in app if NAME1 in v] and [v for v in app if NAME2 in v], app
    same = versions("namespaces", NS, "configmaps", "same")
    later = [v for v in same if NAME2 in v]
    assert len(later) == 1 and os.path.islink(m.path.joinpath(
        "history/namespaces", NS, "configmaps/same", later[0])), same
    assert not any(os.path.islink(m.path.joinpath("history/namespaces", NS, "configmaps/app", v))
                   for v in app)
    assert [v for v in versions("namespaces", NS, "secrets", "s1")
            if NAME2 in v] == []
    assert [v for v in versions("namespaces", NS, "configmaps", "new") if NAME1 in v] == []


def test_without_the_encryption_config_nothing_is_garbage(cluster, mount):
    m = mount(cluster["vault"], json=True)
    snap = m / "snapshots" / NAME1
    errors = (snap / "errors.txt").read_text()
    assert "/registry/secrets/%s/s1" % NS in errors, errors[:3000]
    assert not (snap / "namespaces" / NS / "secrets").exists() or \
        "s1.json" not in os.listdir(snap / "namespaces" / NS / "secrets")
    # as stored: encrypted bytes under raw/, never shown as an item
    raw = (snap / "raw/registry/secrets" / NS / "s1").read_bytes()
    assert raw.startswith(b"k8s:enc:")
    assert "Keys not decoded" in (snap / "describe.txt").read_text()


def test_restore_an_item_from_a_snapshot(cluster, mount, tmp_path):
    kube = cluster["kube"]
    m = restore_mount(mount, cluster["vault"], kube, tmp_path,
                      "encryption-config=%s" % cluster["encryption"])
    src = m / "snapshots" / NAME2 / "namespaces" / NS / "configmaps/same.json"
    want = json.loads(src.read_bytes())
    st, _ = kube.request("DELETE", "/api/v1/namespaces/%s/configmaps/same" % NS)
    assert st == 200
    r = subprocess.run(["cp", str(src), str(m / "restore/")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    report = wait_job(m)
    assert "applied" in report.lower() or "created" in report.lower(), report
    st, got = kube.request("GET", "/api/v1/namespaces/%s/configmaps/same" % NS)
    assert st == 200, got
    assert got["data"] == want["data"]
    assert got["metadata"]["labels"]["velero.io/backup-name"] == NAME2
    assert got["metadata"]["labels"]["app"] == "etcdsrc"


def label_value(name: str) -> str:
    """What velero.io/backup-name holds for a recovery point named name:
    the name when it is a valid label value; else Velero's GetValidName
    (the first 57 bytes, then 6 hex digits of the SHA-256 of the whole
    name) on the name made valid (leading non-alphanumerics dropped, other
    invalid bytes as '-')."""
    import hashlib
    import re
    b = name.encode()
    if len(b) <= 63 and re.fullmatch(rb"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", b):
        return name
    b2 = re.sub(rb"^[^A-Za-z0-9]+", b"", b)
    b2 = re.sub(rb"[^-A-Za-z0-9_.]", b"-", b2)[:57]
    return (b2 + hashlib.sha256(b).hexdigest()[:6].encode()).decode()


def test_restore_label_of_a_snapshot_named_like_no_label(cluster, mount, tmp_path):
    """A snapshot's name is its vault key: it may be longer than a label
    value and hold bytes no label value may (~, space, +, a leading
    non-alphanumeric). Restored items still get a valid, deterministic
    velero.io/backup-name, and the apiserver takes them."""
    kube = cluster["kube"]
    vault = tmp_path / "odd-vault"
    key = "~ops backups/2026-12-02+nightly-run-of-the-production-user-cluster/" + SNAP
    (vault / key).parent.mkdir(parents=True)
    shutil.copy2(cluster["vault"] / DAY2 / SNAP, vault / key)
    name = key.replace("/", "_")
    want_label = label_value(name)
    assert want_label != name and len(want_label) == 63
    m = restore_mount(mount, vault, kube, tmp_path,
                      "encryption-config=%s" % cluster["encryption"])
    assert name in os.listdir(m / "snapshots")
    src = m / "snapshots" / name / "namespaces" / NS / "configmaps/same.json"
    want = json.loads(src.read_bytes())
    st, _ = kube.request("DELETE", "/api/v1/namespaces/%s/configmaps/same" % NS)
    assert st == 200
    r = subprocess.run(["cp", str(src), str(m / "restore/")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    report = wait_job(m)
    st, got = kube.request("GET", "/api/v1/namespaces/%s/configmaps/same" % NS)
    assert st == 200, (got, report)
    assert got["data"] == want["data"]
    assert got["metadata"]["labels"]["velero.io/backup-name"] == want_label
    assert got["metadata"]["labels"]["app"] == "etcdsrc"


def test_minio_vault_gives_the_same_items(cluster, mount, minio, monkeypatch):
    # a bucket of its own: the session's MinIO is shared, and a snapshot is
    # found anywhere under a vault's prefix (test_remote mounts all of "velero")
    bucket = "etcdsrc-" + uuid.uuid4().hex[:6]
    prefix = "pre"
    minio.make_bucket(bucket)
    for f in cluster["vault"].rglob("*"):
        if f.is_file() and not f.relative_to(cluster["vault"]).parts[0] == "backups":
            minio.put(bucket, "%s/%s" % (prefix, f.relative_to(cluster["vault"])),
                      f.read_bytes())
    for k, v in s3_env(minio).items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)
    remote = mount(s3_url(minio, bucket=bucket, prefix=prefix), json=True,
                   args=["-o", "encryption-config=%s" % cluster["encryption"]])
    local = mount(cluster["vault"], json=True,
                  args=["-o", "encryption-config=%s" % cluster["encryption"]])
    assert sorted(os.listdir(remote / "snapshots")) == sorted([NAME1, NAME2, "latest"])
    for name in (NAME1, NAME2):
        r, l = remote / "snapshots" / name, local / "snapshots" / name
        files = sorted(str(p.relative_to(l)) for p in l.rglob("*")
                       if p.is_file() and p.parts[len(l.parts)] in ("namespaces", "cluster", "pki", "raw"))
        assert files
        for f in files:
            if f == "pki/certificates.txt":
                continue  # days left: from the snapshot's time, here the upload's
            assert (r / f).read_bytes() == (l / f).read_bytes(), f
        assert (r / "keys.txt").read_bytes() == (l / "keys.txt").read_bytes()


def test_snapshots_follow_the_vault_and_survive_it_offline(cluster, mount, tmp_path, use_env):
    """A snapshot uploaded later appears without a remount (-o refresh=);
    with the store down, a new mount on the same cache lists both and
    serves the one it had opened, and says EIO for the other."""
    m = harness.Minio(workdir=tmp_path / "minio").start()
    cache = tmp_path / "cache"
    try:
        m.make_bucket("velero")
        for f in (cluster["vault"] / DAY1).rglob("*"):
            if f.is_file():
                m.put("velero", "%s/%s" % (DAY1, f.relative_to(cluster["vault"] / DAY1)),
                      f.read_bytes())
        use_env(s3_env(m))
        enc = ["-o", "encryption-config=%s" % cluster["encryption"]]
        first = mount(s3_url(m), cache=cache, json=True, args=["-o", "refresh=1"] + enc)
        assert sorted(os.listdir(first / "snapshots")) == [NAME1, "latest"]
        item = first / "snapshots" / NAME1 / "namespaces" / NS / "configmaps/app.json"
        want = item.read_bytes()
        m.put("velero", "%s/%s" % (DAY2, SNAP), (cluster["vault"] / DAY2 / SNAP).read_bytes())
        assert util.wait_for(lambda: NAME2 in os.listdir(first / "snapshots"), 30)
        assert os.readlink(first / "snapshots/latest" / CLUSTER) in ("../" + NAME1, "../" + NAME2)
        first.stop()
        m.stop()

        second = mount(s3_url(m), cache=cache, json=True, allow_errors=True, args=enc)
        assert sorted(os.listdir(second / "snapshots")) == sorted([NAME1, NAME2, "latest"])
        snap = second / "snapshots" / NAME1
        assert (snap / "namespaces" / NS / "configmaps/app.json").read_bytes() == want
        assert "Revision:" in (snap / "describe.txt").read_text()
        with pytest.raises(OSError) as ei:
            os.listdir(second / "snapshots" / NAME2)
        assert ei.value.errno == errno.EIO
        m = restart_minio(m)
        assert os.listdir(second / "snapshots" / NAME2 / "namespaces")  # no remount
    finally:
        m.stop()


def test_cli_ls_cat_find_diff_over_snapshots(cluster, velerofs):
    """velerofs ls/cat/find/diff without a mount: snapshots/ is a path,
    a snapshot is a recovery point for diff, `backups` lists only Velero's."""
    v, enc = str(cluster["vault"]), "--encryption-config=%s" % cluster["encryption"]

    def run(*args, ok=(0,)):
        r = subprocess.run([str(velerofs), *args], capture_output=True, text=True, timeout=300)
        assert r.returncode in ok, (args, r.returncode, r.stderr)
        return r.stdout
    assert run("ls", enc, v, "snapshots").split() == sorted(["latest", NAME1, NAME2],
                                                           key=lambda n: n != "latest")
    assert run("ls", enc, v, "snapshots/latest").split() == [CLUSTER]
    app = json.loads(run("cat", "--view", "json", enc, v,
                         "snapshots/latest/%s/namespaces/%s/configmaps/app.json" % (CLUSTER, NS)))
    assert app["data"]["k"] == "v2"
    assert "snapshots/" not in run("backups", v)
    found = run("find", enc, "--namespace", NS, "--kind", "cm", v).split()
    assert "snapshots/%s/namespaces/%s/configmaps/app.yaml" % (NAME1, NS) in found, found
    out = run("diff", enc, v, NAME1, "snapshots/latest/" + CLUSTER, "namespaces/" + NS, ok=(1,))
    lines = sorted(out.splitlines())
    assert any("configmaps/app" in l for l in lines), out
    assert any("secrets/s1" in l for l in lines) and any("configmaps/new" in l for l in lines), out
    assert not any("configmaps/same" in l for l in lines), out
    r = subprocess.run([str(velerofs), "ls", "--encryption-config=/nonexistent", v],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "encryption-config" in r.stderr
    r = subprocess.run([str(velerofs), "mount", "-f", "-o", "encryption-config=/nonexistent",
                        v, str(cluster["vault"].parent / "nomount")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "encryption-config" in r.stderr, r.stderr


# ---- bad input -------------------------------------------------------------------------------

def fnv64a(b: bytes) -> int:
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def bbolt_without_etcd_bucket() -> bytes:
    """A valid bbolt database (two meta pages, a freelist, an empty root
    leaf) that holds no bucket at all: not etcd's."""
    ps = 4096
    pages = []
    for pgid in (0, 1):
        meta = struct.pack("<IIII", 0xED0CDAED, 2, ps, 0) + struct.pack("<QQ", 3, 0) + \
            struct.pack("<QQQ", 2, 4, pgid)
        meta += struct.pack("<Q", fnv64a(meta))
        pages.append(struct.pack("<QHHI", pgid, 0x04, 0, 0) + meta)
    pages.append(struct.pack("<QHHI", 2, 0x10, 0, 0))
    pages.append(struct.pack("<QHHI", 3, 0x02, 0, 0))
    return b"".join(p.ljust(ps, b"\0") for p in pages)


def test_bad_snapshots_are_clear_errors(cluster, mount, tmp_path):
    good = (cluster["vault"] / DAY1 / SNAP).read_bytes()
    v = tmp_path / "badvault"
    shutil.copytree(util.SHOP_VAULT / "backups", v / "backups")
    (v / "ok").mkdir()
    (v / "ok" / SNAP).write_bytes(good)
    (v / "bad").mkdir()
    (v / "bad" / "truncated_snapshot.db").write_bytes(good[:len(good) // 2])
    (v / "bad" / "junk_snapshot.db").write_bytes(os.urandom(20000))
    (v / "bad" / "other_snapshot.db").write_bytes(bbolt_without_etcd_bucket())
    corrupt = bytearray(good)
    # every page header from a quarter to three quarters of the file
    for off in range(len(good) // 4 // 4096 * 4096, len(good) * 3 // 4, 4096):
        corrupt[off:off + 16] = b"\xff" * 16
    (v / "bad" / "corrupt_snapshot.db").write_bytes(bytes(corrupt))
    # the root bucket's page of both meta pages: the file cannot be opened,
    # its appended SHA-256 still says it is damaged
    rootless = bytearray(good)
    ps = struct.unpack_from("<I", good, 24)[0]
    for meta in (0, ps):
        root = struct.unpack_from("<Q", good, meta + 32)[0]
        rootless[root * ps:root * ps + 16] = b"\xff" * 16
    (v / "bad" / "rootless_snapshot.db").write_bytes(bytes(rootless))
    (v / "bad" / "notes.txt").write_text("not a snapshot, not named like one\n")
    # found by content alone; its cluster is its kube-system namespace's uid
    (v / "plain").mkdir()
    (v / "plain" / "etcd-backup.db").write_bytes(good)
    m = mount(v, json=True, allow_errors=True,
              args=["-o", "encryption-config=%s" % cluster["encryption"]])
    names = sorted(os.listdir(m / "snapshots"))
    assert names == sorted(["latest", "ok_" + SNAP, "bad_truncated_snapshot.db",
                            "bad_junk_snapshot.db", "bad_other_snapshot.db",
                            "bad_corrupt_snapshot.db", "bad_rootless_snapshot.db",
                            "plain_etcd-backup.db"]), names
    uid = json.loads((m / "snapshots" / ("ok_" + SNAP) / "cluster/namespaces/kube-system.json")
                     .read_bytes())["metadata"]["uid"]
    assert os.readlink(m / "snapshots/latest" / uid) == "../plain_etcd-backup.db"
    assert os.readlink(m / "snapshots/latest" / CLUSTER) == "../ok_" + SNAP

    def errors(name):
        return (m / "snapshots" / name / "errors.txt").read_text()
    assert "truncated" in errors("bad_truncated_snapshot.db")
    assert "not a bbolt database" in errors("bad_junk_snapshot.db")
    assert "key bucket" in errors("bad_other_snapshot.db")
    assert "SHA-256" in errors("bad_corrupt_snapshot.db")  # and what else the pages say
    assert "Integrity:    DAMAGED" in (m / "snapshots/bad_corrupt_snapshot.db/describe.txt").read_text()
    assert "names itself" in errors("bad_rootless_snapshot.db")
    assert "SHA-256 mismatch" in errors("bad_rootless_snapshot.db")
    d = (m / "snapshots/bad_rootless_snapshot.db/describe.txt").read_text()
    assert "Error:" in d and "Integrity:    DAMAGED: snapshot SHA-256 mismatch" in d, d
    for name in ("bad_truncated_snapshot.db", "bad_junk_snapshot.db", "bad_other_snapshot.db"):
        assert "Error:" in (m / "snapshots" / name / "describe.txt").read_text()
    # the good one is whole, the backups are there
    ref = mount(cluster["vault"], json=True,
                args=["-o", "encryption-config=%s" % cluster["encryption"]])
    assert items_of(m / "snapshots" / ("ok_" + SNAP)) == items_of(ref / "snapshots" / NAME1)
    backups = sorted(os.listdir(util.SHOP_VAULT / "backups"))
    assert set(backups) <= set(os.listdir(m / "backups"))
    assert (m / "backups" / backups[0] / "describe.txt").read_text()
