"""A block-mode PVC of the CSI snapshot data mover (issue 15), written by Velero's own code.

Velero v1.17.2 backs a block-mode PVC up with pkg/uploader/kopia/block_backup.go: the snapshot's
root is a directory holding one file, the device's content, named after the device's path
("/<DataUpload uid>" in the data mover's pod). Its getLocalBlockEntry refuses anything that is not
a block device, so the source here is a loop device over an image file (skipped where `losetup`
cannot make one), reached through a device node named after the DataUpload's uid like the data
mover pod's. pvbwriter -data-upload -block backs it up as the data mover does; the mount shows it as
volumes/<ns>/_persistentvolumeclaims/<pvc>/block, a regular file of the device's exact size whose
bytes equal the image, read lazily.
"""

from __future__ import annotations

import json
import os
import pathlib
import random
import shutil
import stat
import subprocess

import pytest

from test_volumes import FIXTURE
from test_volumes_datamover import BACKUP, BACKUP_UID, PVC_DIR, add_to_backup, describe_of, du_entry, kopia_cli
from servers import harness

NS, PVC, PVC_UID = "vms", "disk-vm-0", "3a6e0c1d-0000-4000-8000-0000000000b1"
DU_NAME, DU_UID = "ns-shop-b1ock", "9c1f6f1e-0000-4000-8000-0000000000b0"
BUCKET = "velero-block"
SIZE = (9 << 20) + 3 * 512  # a loop device's size is a multiple of 512


def make_image(p: pathlib.Path) -> bytes:
    """Random blocks, a run of zeros, a repeated pattern: what a disk holds."""
    rnd = random.Random(15)
    data = bytearray(rnd.randbytes(SIZE))
    data[2 << 20:(4 << 20) + 17] = bytes((2 << 20) + 17)
    data[6 << 20:7 << 20] = b"velerofs" * (1 << 17)
    p.write_bytes(data)
    return bytes(data)


@pytest.fixture(scope="module")
def block(minio, tmp_path_factory):
    base = tmp_path_factory.mktemp("block")
    img = base / "disk.img"
    data = make_image(img)
    r = subprocess.run(["losetup", "--find", "--show", "--read-only", str(img)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"no loop device here (losetup: {r.stderr.strip()})")
    loop = r.stdout.strip()
    try:
        # the device as the data mover pod sees it: a node named after the DataUpload's uid
        dev = base / "pod" / DU_UID
        dev.parent.mkdir()
        os.mknod(dev, stat.S_IFBLK | 0o600, os.stat(loop).st_rdev)
        minio.make_bucket(BUCKET)
        out = base / "du.json"
        p = subprocess.run([str(harness.binary("pvbwriter")), "-data-upload", "-block", "-endpoint", minio.url,
                            "-bucket", BUCKET, "-region", minio.region, "-access-key", minio.access_key,
                            "-secret-key", minio.secret_key, "-backup", BACKUP, "-backup-uid", BACKUP_UID,
                            "-namespace", NS, "-pvc", PVC, "-pvc-uid", PVC_UID, "-du-name", DU_NAME,
                            "-du-uid", DU_UID, "-source", str(dev), "-du-out", str(out),
                            "-workdir", str(base / "kopia-work")],
                           capture_output=True, text=True, timeout=600)
        if "flag provided but not defined: -block" in p.stderr:
            pytest.skip("pvbwriter predates -block: tests/servers/build.sh pvbwriter")
        assert p.returncode == 0, p.stderr
    finally:
        subprocess.run(["losetup", "-d", loop], check=True)
    du = json.loads(out.read_text())
    assert du["status"]["snapshotID"] == p.stdout.strip()
    local = base / "vault"
    shutil.copytree(FIXTURE, local / "backups" / BACKUP)
    add_to_backup(local / "backups" / BACKUP, [du])
    for key in minio.list_keys(BUCKET, f"kopia/{NS}/"):
        dst = local / key
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(minio.get(BUCKET, key))
    return {"data": data, "du": du, "local": local, "minio": minio}


def pvc_dir(m) -> pathlib.Path:
    return pathlib.Path(os.fspath(m)) / "backups" / BACKUP / "volumes" / NS / PVC_DIR / PVC


def test_block_pvc_is_one_file(block, mount):
    m = mount(str(block["local"]))
    d = pvc_dir(m)
    assert os.listdir(d) == ["block"]
    st = os.stat(d / "block")
    assert stat.S_ISREG(st.st_mode) and st.st_size == SIZE == block["du"]["status"]["progress"]["totalBytes"]
    # lazily: a piece from the middle first, then the whole of it (cp is the restore)
    with open(d / "block", "rb") as f:
        assert os.pread(f.fileno(), 4096 + 7, (6 << 20) - 5) == block["data"][(6 << 20) - 5:(6 << 20) + 4098]
    out = pathlib.Path(os.fspath(m)).parent / "restored.img"
    shutil.copyfile(d / "block", out)
    assert out.read_bytes() == block["data"]
    assert du_entry(describe_of(m), NS, PVC)[-1] == f"Browsable: yes, under volumes/{NS}/{PVC_DIR}/{PVC}/"


def test_snapshot_made_like_the_block_uploader(block, tmp_path):
    """The snapshot as kopia itself reads it: the data mover's source, and a root holding one file
    named after the device's path with the device's size, which is what velerofs names `block`."""
    kopia = kopia_cli(block["minio"], BUCKET, NS, tmp_path)
    snaps = json.loads(kopia("snapshot", "list", "--all", "--json"))
    assert [s["id"] for s in snaps] == [block["du"]["status"]["snapshotID"]]
    assert snaps[0]["source"]["path"] == f"snapshot-data-upload-download/kopia/{NS}/{PVC}"
    root = snaps[0]["rootEntry"]
    assert root["type"] == "d" and root["name"].endswith("/" + DU_UID)
    ents = json.loads(kopia("show", root["obj"]))["entries"]
    assert len(ents) == 1 and ents[0]["type"] == "f" and ents[0]["name"] == root["name"]
    assert ents[0]["size"] == SIZE
