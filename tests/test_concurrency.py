"""Everything at once on one mount: 16 readers of a backup while its index
is first built, a refresh that changes the list of backups, and a restore
job. scripts/test-all runs this file (and the other concurrent tests)
under ThreadSanitizer too (build-tsan, VELEROFS_BUILD=build-tsan), where
the mount fixture fails the test on any data race the daemon reports."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid

import yaml

import util
import vaultgen

READERS = 16
CONFIGMAPS = 1500  # enough that the first build takes a while, even unsanitized
YAML_LOAD = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _objects():
    objs = vaultgen.believable_cluster(seed=7)
    objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "load"}})
    for i in range(CONFIGMAPS):
        objs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "cm-%04d" % i, "namespace": "load",
                                  "labels": {"app": "load", "i": str(i)}},
                     "data": {"k": "v%d\n" % i * (1 + i % 7), "n": str(i)}})
    return objs


def _expected(vault, name):
    tb = vault / "backups" / name / (name + ".tar.gz")
    out = {}
    for member, data in util.tar_members(tb).items():
        p = util.member_tree_path(member, ".yaml")
        if p is not None:
            out[p] = data
    return out


def _read_tree(root):
    out = {}
    for d, _dirs, files in os.walk(root):
        for n in files:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = f.read()
    return out


def test_readers_refresh_and_restore_at_once(mount, kube, tmp_path):
    vault = tmp_path / "vault"
    vaultgen.write_backup(vault, "big", _objects(), schedule="daily",
                          started="2026-11-18T02:00:00Z")
    ns = "conc-" + uuid.uuid4().hex[:8]
    m = mount(vault, args=["-o", "refresh=1", "--kubeconfig", str(kube.kubeconfig),
                           "--restore-state", str(tmp_path / "state")])
    start = threading.Barrier(READERS + 2)
    trees: list = [None] * READERS
    errors: list = []
    report: list = []

    def reader(i):
        try:
            start.wait(60)
            trees[i] = _read_tree(m / "backups" / "big")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("reader %d: %r" % (i, e))

    def refresh():
        # a new backup lands in the vault while the first one is indexed
        try:
            start.wait(60)
            vaultgen.write_backup(vault, "small", vaultgen.believable_cluster(seed=8),
                                  schedule="daily", started="2026-11-19T02:00:00Z")
            if not util.wait_for(lambda: "small" in os.listdir(m / "backups"), 60):
                errors.append("refresh: the new backup never appeared")
            elif not os.listdir(m / "backups" / "small" / "namespaces"):
                errors.append("refresh: the new backup is empty")
        except Exception as e:  # noqa: BLE001
            errors.append("refresh: %r" % e)

    def restore():
        # a restore job from the backup being indexed, into a new namespace
        try:
            start.wait(60)
            src = m / "backups/big/namespaces/load/configmaps/cm-0007.yaml"
            dst = m / "restore/namespaces" / ns
            data = src.read_bytes()
            os.mkdir(dst)
            with open(dst / "cm-0007.yaml", "wb") as f:
                f.write(data)
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                text = (m / "restore/jobs" / os.readlink(m / "restore/jobs/latest")).read_text()
                if "state done" in text or "state failed" in text or "state rejected" in text:
                    report.append(text)
                    return
                time.sleep(0.2)
            errors.append("restore: the job did not finish")
        except Exception as e:  # noqa: BLE001
            errors.append("restore: %r" % e)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    threads += [threading.Thread(target=refresh), threading.Thread(target=restore)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors

    # every reader saw the same tree, and it holds every item exactly
    for i in range(1, READERS):
        assert trees[i] == trees[0], "reader %d saw another tree" % i
    want = _expected(vault, "big")
    got = {rel: data for rel, data in trees[0].items() if rel in want}
    assert sorted(got) == sorted(want)
    for rel in sorted(want)[::25]:
        assert util.same(yaml.load(got[rel], Loader=YAML_LOAD), json.loads(want[rel])) is None, rel

    assert "state done" in report[0], report[0]
    status, body = kube.request("GET", "/api/v1/namespaces/%s/configmaps/cm-0007" % ns)
    assert status == 200, body
    assert body["data"]["n"] == "7"
