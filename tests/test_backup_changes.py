"""Backups that change under a mount (issue 16, item 4).

Velero uploads a backup's log, then velero-backup.json (already Completed),
then the tarball and the rest; it rewrites velero-backup.json when the phase
moves on; a backup can be deleted and created again under the same name.
With -o refresh=1 the mount follows each step: never pinned in the state a
refresh happened to see first."""

import os
import shutil

import util
import vaultgen


def _wait_for(pred):
    return util.wait_for(pred, 60.0, ignore=(OSError,))


def _cm(value, name="app"):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "shop", "uid": "u-" + name,
                         "creationTimestamp": "2026-11-01T00:00:00Z"},
            "data": {"value": value}}


def _read(p):
    with open(p, "rb") as f:
        return f.read()


def test_backup_written_in_stages(mount, tmp_path):
    vault, staging = tmp_path / "vault", tmp_path / "staging"
    vaultgen.write_backup(vault, "first", [_cm("one")], started="2026-11-01T02:00:00Z")
    src = vaultgen.write_backup(staging, "second", [_cm("two")], started="2026-11-02T02:00:00Z")["dir"]
    m = mount(vault, args=["-o", "refresh=1"])
    backups = m / "backups"
    dst = vault / "backups" / "second"
    dst.mkdir()

    def stage(fname):  # copied now, as an upload would be: a fresh mtime
        shutil.copyfile(os.path.join(src, fname), dst / fname)

    stage("second-logs.gz")
    assert _wait_for(lambda: "second" in os.listdir(backups))
    assert "velero-backup.json is missing" in (backups / "second" / "errors.txt").read_text()
    assert os.readlink(backups / "latest") == "first"

    stage("velero-backup.json")
    assert _wait_for(lambda: os.readlink(backups / "latest") == "second")
    assert "tarball is missing" in (backups / "latest" / "errors.txt").read_text()

    for f in sorted(os.listdir(src)):
        if not (dst / f).exists():
            stage(f)
    app = backups / "latest" / "namespaces" / "shop" / "configmaps" / "app.yaml"
    assert _wait_for(lambda: b"two" in _read(app)), os.listdir(backups / "second")
    assert not (backups / "second" / "errors.txt").exists()
    assert m.alive()


def test_phase_change_moves_latest(mount, tmp_path):
    vault = tmp_path / "vault"
    vaultgen.write_backup(vault, "older", [_cm("one")], started="2026-11-01T02:00:00Z")
    vaultgen.write_backup(vault, "newer", [_cm("two")], started="2026-11-02T02:00:00Z",
                          phase="WaitingForPluginOperations")
    m = mount(vault, args=["-o", "refresh=1"])
    assert os.readlink(m / "backups" / "latest") == "older"
    assert "WaitingForPluginOperations" in (m / "backups" / "newer" / "backup.yaml").read_text()
    vaultgen.write_backup(vault, "newer", [_cm("two")], started="2026-11-02T02:00:00Z")
    assert _wait_for(lambda: os.readlink(m / "backups" / "latest") == "newer")
    assert "phase: Completed" in (m / "backups" / "newer" / "backup.yaml").read_text()


def test_deleted_and_created_again(mount, tmp_path):
    vault = tmp_path / "vault"
    vaultgen.write_backup(vault, "keep", [_cm("keep")], started="2026-11-01T02:00:00Z")
    vaultgen.write_backup(vault, "again", [_cm("one")], started="2026-11-02T02:00:00Z")
    m = mount(vault, args=["-o", "refresh=1"])
    app = m / "backups" / "again" / "namespaces" / "shop" / "configmaps" / "app.yaml"
    assert b"one" in _read(app)
    ino = os.stat(app).st_ino

    # deleted, seen gone, created again with other content
    shutil.rmtree(vault / "backups" / "again")
    assert _wait_for(lambda: "again" not in os.listdir(m / "backups"))
    vaultgen.write_backup(vault, "again", [_cm("two, longer")], started="2026-11-03T02:00:00Z")
    assert _wait_for(lambda: b"two, longer" in _read(app))
    assert os.stat(app).st_ino != ino  # new inodes: nothing of the old one
    ino = os.stat(app).st_ino

    # replaced between two refreshes
    tmp = tmp_path / "next"
    vaultgen.write_backup(tmp, "again", [_cm("three, longer still")], started="2026-11-04T02:00:00Z")
    shutil.rmtree(vault / "backups" / "again")
    shutil.move(str(tmp / "backups" / "again"), str(vault / "backups" / "again"))
    assert _wait_for(lambda: b"three, longer still" in _read(app))
    assert os.stat(app).st_ino != ino
    assert "2026-11-04T02:00" in (m / "backups" / "again" / "backup.yaml").read_text()
    assert m.alive()
