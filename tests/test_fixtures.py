"""Backups written by real Velero (tests/fixtures/velero-<version>/, made by
tests/fixtures/regen.py against a real kube-apiserver and MinIO): every
item of every backup, through the mount, is exactly the member's value in
YAML (two parsers) and byte for byte in the JSON view."""

import json
import os
import pathlib
import re
import tarfile

import pytest
import yaml

import util

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
VERSIONS = sorted(p.name for p in FIXTURES.glob("velero-v*") if (p / "backups").is_dir())


def _phases(fx):
    """backup -> phase, from the VERSION file regen.py wrote."""
    text = (fx / "VERSION").read_text()
    return dict(re.findall(r"^  ([\w.-]+): (\w+)$", text, re.M))


def test_fixtures_exist():
    assert len(VERSIONS) >= 2, VERSIONS


@pytest.mark.parametrize("version", VERSIONS)
def test_every_item_is_exact(mount, version):
    fx = FIXTURES / version
    ym = mount(fx)
    jm = mount(fx, json=True)
    yaml12 = util.ruamel_loader()
    n = 0
    for b in util.backup_names(fx):
        tgz = fx / "backups" / b / (b + ".tar.gz")
        for name, data in util.item_members(tgz).items():
            rel = util.member_tree_path(name)
            if rel is None:
                continue
            want = json.loads(data)
            ytext = (ym / "backups" / b / rel).read_bytes()
            assert util.same(yaml.load(ytext, Loader=LOADER), want) is None, (b, name)
            # the pure-Python YAML 1.2 parser is slow: every 5th item
            if n % 5 == 0:
                assert util.same(yaml12.load(ytext), want) is None, (b, name)
            jrel = util.member_tree_path(name, ".json")
            assert (jm / "backups" / b / jrel).read_bytes() == data, (b, name)
            n += 1
    assert n > 100


@pytest.mark.parametrize("version", VERSIONS)
def test_phases_schedules_and_versions(mount, version):
    fx = FIXTURES / version
    m = mount(fx)
    phases = _phases(fx)
    assert phases
    for b, phase in phases.items():
        d = (m / "backups" / b / "describe.txt").read_text()
        assert re.search(r"^Phase:\s+%s\b" % phase, d, re.M), (b, phase)
        assert yaml.safe_load((m / "backups" / b / "backup.yaml").read_bytes())["status"]["phase"] == phase
    # latest skips the PartiallyFailed one
    latest = (m / "backups" / "latest").readlink()
    assert phases[str(latest)] == "Completed"
    # the scheduled series
    nightly = sorted(b for b in phases if b.startswith("nightly-"))
    assert sorted(p.name for p in (m / "schedules" / "nightly").iterdir()) == nightly
    # EnableAPIGroupVersions: the CRD served at v1 and v1beta1
    av = m / "backups" / "api-versions" / "apiversions" / "widgets.shop.example.com"
    assert sorted(p.name for p in av.iterdir()) == ["v1-preferredversion", "v1beta1"]
    v1 = yaml.safe_load((av / "v1-preferredversion/namespaces/shop/blue-widget.yaml").read_bytes())
    v1b = yaml.safe_load((av / "v1beta1/namespaces/shop/blue-widget.yaml").read_bytes())
    assert v1["apiVersion"].endswith("/v1") and v1b["apiVersion"].endswith("/v1beta1")
    # names with ':' and '.'
    assert (m / "backups/full/namespaces/shop/widgets.shop.example.com/red.widget.yaml").is_file()


@pytest.mark.parametrize("version", VERSIONS)
def test_partially_failed_says_why(mount, version):
    fx = FIXTURES / version
    m = mount(fx)
    partial = [b for b, p in _phases(fx).items() if p == "PartiallyFailed"]
    assert partial
    for b in partial:
        d = (m / "backups" / b / "describe.txt").read_text()
        assert "PartiallyFailed" in d and "Errors:" in d
        res = yaml.safe_load((m / "backups" / b / "meta" / "results.yaml").read_bytes())
        assert res["errors"]
        assert (m / "backups" / b / "logs").read_bytes()


def test_example_vault_is_real_velero_output(mount):
    """The README's quick start mounts examples/vault: Velero's own output."""
    ex = pathlib.Path(__file__).resolve().parent.parent / "examples" / "vault"
    assert ex.resolve() == (FIXTURES / VERSIONS[-1]).resolve() or ex.resolve().parent == FIXTURES
    assert (ex / "VERSION").read_text().startswith("velero v1.")
    m = mount(ex)
    assert (m / "backups" / "latest" / "namespaces" / "shop" / "deployments.apps" / "web.yaml").is_file()
    assert os.listdir(m / "schedules" / "nightly")
