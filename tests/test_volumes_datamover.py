"""Volume data of the CSI snapshot data mover (issue 15): DataUploads written by Velero's own code.

tests/servers/go/pvbwriter -data-upload backs a directory up into kopia/<PVC namespace>/ of a MinIO
bucket the way Velero v1.17.2's data mover does (requestor snapshot-data-upload-download, real source
<ns>/<pvc>, the async-operation-id tag) and writes the completed DataUpload. This file puts that
DataUpload where Velero's backup finalizer puts it - the backup tarball, under
resources/datauploads.velero.io/ (and its v2alpha1-preferredversion copy), with the item operation
and the volume info that name it - into the real ns-shop backup of the fixtures, then mounts the
vault (a local directory and MinIO): every file under volumes/shop/_persistentvolumeclaims/data-db-0/
equals the source byte for byte with the same metadata, describe.txt says it is browsable, a data
upload whose repository is missing or damaged gets a clear verdict and only its files fail, and what
was read stays readable with the vault down.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pathlib
import shutil
import subprocess
import tarfile

import pytest

from servers import harness
from test_remote import upload_s3, use_env  # noqa: F401 (a fixture)
from test_volumes import FIXTURE, assert_same_tree, describe_entry, expected, make_source, s3_env, s3_url

NS, PVC, PVC_UID = "shop", "data-db-0", "1f29aab4-148a-46ce-9053-5a975e492663"
BACKUP, BACKUP_UID = "ns-shop", "f29e3c5c-5ae2-46e2-bb6e-19844a10dc32"
DU_NAME, DU_UID = "ns-shop-x7k2q", "9c1f6f1e-0000-4000-8000-0000000000d0"
# a second PVC, in a namespace of its own (so a repository of its own), for the broken cases
NS2, PVC2, PVC2_UID = "logs", "app-logs", "5b0d1c7e-0000-4000-8000-0000000000a2"
DU2_NAME, DU2_UID = "ns-shop-m4v9t", "9c1f6f1e-0000-4000-8000-0000000000d2"
BUCKET = "velero-dm"
PVC_DIR = "_persistentvolumeclaims"


def valid_name(label: str) -> str:
    """Velero's pkg/label GetValidName: a label value of at most 63 characters."""
    if len(label) <= 63:
        return label
    return label[:57] + hashlib.sha256(label.encode()).hexdigest()[:6]


def run_pvbwriter(minio, base, ns, pvc, pvc_uid, name, uid, src) -> dict:
    out = base / f"{name}.json"
    r = subprocess.run([str(harness.binary("pvbwriter")), "-data-upload", "-endpoint", minio.url,
                        "-bucket", BUCKET, "-region", minio.region, "-access-key", minio.access_key,
                        "-secret-key", minio.secret_key, "-backup", BACKUP, "-backup-uid", BACKUP_UID,
                        "-namespace", ns, "-pvc", pvc, "-pvc-uid", pvc_uid, "-du-name", name,
                        "-du-uid", uid, "-storage-class", "standard", "-source", str(src),
                        "-du-out", str(out), "-workdir", str(base / f"kopia-work-{name}")],
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr
    du = json.loads(out.read_text())
    assert du["status"]["snapshotID"] == r.stdout.strip()
    return du


def add_to_backup(bdir: pathlib.Path, dus: list[dict], in_tarball: list[dict] | None = None) -> None:
    """What Velero's backup finalizer leaves for a data-mover backup: each DataUpload in the tarball
    (pkg/backup/backup.go FinalizeBackup: the operations' PostOperationItems, written as the item
    backupper writes items, with the preferred-version copy), the PVC action's operation
    (<b>-itemoperations.json.gz, pkg/itemoperation) and the volume info updateVolumeInfos completes
    (<b>-volumeinfo.json.gz, internal/volume: snapshotDataMoved, snapshotHandle = the snapshot id),
    and the resource list. in_tarball: the DataUploads put in the tarball (default: all)."""
    tgz = bdir / f"{BACKUP}.tar.gz"
    buf = io.BytesIO()
    with tarfile.open(tgz, "r:gz") as src, tarfile.open(fileobj=buf, mode="w:gz") as dst:
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        for du in dus if in_tarball is None else in_tarball:
            data = json.dumps(du).encode()
            for d in ("", "v2alpha1-preferredversion/"):
                ti = tarfile.TarInfo(f"resources/datauploads.velero.io/{d}namespaces/velero/"
                                     f"{du['metadata']['name']}.json")
                ti.size, ti.mode, ti.mtime = len(data), 0o755, 1_700_000_000
                dst.addfile(ti, io.BytesIO(data))
    tgz.write_bytes(buf.getvalue())

    def put(suffix, value):
        (bdir / f"{BACKUP}-{suffix}").write_bytes(gzip.compress(json.dumps(value).encode()))

    ops, infos = [], []
    for du in dus:
        spec, st = du["spec"], du["status"]
        op = du["metadata"]["labels"]["velero.io/async-operation-id"]
        ops.append({"spec": {"backupName": BACKUP, "backupUID": BACKUP_UID,
                             "backupItemAction": "velero.io/csi-pvc-backupper",
                             "resourceIdentifier": {"Group": "", "Resource": "persistentvolumeclaims",
                                                    "Namespace": spec["sourceNamespace"],
                                                    "Name": spec["sourcePVC"]},
                             "operationID": op,
                             "postOperationItems": [{"Group": "velero.io", "Resource": "datauploads",
                                                     "Namespace": "velero",
                                                     "Name": du["metadata"]["name"]}]},
                    "status": {"phase": "Completed", "nCompleted": st["progress"]["totalBytes"],
                               "nTotal": st["progress"]["totalBytes"], "operationUnits": "Bytes",
                               "description": "Completed", "created": st["startTimestamp"],
                               "started": st["startTimestamp"], "updated": st["completionTimestamp"]}})
        infos.append({"pvcName": spec["sourcePVC"], "pvcNamespace": spec["sourceNamespace"],
                      "pvName": "pv-" + spec["sourceNamespace"] + "-" + spec["sourcePVC"],
                      "backupMethod": "CSISnapshot", "snapshotDataMoved": True,
                      "preserveLocalSnapshot": False, "skipped": False,
                      "startTimestamp": st["startTimestamp"], "completionTimestamp": st["completionTimestamp"],
                      "result": "succeeded",
                      "csiSnapshotInfo": {"snapshotHandle": "", "size": 0, "driver": spec["csiSnapshot"]["driver"],
                                          "vscName": "", "operationID": ""},
                      "snapshotDataMovementInfo": {"dataMover": "velero", "uploaderType": "kopia",
                                                   "retainedSnapshot": spec["csiSnapshot"]["volumeSnapshot"],
                                                   "snapshotHandle": st["snapshotID"], "operationID": op,
                                                   "size": st["progress"]["totalBytes"],
                                                   "Phase": "Completed"},
                      "pvInfo": {"reclaimPolicy": "Delete", "labels": {}}})
    put("itemoperations.json.gz", ops)
    put("volumeinfo.json.gz", infos)
    rl = json.loads(gzip.decompress((bdir / f"{BACKUP}-resource-list.json.gz").read_bytes()))
    rl["velero.io/v2alpha1/DataUpload"] = sorted("velero/" + du["metadata"]["name"]
                                                 for du in (dus if in_tarball is None else in_tarball))
    put("resource-list.json.gz", rl)


@pytest.fixture(scope="module")
def dm(minio, tmp_path_factory):
    """Two data uploads of the ns-shop backup: shop/data-db-0 (the full source) and logs/app-logs (a
    small one, in kopia/logs/, for the broken-repository cases); a local vault with both and their
    repositories."""
    base = tmp_path_factory.mktemp("dm")
    minio.make_bucket(BUCKET)
    src = base / "src"
    make_source(src)
    src2 = base / "src2"
    src2.mkdir()
    (src2 / "app.log").write_text("line\n" * 1000)
    du = run_pvbwriter(minio, base, NS, PVC, PVC_UID, DU_NAME, DU_UID, src)
    du2 = run_pvbwriter(minio, base, NS2, PVC2, PVC2_UID, DU2_NAME, DU2_UID, src2)
    local = base / "vault"
    shutil.copytree(FIXTURE, local / "backups" / BACKUP)
    add_to_backup(local / "backups" / BACKUP, [du, du2])
    for ns in (NS, NS2):
        for key in minio.list_keys(BUCKET, f"kopia/{ns}/"):
            dst = local / key
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(minio.get(BUCKET, key))
    # the same vault in MinIO: the repositories are there already
    upload_s3(minio, BUCKET, "backups", local / "backups")
    return {"src": src, "src2": src2, "du": du, "du2": du2, "local": local, "minio": minio}


def test_dataupload_written_like_velero(dm):
    du = dm["du"]
    assert du["kind"] == "DataUpload" and du["apiVersion"] == "velero.io/v2alpha1"
    assert du["metadata"]["namespace"] == "velero"
    op = valid_name(f"du-{BACKUP_UID}.{PVC_UID}")  # pvc_action.go's operation id
    assert du["metadata"]["labels"]["velero.io/async-operation-id"] == op
    assert du["metadata"]["labels"]["velero.io/pvc-uid"] == PVC_UID
    assert du["spec"]["snapshotType"] == "CSI" and du["spec"]["sourcePVC"] == PVC
    assert du["spec"]["sourceNamespace"] == NS and du["spec"]["backupStorageLocation"] == "default"
    assert du["status"]["phase"] == "Completed" and du["status"]["path"] == "/" + DU_UID
    assert du["status"]["progress"]["totalBytes"] > 24 << 20
    keys = dm["minio"].list_keys(BUCKET, f"kopia/{NS}/")
    assert f"kopia/{NS}/kopia.repository" in keys


def volume_dir(m, ns=NS, pvc=PVC) -> pathlib.Path:
    return pathlib.Path(os.fspath(m)) / "backups" / BACKUP / "volumes" / ns / PVC_DIR / pvc


@pytest.mark.parametrize("where,view", [("local", "yaml"), ("s3", "yaml"), ("local", "json")])
def test_every_file_equals_the_source(dm, mount, use_env, where, view):
    if where == "s3":
        use_env(s3_env(dm["minio"]))
        m = mount(s3_url(dm["minio"]).replace("s3://velero?", f"s3://{BUCKET}?"), json=view == "json")
    else:
        m = mount(str(dm["local"]), json=view == "json")
    vols = pathlib.Path(os.fspath(m)) / "backups" / BACKUP / "volumes"
    assert sorted(os.listdir(vols)) == sorted([NS, NS2])
    assert os.listdir(vols / NS) == [PVC_DIR]
    assert os.listdir(vols / NS / PVC_DIR) == [PVC]
    got = expected(volume_dir(m))
    assert_same_tree(got, expected(dm["src"]))
    assert len(got) > 3000
    # cp is the restore
    out = pathlib.Path(os.fspath(m)).parent / "restored.bin"
    shutil.copyfile(volume_dir(m) / "big.bin", out)
    assert out.read_bytes() == (dm["src"] / "big.bin").read_bytes()
    # the DataUploads as Velero stored them, one list
    meta = pathlib.Path(os.fspath(m)) / "backups" / BACKUP / "meta"
    assert ("datauploads." + view) in os.listdir(meta)


def describe_of(m) -> str:
    return (pathlib.Path(os.fspath(m)) / "backups" / BACKUP / "describe.txt").read_text()


def du_entry(text: str, ns: str, pvc: str) -> list[str]:
    return describe_entry(text, f"    {ns}/{pvc}:", "  Data Uploads:")


def test_describe_lists_data_uploads(dm, mount):
    m = mount(str(dm["local"]))
    text = describe_of(m)
    du = dm["du"]
    assert du_entry(text, NS, PVC) == [
        f"DataUpload: velero/{DU_NAME}", "Data Mover: velero", f"Snapshot ID: {du['status']['snapshotID']}",
        f"Size (bytes): {du['status']['progress']['totalBytes']}", "Phase: Completed",
        f"Browsable: yes, under volumes/{NS}/{PVC_DIR}/{PVC}/"]
    assert du_entry(text, NS2, PVC2)[-1] == f"Browsable: yes, under volumes/{NS2}/{PVC_DIR}/{PVC2}/"
    # Velero's own block is kept; the moved snapshots are not listed as not browsable
    op = valid_name(f"du-{BACKUP_UID}.{PVC_UID}")
    assert "Data Movement:" in text and f"Operation ID: {op}" in " ".join(text.split())
    assert "moved by the data mover" not in text


def broken_vault(dm, tmp_path, how: str) -> pathlib.Path:
    v = tmp_path / "v"
    shutil.copytree(dm["local"], v)
    if how == "missing":
        shutil.rmtree(v / "kopia" / NS2)
    else:
        (v / "kopia" / NS2 / "kopia.repository").write_text("{ this is not a format blob")
    return v


def test_repository_missing(dm, tmp_path, mount):
    """A data upload whose repository is not in the vault: describe.txt says so, its namespace is
    not under volumes/, the other one reads."""
    m = mount(str(broken_vault(dm, tmp_path, "missing")))
    text = describe_of(m)
    assert du_entry(text, NS2, PVC2)[-1] == (
        f"Browsable: no: its repository kopia/{NS2}/ is not in the vault (no kopia/{NS2}/kopia.repository)")
    assert du_entry(text, NS, PVC)[-1].startswith("Browsable: yes")
    vols = pathlib.Path(os.fspath(m)) / "backups" / BACKUP / "volumes"
    assert os.listdir(vols) == [NS]
    assert (volume_dir(m) / "many" / "d03" / "f007.txt").read_bytes() == \
        (dm["src"] / "many" / "d03" / "f007.txt").read_bytes()


def test_repository_corrupt(dm, tmp_path, mount):
    """A data upload whose repository's format blob is damaged: a clear verdict, EIO for its files
    only."""
    m = mount(str(broken_vault(dm, tmp_path, "corrupt")), allow_errors=True)
    text = describe_of(m)
    last = du_entry(text, NS2, PVC2)[-1]
    assert last.startswith(f"Browsable: no: velerofs cannot open kopia/{NS2}/: "
                           f"kopia/{NS2}/kopia.repository: not JSON"), last
    assert du_entry(text, NS, PVC)[-1].startswith("Browsable: yes")
    with pytest.raises(OSError) as ei:
        os.listdir(volume_dir(m, NS2, PVC2))
    assert ei.value.errno == 5
    assert expected(volume_dir(m))["big.bin"]["sha256"] == expected(dm["src"])["big.bin"]["sha256"]


def test_moved_snapshot_without_its_data_upload(dm, tmp_path, mount):
    """The volume info says a PVC was moved by the data mover but the tarball holds no DataUpload of
    it (a hand-trimmed copy): describe.txt says so under Snapshots; the other one is browsable."""
    v = tmp_path / "v"
    shutil.copytree(dm["local"], v)
    shutil.rmtree(v / "backups" / BACKUP)
    shutil.copytree(FIXTURE, v / "backups" / BACKUP)
    add_to_backup(v / "backups" / BACKUP, [dm["du"], dm["du2"]], in_tarball=[dm["du"]])
    m = mount(str(v))
    text = describe_of(m)
    op2 = valid_name(f"du-{BACKUP_UID}.{PVC2_UID}")
    assert describe_entry(text, f"    {NS2}/{PVC2} (PV pv-{NS2}-{PVC2}):", "  Snapshots:") == [
        f"Browsable: no: moved by the data mover (operation {op2}), but the backup holds no "
        "DataUpload of it"]
    assert du_entry(text, NS, PVC)[-1].startswith("Browsable: yes")
    assert os.listdir(pathlib.Path(os.fspath(m)) / "backups" / BACKUP / "volumes") == [NS]


def test_data_upload_offline(dm, mount, tmp_path, use_env):
    """What was read through the mount stays readable with the vault down: the DataUploads are in
    the cached index, the repository's format blob, index list and blobs in the cache."""
    mi = harness.Minio(workdir=tmp_path / "minio").start()
    cache = tmp_path / "cache"
    try:
        upload_s3(mi, "velero", "", dm["local"])
        use_env(s3_env(mi))
        url = s3_url(mi)
        first = mount(url, cache=cache)
        vdir = volume_dir(first)
        big = (vdir / "big.bin").read_bytes()
        small = (vdir / "many" / "d03" / "f007.txt").read_bytes()
        listing = sorted(os.listdir(vdir / "many" / "d03"))
        top = sorted(os.listdir(vdir))
        describe = describe_of(first)
        assert "Browsable: yes" in " ".join(describe.split())
        first.stop()
        mi.stop()

        second = mount(url, cache=cache, allow_errors=True, mnt=tmp_path / "mnt2")
        vdir = volume_dir(second)
        assert sorted(os.listdir(vdir)) == top
        assert sorted(os.listdir(vdir / "many" / "d03")) == listing
        assert (vdir / "many" / "d03" / "f007.txt").read_bytes() == small
        assert (vdir / "big.bin").read_bytes() == big == (dm["src"] / "big.bin").read_bytes()
        assert describe_of(second) == describe
    finally:
        mi.stop()


def kopia_cli(minio, bucket: str, ns: str, tmp_path: pathlib.Path):
    """Kopia's CLI (Velero's kopia fork, `tests/servers/build.sh kopia`; the test is skipped without
    it) connected to kopia/<ns>/ of the bucket with Velero's default password: a function that runs
    it with arguments and returns its stdout."""
    kopia = next((d / "bin" / "kopia" for d in sorted(harness.CACHE.glob("kopia-*"))
                  if (d / "bin" / "kopia").is_file()), None)
    if not kopia:
        pytest.skip("no kopia CLI: tests/servers/build.sh kopia")
    env = dict(os.environ, KOPIA_PASSWORD="static-passw0rd", KOPIA_CHECK_FOR_UPDATES="false")
    cfg = ["--config-file", str(tmp_path / "kopia.config")]

    def run(*args: str) -> str:
        return subprocess.run([str(kopia), *args, *cfg], env=env, check=True,
                              capture_output=True, text=True).stdout

    run("repository", "connect", "s3", "--cache-directory", str(tmp_path / "kc"), "--bucket", bucket,
        "--prefix", f"kopia/{ns}/", "--endpoint", minio.url.split("://", 1)[1], "--disable-tls",
        "--region", minio.region, "--access-key", minio.access_key, "--secret-access-key", minio.secret_key,
        "--no-persist-credentials")
    return run


def test_snapshot_made_like_the_data_mover(dm, tmp_path):
    """The snapshot in kopia/shop/, as kopia itself lists it: the source and tags Velero's data mover
    gives its uploads."""
    out = kopia_cli(dm["minio"], BUCKET, NS, tmp_path)("snapshot", "list", "--all", "--json")
    snaps = [s for s in json.loads(out) if s["id"] == dm["du"]["status"]["snapshotID"]]
    assert len(snaps) == 1, out
    s = snaps[0]
    # pkg/uploader/provider/kopia.go RunBackup: <requestor>/kopia/<real source>; GetRealSource: <ns>/<pvc>
    assert s["source"]["path"] == f"snapshot-data-upload-download/kopia/{NS}/{PVC}"
    assert s["tags"] == {"snapshot-requester": "snapshot-data-upload-download",
                         "snapshot-uploader": "kopia",
                         "velero.io/async-operation-id": valid_name(f"du-{BACKUP_UID}.{PVC_UID}")}
