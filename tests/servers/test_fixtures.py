"""The committed real-Velero fixtures (tests/fixtures/velero-*/) are complete and readable.

No server needed: this checks the bucket copies that tests/fixtures/regen.py wrote.
"""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DIRS = sorted(p for p in FIXTURES.glob("velero-v*") if p.is_dir())


def test_there_are_fixtures():
    assert len(DIRS) >= 1, f"no velero-v* fixture directories under {FIXTURES}"


@pytest.mark.parametrize("root", DIRS, ids=[d.name for d in DIRS])
def test_fixture(root: Path):
    version = (root / "VERSION").read_text()
    assert version.startswith(f"velero {root.name.removeprefix('velero-')}\n")
    expected = {}
    for line in version.split("backups (name: phase):\n", 1)[1].splitlines():
        if not line.startswith("  "):
            break
        name, phase = line.strip().split(": ")
        expected[name] = phase
    assert {"full", "ns-shop", "frontend", "api-versions", "partial"} <= set(expected)
    assert sum(n.startswith("nightly-") for n in expected) == 3
    assert expected["partial"] == "PartiallyFailed"

    for name, phase in expected.items():
        d = root / "backups" / name
        b = json.loads((d / "velero-backup.json").read_text())
        assert b["kind"] == "Backup" and b["metadata"]["name"] == name
        assert b["status"]["phase"] == phase
        with tarfile.open(d / f"{name}.tar.gz") as t:
            names = t.getnames()
        assert "metadata/version" in names
        gzip.decompress((d / f"{name}-logs.gz").read_bytes())
        json.loads(gzip.decompress((d / f"{name}-resource-list.json.gz").read_bytes()))

    with tarfile.open(root / "backups/api-versions/api-versions.tar.gz") as t:
        names = t.getnames()
    assert any("widgets.shop.example.com/v1beta1/" in n for n in names)
    assert any("widgets.shop.example.com/v1-preferredversion/" in n for n in names)
    with tarfile.open(root / "backups/full/full.tar.gz") as t:
        names = t.getnames()
    assert any(n.endswith("clusterroles.rbac.authorization.k8s.io/cluster/system:shop:reader.json") for n in names)
    assert any(n.endswith("configmaps/namespaces/shop/app.config.json") for n in names)
    assert sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) < 3 * 1024 * 1024
