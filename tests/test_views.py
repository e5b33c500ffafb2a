"""The clean and redacted views (-o clean, -o keep_status, -o redact).

Redaction must never leak: every Secret value of every backup is searched
for in every file of the mount, in the YAML and the JSON views; the clean
view must drop exactly the server-set noise and nothing else."""

import base64
import hashlib
import json
import os
import subprocess
import tarfile

import pytest
import yaml

import util


def _members(vault):
    """Every resource member of every backup: (backup, member name, object)."""
    out = []
    for b in util.backup_names(vault):
        tgz = vault / "backups" / b / (b + ".tar.gz")
        if not tgz.exists():
            continue
        try:
            with tarfile.open(tgz) as t:
                for m in t.getmembers():
                    if m.isfile() and m.name.startswith("resources/") and m.name.endswith(".json"):
                        try:
                            out.append((b, m.name, json.loads(t.extractfile(m).read())))
                        except ValueError:
                            pass
        except (tarfile.TarError, EOFError, OSError):
            pass
    return out


def _secret_values(vault):
    vals = set()
    for _, _, obj in _members(vault):
        if obj.get("kind") != "Secret":
            continue
        for field in ("data", "stringData"):
            for v in (obj.get(field) or {}).values():
                if isinstance(v, str) and len(v) >= 8:
                    vals.add(v)
                    if field == "data":
                        try:
                            d = base64.b64decode(v).decode()
                            if len(d) >= 8:
                                vals.add(d)
                        except (ValueError, UnicodeDecodeError):
                            pass
    return vals


def _all_bytes(mnt):
    for root, dirs, files in os.walk(mnt):
        for f in files:
            p = os.path.join(root, f)
            if os.path.islink(p):
                continue
            try:
                with open(p, "rb") as fh:
                    yield p, fh.read()
            except OSError:
                pass


@pytest.mark.parametrize("json_view", [False, True])
def test_redaction_never_leaks(mount, shop_vault, json_view):
    secrets = _secret_values(shop_vault)
    assert len(secrets) >= 4, "the example vault holds Secrets with values"
    m = mount(shop_vault, json=json_view, args=["-o", "redact"])
    checked = 0
    for path, data in _all_bytes(m / "backups"):
        checked += 1
        for v in secrets:
            assert v.encode() not in data, (path, v)
    assert checked > 100
    # the values are there, as digests of what is stored
    b = util.newest_completed(shop_vault)
    ext = ".json" if json_view else ".yaml"
    sec = m / "backups" / b / "namespaces" / "shop" / "secrets" / ("db-credentials" + ext)
    doc = json.loads(sec.read_bytes()) if json_view else yaml.safe_load(sec.read_bytes())
    for k, v in doc["data"].items():
        assert v.startswith("<redacted sha256:") and v.endswith(">"), (k, v)


def test_redaction_digest_is_stable_and_tracks_changes(mount, shop_vault):
    """The same value gives the same digest in every backup, so an auditor
    sees whether a value changed; the digest is sha256 of the stored value."""
    m = mount(shop_vault, args=["-o", "redact"])
    seen = {}
    for b, name, obj in _members(shop_vault):
        if obj.get("kind") != "Secret" or "/v1-preferredversion/" in name:
            continue
        ns, n = obj["metadata"].get("namespace"), obj["metadata"]["name"]
        f = m / "backups" / b / "namespaces" / ns / "secrets" / (n + ".yaml")
        shown = yaml.safe_load(f.read_bytes())
        for k, v in (obj.get("data") or {}).items():
            want = "<redacted sha256:%s>" % hashlib.sha256(v.encode()).hexdigest()
            assert shown["data"][k] == want, (b, n, k)
            seen.setdefault((ns, n, k), set()).add(want)
    assert seen


def test_clean_view_drops_exactly_the_noise(mount, shop_vault):
    m = mount(shop_vault, args=["-o", "clean"])
    n = 0
    for b, name, obj in _members(shop_vault):
        if "/v1-preferredversion/" in name or obj.get("kind") == "Namespace" and False:
            continue
        parts = name.split("/")
        gr = parts[1]
        if parts[2] == "namespaces" and len(parts) == 5:
            f = m / "backups" / b / "namespaces" / parts[3] / gr / (parts[4][:-5] + ".yaml")
        elif parts[2] == "cluster" and len(parts) == 4:
            f = m / "backups" / b / "cluster" / gr / (parts[3][:-5] + ".yaml")
        else:
            continue
        if len(f.name) > 255:
            continue
        shown = yaml.safe_load(f.read_bytes())
        assert shown == util.clean_object(obj), f
        n += 1
    assert n > 50


def test_clean_keep_status(mount, shop_vault):
    m = mount(shop_vault, args=["-o", "clean,keep_status"])
    b = util.newest_completed(shop_vault)
    d = yaml.safe_load((m / "backups" / b / "namespaces/shop/deployments.apps/web.yaml").read_bytes())
    assert "status" in d and "managedFields" not in d["metadata"]


def test_clean_diff_shows_only_real_changes(mount, shop_vault):
    """Between two dailies the clean view differs only where the objects
    really changed: no resourceVersion/managedFields/status noise."""
    m = mount(shop_vault, args=["-o", "clean"])
    a, b = "daily-20261118020000", "daily-20261119020000"
    r = subprocess.run(["diff", "-r", str(m / "backups" / a / "namespaces"), str(m / "backups" / b / "namespaces")],
                       capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    for line in r.stdout.splitlines():
        if line.startswith(("<", ">")):
            for noise in util.CLEAN_NOISE + ("status:",):
                assert noise + ":" not in line.replace("status::", "status:"), line
