"""`velerofs find` and `velerofs diff`: exact outputs, checked against what
the backups hold (read here with tarfile, independently of velerofs)."""

import fnmatch
import json
import subprocess
import tarfile

import pytest

import util


def vfs(velerofs, *args):
    return subprocess.run([str(velerofs), *map(str, args)], capture_output=True, text=True)


def _items(vault, backup):
    """{mount path below the backup: object} of the default view."""
    out = {}
    with tarfile.open(vault / "backups" / backup / (backup + ".tar.gz")) as t:
        for m in t.getmembers():
            p = m.name.split("/")
            if not m.isfile() or p[0] != "resources":
                continue
            if len(p) == 5 and p[2] == "namespaces":
                rel = "namespaces/%s/%s/%s" % (p[3], p[1], util.component_name(p[4][:-5], ".yaml")[:-5])
            elif len(p) == 4 and p[2] == "cluster":
                rel = "cluster/%s/%s" % (p[1], util.component_name(p[3][:-5], ".yaml")[:-5])
            else:
                continue
            out[rel] = json.loads(t.extractfile(m).read())
    return out


def _images(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "image" and isinstance(v, str):
                yield v
            else:
                yield from _images(v)
    elif isinstance(o, list):
        for v in o:
            yield from _images(v)


def _expected(vault, pred, backup_glob="*"):
    out = []
    for b in util.backup_names(vault):
        if not fnmatch.fnmatch(b, backup_glob):
            continue
        for rel, o in _items(vault, b).items():
            if pred(rel, o):
                out.append("backups/%s/%s.yaml" % (b, rel))
    return sorted(out)


@pytest.mark.parametrize("args,pred,glob", [
    (["--kind", "Deployment"], lambda r, o: o["kind"] == "Deployment", "*"),
    (["--kind", "configmaps", "--namespace", "shop"],
     lambda r, o: r.startswith("namespaces/shop/configmaps/"), "*"),
    (["--name", "web*", "--backup", "daily-*"], lambda r, o: o["metadata"]["name"].startswith("web"), "daily-*"),
    (["--label", "app.kubernetes.io/name=web"],
     lambda r, o: (o["metadata"].get("labels") or {}).get("app.kubernetes.io/name") == "web", "*"),
    (["--image", "*shop/web:1.4.3"],
     lambda r, o: any(fnmatch.fnmatch(i, "*shop/web:1.4.3") for i in _images(o)), "*"),
    (["--kind", "clusterroles.rbac.authorization.k8s.io"],
     lambda r, o: r.startswith("cluster/clusterroles.rbac.authorization.k8s.io/"), "*"),
])
def test_find_is_exact(velerofs, shop_vault, tmp_path, args, pred, glob):
    r = vfs(velerofs, "find", "--cache", tmp_path / "c", *args, shop_vault)
    want = _expected(shop_vault, pred, glob)
    assert want, "the case must match something"
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == want


def test_find_paths_exist_in_the_mount(velerofs, mount, shop_vault, tmp_path):
    m = mount(shop_vault)
    r = vfs(velerofs, "find", "--cache", tmp_path / "c", "--kind", "Service", shop_vault)
    assert r.returncode == 0
    for line in r.stdout.splitlines():
        assert (m / line).is_file(), line


def test_find_nothing(velerofs, shop_vault, tmp_path):
    r = vfs(velerofs, "find", "--cache", tmp_path / "c", "--name", "no-such-*", shop_vault)
    assert r.returncode == 1 and r.stdout == ""


def test_diff_is_exact(velerofs, shop_vault, tmp_path):
    a, b = "daily-20261118020000", "daily-20261119020000"
    ia, ib = _items(shop_vault, a), _items(shop_vault, b)
    want = []
    for rel in sorted(set(ia) | set(ib)):
        if rel not in ib:
            want.append("removed  %s.yaml" % rel)
        elif rel not in ia:
            want.append("added    %s.yaml" % rel)
        elif util.clean_object(ia[rel]) != util.clean_object(ib[rel]):
            want.append("changed  %s.yaml" % rel)
    r = vfs(velerofs, "diff", "--cache", tmp_path / "c", shop_vault, a, b)
    assert r.returncode == 1, r.stderr
    assert sorted(r.stdout.splitlines()) == sorted(want)
    # the same backup: nothing, exit 0
    r = vfs(velerofs, "diff", "--cache", tmp_path / "c", shop_vault, a, a)
    assert r.returncode == 0 and r.stdout == ""


def test_diff_patch_and_path(velerofs, shop_vault, tmp_path):
    r = vfs(velerofs, "diff", "-p", "--cache", tmp_path / "c", shop_vault,
            "daily-20261118020000", "daily-20261119020000", "namespaces/shop/deployments.apps")
    assert r.returncode == 1
    assert r.stdout.startswith("changed  namespaces/shop/deployments.apps/web.yaml\n")
    assert "-        image: registry.example.com/shop/web:1.4.2" in r.stdout
    assert "+        image: registry.example.com/shop/web:1.4.3" in r.stdout
    assert "resourceVersion" not in r.stdout


def test_diff_errors(velerofs, shop_vault, tmp_path):
    r = vfs(velerofs, "diff", "--cache", tmp_path / "c", shop_vault, "nope", "daily-20261118020000")
    assert r.returncode == 2 and "nope" in r.stderr
    r = vfs(velerofs, "diff", shop_vault)
    assert r.returncode == 2
