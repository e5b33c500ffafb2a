#!/usr/bin/env python3
"""Regenerates tests/data/restic/ (issue 15): a restic repository written by real restic, as
Velero's restic uploader writes it, for tests/test_volumes_restic.py.

    tests/data/restic/make-fixture.py [RESTIC_BINARY]

The committed fixture: Debian's restic 0.14.0 (`apt-get install restic`, on PATH). The binary: the
argument, else tests/servers/build.sh restic's (the version Velero v1.12.3 ships,
versions.env RESTIC_VERSION), else `restic` on PATH (the version is recorded in fixture.json).
Like Velero's node-agent (pkg/uploader/provider/restic.go, pkg/restic/command_factory.go at
v1.12.3): `restic init` with the repository password (Velero's default "static-passw0rd"), then
`restic backup --host=velero --tag=... .` run in the volume's directory, so the snapshot's root is
the volume. The repository goes to repo/ (copied into restic/<ns>/ of a test vault), with
expected.json (every entry of the source: mode, size, mtime, sha256, target, and nlink and inode
of the hard-linked files) and
podvolumebackups.json (the PodVolumeBackup Velero records; snapshotID is restic's short id).
The source is deterministic; the repository is not (random keys, ids): regenerate, then commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
NS, POD, VOLUME = "legacy", "app-0", "data"
BACKUP, POD_UID = "legacy-restic", "5a0c8f7e-0000-4000-8000-0000000000a0"
PASSWORD = "static-passw0rd"
T0 = 1_700_000_000_123_456_789


def make_source(root: pathlib.Path) -> None:
    root.mkdir()
    seed = hashlib.sha256(b"velerofs restic").digest()
    with open(root / "big.bin", "wb") as f:  # ~2.5 MiB, not compressible: several chunks
        for i in range(2560):
            f.write(b"".join(hashlib.sha256(seed + i.to_bytes(4, "big") + bytes([k])).digest()
                             for k in range(32)))
    (root / "text.txt").write_bytes(b"compressible line of text\n" * 20000)
    (root / "empty.txt").write_bytes(b"")
    (root / "emptydir").mkdir()
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "sub" / "deeper" / "leaf.txt").write_text("leaf\n")
    for i in range(20):
        (root / "sub" / f"small{i:02}.txt").write_bytes(f"small file {i}\n".encode() * (i + 1))
    os.symlink("../big.bin", root / "sub" / "rel")
    os.symlink("/etc/hostname", root / "abs")
    os.symlink("no/such/target", root / "dangling")
    (root / "odd name ✓").write_bytes(b"odd\n")
    (root / "script.sh").write_text("#!/bin/sh\necho hi\n")
    os.chmod(root / "script.sh", 0o755)
    (root / "hard").mkdir()  # hard links: two names in one directory, a third in another
    (root / "hard" / "one").write_bytes(b"hard linked\n" * 100)
    os.link(root / "hard" / "one", root / "hard" / "two")
    os.link(root / "hard" / "one", root / "sub" / "third")
    (root / "private").write_text("secret\n")
    os.chmod(root / "private", 0o600)
    os.chmod(root / "emptydir", 0o700)
    for n, p in enumerate(sorted(root.rglob("*"), reverse=True)):
        t = T0 - n * 1_000_003_001
        os.utime(p, ns=(t, t), follow_symlinks=False)
    os.utime(root, ns=(T0 + 7, T0 + 7))


def expected(root: pathlib.Path) -> dict[str, dict]:
    out = {}
    for p in [root] + sorted(root.rglob("*")):
        st = os.lstat(p)
        rel = "" if p == root else str(p.relative_to(root))
        e = {"mode": st.st_mode, "mtime_ns": st.st_mtime_ns, "uid": st.st_uid, "gid": st.st_gid}
        if stat.S_ISREG(st.st_mode):
            e["size"] = st.st_size
            if st.st_nlink > 1:  # what restic records (node links, inode)
                e["nlink"], e["ino"] = st.st_nlink, st.st_ino
            e["sha256"] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            e["target"] = os.readlink(p)
            e["size"] = len(os.fsencode(e["target"]))
        out[rel] = e
    return out


def restic_binary() -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    env = dict(line.split("=", 1) for line in (HERE.parent.parent / "servers" / "versions.env")
               .read_text().splitlines() if line and not line.startswith("#"))
    cache = pathlib.Path(os.environ.get("VELEROFS_TEST_CACHE", pathlib.Path.home() / ".cache/velerofs-test"))
    b = cache / f"restic-{env['RESTIC_VERSION']}" / "bin" / "restic"
    return str(b) if b.exists() else (shutil.which("restic") or sys.exit("no restic binary"))


def main() -> None:
    restic = restic_binary()
    with tempfile.TemporaryDirectory() as t:
        t = pathlib.Path(t)
        src, repo = t / "volume", t / "repo"
        make_source(src)
        pw = t / "pw"
        pw.write_text(PASSWORD)
        env = dict(os.environ, RESTIC_REPOSITORY=str(repo), RESTIC_PASSWORD_FILE=str(pw),
                   RESTIC_CACHE_DIR=str(t / "cache"))
        run = lambda *a, **kw: subprocess.run([restic, *a], env=env, check=True, capture_output=True,
                                               text=True, **kw)
        version = run("version").stdout.strip()
        run("init")
        run("backup", "--host=velero", f"--tag=backup={BACKUP}", f"--tag=ns={NS}", f"--tag=pod={POD}",
            f"--tag=pod-uid={POD_UID}", f"--tag=volume={VOLUME}", ".", cwd=src)
        snaps = json.loads(run("snapshots", "--json").stdout)
        assert len(snaps) == 1
        out = HERE / "repo"
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(repo, out, ignore=shutil.ignore_patterns("locks"))
        (HERE / "expected.json").write_text(json.dumps(expected(src), indent=1, sort_keys=True) + "\n")
        pvb = {
            "apiVersion": "velero.io/v1", "kind": "PodVolumeBackup",
            "metadata": {"name": f"{BACKUP}-abcde", "namespace": "velero",
                         "labels": {"velero.io/backup-name": BACKUP, "velero.io/pvc-name": "data-app-0"}},
            "spec": {"node": "node-1", "pod": {"kind": "Pod", "namespace": NS, "name": POD, "uid": POD_UID},
                     "volume": VOLUME, "backupStorageLocation": "default",
                     "repoIdentifier": f"s3:http://minio:9000/velero/restic/{NS}",
                     "uploaderType": "restic", "tags": {"backup": BACKUP, "ns": NS, "pod": POD,
                                                         "pod-uid": POD_UID, "volume": VOLUME}},
            "status": {"phase": "Completed", "path": f"/host_pods/{POD_UID}/volumes/kubernetes.io~csi/{VOLUME}",
                       "snapshotID": snaps[0]["short_id"],
                       "progress": {"totalBytes": 1, "bytesDone": 1}},
        }
        (HERE / "podvolumebackups.json").write_text(json.dumps([pvb], indent=1) + "\n")
        (HERE / "fixture.json").write_text(json.dumps(
            {"restic": version, "snapshot": snaps[0]["id"], "short_id": snaps[0]["short_id"],
             "namespace": NS, "password": PASSWORD}, indent=1) + "\n")


if __name__ == "__main__":
    main()
