"""Every sample under ../shared/velero-samples/ that holds backup data is
turned into a vault and browsed through the real daemon:

* text/aks-backup-extension: the real velero-backup.json bytes and the real
  storageclass member (Azure Backup for AKS, Velero-based);
* text/scaleoutsean__scaleoutsean.github.io: the real velero-backup.json of
  backup "demo", with a tarball whose members are exactly the ones the
  nginx-backup-data listing shows, in its order (Velero 1.5.3:
  preferred-version copy first);
* text/migtools__oadp-non-admin: a real -resource-list.json as a backup's
  resource-list object;
* the debug bundles: the Backup CRs of a BackupList (kubecapture
  backups-*.json) become velero-backup.json files (small tarballs); the
  bundle's backup log becomes that backup's log; describe.txt is checked
  against the bundle's own `velero backup describe` output.
"""

import datetime as _dt
import gzip
import io
import json
import os
import pathlib
import re

import pytest
import yaml

import util
import vaultgen

SAMPLES = util.SAMPLES
AKS = SAMPLES / "text" / "aks-backup-extension"
SOS = SAMPLES / "text" / "scaleoutsean__scaleoutsean.github.io"
MIG = SAMPLES / "text" / "migtools__oadp-non-admin"
BUNDLES = sorted(SAMPLES.glob("*/test/e2e/debug-bundle-*.tar.gz"))

# every file of the samples directory, and what covers it
COVERED = {
    "text/aks-backup-extension/velero-backup.json": "test_aks_sample",
    "text/aks-backup-extension/resources/storageclasses.storage.k8s.io/cluster/default.json": "test_aks_sample",
    "text/aks-backup-extension/blob-listing.txt": "test_aks_sample (object names)",
    "text/scaleoutsean__scaleoutsean.github.io/demo.velero-backup.json": "test_scaleoutsean_sample",
    "text/scaleoutsean__scaleoutsean.github.io/nginx-backup-data.tar-listing.txt": "test_scaleoutsean_sample",
    "text/migtools__oadp-non-admin/mongo-blockdevice-e2e.resource-list.json": "test_resource_list_sample",
}


@pytest.fixture(scope="module", autouse=True)
def _samples_present():
    if not SAMPLES.is_dir():
        pytest.fail("samples missing: %s" % SAMPLES)


def test_every_sample_is_covered():
    for p in sorted(SAMPLES.rglob("*")):
        if p.is_dir():
            continue
        rel = str(p.relative_to(SAMPLES))
        if rel.endswith(".tar.gz") and "debug-bundle" in rel:
            assert p in BUNDLES
            continue
        assert rel in COVERED, "sample %s is read by no test" % rel


def _gz(b):
    return vaultgen.go_gzip(b)


def _write_backup_dir(root, name, backup_json_bytes, members, *, logs=b"", meta=None, mtime=0):
    bd = pathlib.Path(root) / "backups" / name
    bd.mkdir(parents=True)
    (bd / "velero-backup.json").write_bytes(backup_json_bytes)
    (bd / (name + ".tar.gz")).write_bytes(_gz(vaultgen.tar_bytes(members, mtime)))
    (bd / (name + "-logs.gz")).write_bytes(_gz(logs))
    for k, v in (meta or {}).items():
        (bd / ("%s-%s" % (name, k))).write_bytes(_gz(v))
    return bd


def _yaml_is(path, value):
    text = pathlib.Path(path).read_text()
    assert util.same(yaml.safe_load(text), value) is None, path
    assert util.same(util.ruamel_load(text), value) is None, path


def _phase_line(desc):
    return next(l for l in desc.splitlines() if l.startswith("Phase:")).split()[1]


# --------------------------------------------------------------------------


def test_aks_sample(mount, tmp_path):
    raw = (AKS / "velero-backup.json").read_bytes()
    bk = json.loads(raw)
    name = bk["metadata"]["name"]
    member = (AKS / "resources/storageclasses.storage.k8s.io/cluster/default.json").read_bytes()
    # the object keys the blob listing shows are the ones we write
    listing = (AKS / "blob-listing.txt").read_text()
    keys = re.findall(r"^backups/<N>/(\S+)", listing, re.M)
    assert "<N>.tar.gz" in keys and "velero-backup.json" in keys
    meta = {}
    for k in keys:
        k = k.replace("<N>", name)
        if k.startswith(name + "-") and k not in (name + "-logs.gz",):
            obj = k[len(name) + 1:]
            meta[obj] = {"resource-list.json.gz": b'{"storage.k8s.io/v1/StorageClass":["default"]}\n',
                         "results.gz": b'{"errors":{},"warnings":{}}\n',
                         "itemoperations.json.gz": b"[]\n"}.get(obj, b"null\n")
    members = [("metadata/version", b"1.1.0\n"),
               ("resources/storageclasses.storage.k8s.io/cluster/default.json", member),
               ("resources/storageclasses.storage.k8s.io/v1-preferredversion/cluster/default.json", member)]
    logs = b'time="2023-10-09T20:04:57Z" level=info msg="Setting up backup temp file" backup=dataprotection-microsoft/x\n'
    v = tmp_path / "aks"
    _write_backup_dir(v, name, raw, members, logs=logs, meta=meta)

    m = mount(v)
    bd = m / "backups" / name
    assert len(name) == 82
    _yaml_is(bd / "backup.yaml", bk)
    _yaml_is(bd / "cluster/storageclasses.storage.k8s.io/default.yaml", json.loads(member))
    _yaml_is(bd / "apiversions/storageclasses.storage.k8s.io/v1-preferredversion/cluster/default.yaml", json.loads(member))
    assert (bd / "logs").read_bytes() == logs
    assert sorted(os.listdir(bd / "meta")) == sorted(
        k.replace(".json.gz", "").replace(".gz", "") + ".yaml" for k in meta)
    assert _phase_line((bd / "describe.txt").read_text()) == "Completed"
    assert os.readlink(m / "backups" / "latest") == name
    assert (bd / "backup.yaml").stat().st_mtime == util.parse_time(bk["status"]["completionTimestamp"])
    jm = mount(v, json=True)
    jbd = jm / "backups" / name
    assert (jbd / "backup.json").read_bytes() == raw
    assert (jbd / "cluster/storageclasses.storage.k8s.io/default.json").read_bytes() == member


def _listing_object(member):
    """A believable object for a member path of the 1.5.3 listing."""
    parts = member.split("/")
    gr = parts[1]
    name = parts[-1][:-5]
    ns = parts[parts.index("namespaces") + 1] if "namespaces" in parts else None
    kinds = {"persistentvolumes": ("v1", "PersistentVolume"),
             "persistentvolumeclaims": ("v1", "PersistentVolumeClaim"),
             "pods": ("v1", "Pod"), "services": ("v1", "Service"),
             "endpoints": ("v1", "Endpoints"), "namespaces": ("v1", "Namespace"),
             "replicasets.apps": ("apps/v1", "ReplicaSet"),
             "deployments.apps": ("apps/v1", "Deployment")}
    api, kind = kinds[gr]
    md = {"name": name}
    if ns:
        md["namespace"] = ns
    md["uid"] = vaultgen.stable_uid(member)
    md["creationTimestamp"] = "2021-03-01T10:00:00Z"
    return {"apiVersion": api, "kind": kind, "metadata": md, "spec": {}, "status": {}}


def test_scaleoutsean_sample(mount, tmp_path):
    raw = (SOS / "demo.velero-backup.json").read_bytes()
    bk = json.loads(raw)
    name = bk["metadata"]["name"]
    assert name == "demo"
    lines = [l for l in (SOS / "nginx-backup-data.tar-listing.txt").read_text().splitlines()
             if l and not l.startswith("#")]
    assert lines[0] == "metadata/version"
    members = [("metadata/version", b"1.1.0\n")]
    objs = {}
    for l in lines[1:]:
        key = re.sub(r"/v1-preferredversion/", "/", l)
        objs.setdefault(key, _listing_object(key))
        members.append((l, vaultgen.go_marshal(objs[key])))
    v = tmp_path / "sos"
    _write_backup_dir(v, name, raw, members, logs=b"x\n",
                      meta={"itemoperations.json.gz": b"[]\n", "results.gz": b'{"errors":{},"warnings":{}}\n'})
    m = mount(v)
    bd = m / "backups" / name
    _yaml_is(bd / "backup.yaml", bk)
    n = 0
    for member, data in members[1:]:
        rel = util.member_tree_path(member)
        assert rel is not None, member
        _yaml_is(bd / rel, json.loads(data))
        n += 1
    assert n == len(lines) - 1 == 14
    assert sorted(os.listdir(bd / "namespaces")) == ["nginx-example"]
    assert sorted(os.listdir(bd / "namespaces/nginx-example")) == [
        "endpoints", "persistentvolumeclaims", "pods", "replicasets.apps", "services"]
    assert sorted(os.listdir(bd / "cluster")) == ["namespaces", "persistentvolumes"]
    desc = (bd / "describe.txt").read_text()
    assert _phase_line(desc) == "Completed"
    assert "2026-04-29 17:09:17" in desc  # completion time, velero's format
    assert (bd / "meta/itemoperations.yaml").read_text().strip() == "[]"


def test_resource_list_sample(mount, tmp_path):
    rl_raw = (MIG / "mongo-blockdevice-e2e.resource-list.json").read_bytes()
    rl = json.loads(rl_raw)
    objs = vaultgen.believable_cluster(seed=9, variant=0)[:6]
    v = tmp_path / "mig"
    info = vaultgen.write_backup(v, "mongo-blockdevice-e2e", objs)
    (pathlib.Path(info["dir"]) / "mongo-blockdevice-e2e-resource-list.json.gz").write_bytes(_gz(rl_raw))
    m = mount(v)
    bd = m / "backups" / "mongo-blockdevice-e2e"
    _yaml_is(bd / "meta/resource-list.yaml", rl)
    jm = mount(v, json=True)
    assert (jm / "backups/mongo-blockdevice-e2e/meta/resource-list.json").read_bytes() == rl_raw
    desc = (bd / "describe.txt").read_text()
    assert "Resource List:" in desc
    for kind in rl:
        assert "  %s:" % kind in desc, kind
    assert "mongo-persistent/todolist" in desc


# --------------------------------------------------------------------------
# debug bundles


def _bundle_backups(path):
    mem = util.tar_members(path)
    lists = [k for k in mem if re.search(r"kubecapture/velero\.io_v1/[^/]+/backups-[^/]*\.json$", k)]
    crs = []
    for k in lists:
        doc = json.loads(mem[k])
        assert doc["kind"] == "BackupList"
        crs += doc["items"]
    return mem, crs


@pytest.mark.parametrize("bundle", BUNDLES, ids=[b.parent.parent.parent.name for b in BUNDLES])
def test_debug_bundle_is_read(bundle):
    """Every bundle is opened; those with Backup CRs are used below."""
    mem, crs = _bundle_backups(bundle)
    assert any(k.endswith("version.txt") for k in mem)
    for cr in crs:
        assert cr["kind"] == "Backup" and cr["apiVersion"] == "velero.io/v1"
    if "danfengliu" in str(bundle):
        assert crs == []  # only BSL/VSL captures, no backups in it
        bsl = [k for k in mem if "backupstoragelocations-" in k]
        assert bsl and json.loads(mem[bsl[0]])["items"][0]["kind"] == "BackupStorageLocation"
    else:
        assert len(crs) == 12


BUNDLES_WITH_BACKUPS = [b for b in BUNDLES if _bundle_backups(b)[1]]


def _strip_ansi(s):
    return re.sub(r"\x1b\[[0-9;]*m", "", s)


@pytest.mark.parametrize("bundle", BUNDLES_WITH_BACKUPS,
                         ids=[b.parent.parent.parent.name for b in BUNDLES_WITH_BACKUPS])
def test_debug_bundle_backups(mount, tmp_path, bundle):
    mem, crs = _bundle_backups(bundle)
    v = tmp_path / "bundle"
    raws = {}
    for cr in crs:
        name = cr["metadata"]["name"]
        raw = vaultgen.go_marshal_indent(cr)
        raws[name] = raw
        cm = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "from-" + name[:40], "namespace": "bundle-test"},
              "data": {"backup": name}}
        members = [("metadata/version", (cr["status"].get("formatVersion", "1.1.0") + "\n").encode()),
                   ("resources/configmaps/namespaces/bundle-test/%s.json" % cm["metadata"]["name"], vaultgen.go_marshal(cm)),
                   ("resources/configmaps/v1-preferredversion/namespaces/bundle-test/%s.json" % cm["metadata"]["name"], vaultgen.go_marshal(cm))]
        logkey = [k for k in mem if k.endswith("/backup_%s.log" % name)]
        logs = mem[logkey[0]] if logkey else b""
        _write_backup_dir(v, name, raw, members, logs=logs)
    m = mount(v)
    names = sorted(raws)
    assert sorted(x for x in os.listdir(m / "backups") if x != "latest") == names
    phases = {}
    for cr in crs:
        name = cr["metadata"]["name"]
        bd = m / "backups" / name
        _yaml_is(bd / "backup.yaml", cr)
        desc = (bd / "describe.txt").read_text()
        phases[name] = cr["status"]["phase"]
        assert _phase_line(desc) == cr["status"]["phase"], name
        done = util.parse_time(cr["status"]["completionTimestamp"])
        assert (bd / "backup.yaml").stat().st_mtime == done
        assert (bd / "namespaces/bundle-test/configmaps").is_dir()
    # latest: the newest Completed one, not the newer PartiallyFailed one
    completed = [c for c in crs if c["status"]["phase"] == "Completed"]
    newest = max(completed, key=lambda c: util.parse_time(c["status"]["completionTimestamp"]))
    overall = max(crs, key=lambda c: util.parse_time(c["status"]["completionTimestamp"]))
    assert overall["status"]["phase"] == "PartiallyFailed"
    assert os.readlink(m / "backups" / "latest") == newest["metadata"]["name"]
    # the bundle's own describe output and log for the PartiallyFailed backup
    dkeys = [k for k in mem if "/backup_describe_" in k]
    assert dkeys
    for dk in dkeys:
        name = re.search(r"backup_describe_(.+)\.txt$", dk).group(1)
        real = _strip_ansi(mem[dk].decode())
        ours = (m / "backups" / name / "describe.txt").read_text()
        for field in ("Name:", "Namespace:", "Phase:", "Started:", "Completed:", "Expiration:",
                      "Total items to be backed up:", "Items backed up:", "Storage Location:",
                      "TTL:", "Backup Format Version:", "Label selector:"):
            rl = next(l for l in real.splitlines() if l.startswith(field))
            ol = next((l for l in ours.splitlines() if l.startswith(field)), None)
            assert ol is not None, (field, ours)
            want = rl.split(None, len(field.split()))[-1].split(" (")[0].strip()
            assert want in ol, (field, rl, ol)
        logkey = [k for k in mem if k.endswith("/backup_%s.log" % name)][0]
        assert (m / "backups" / name / "logs").read_bytes() == mem[logkey]
        assert len(mem[logkey]) > 100000
    jm = mount(v, json=True)
    for name, raw in raws.items():
        assert (jm / "backups" / name / "backup.json").read_bytes() == raw
