"""Mount-level tests: the real daemon over the example vault and over vaults
generated with vaultgen, compared with what Python's tarfile/gzip/json read
from the same vault."""

import errno
import gzip
import json
import os
import re
import pathlib
import shutil
import stat
import subprocess
import threading
import time

import pytest
import yaml

import util
import vaultgen

VAULTS = ["example", "generated"]


@pytest.fixture(params=VAULTS)
def vault(request, shop_vault, gen_vault):
    return shop_vault if request.param == "example" else gen_vault


def walk_files(root):
    """{relative path: (lstat, bytes or link target)} of everything under
    root, with os.walk (symlinks are not followed)."""
    out = {}
    root = str(root)
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = (st, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = (st, None)
            else:
                with open(p, "rb") as f:
                    out[rel] = (st, f.read())
    return out


def expected_items(vault, name, ext=".yaml"):
    """{tree path: member bytes} for every item member of a backup that is
    a file in the tree (the copies under apiversions/ that are links to
    the item are in expected_links)."""
    tb = pathlib.Path(vault) / "backups" / name / (name + ".tar.gz")
    members = util.tar_members(tb)
    links = util.version_links(members, ext)
    out = {}
    for member, data in members.items():
        p = util.member_tree_path(member, ext)
        if p is not None and p not in links:
            out[p] = data
    return out


def expected_links(vault, name, ext=".yaml"):
    """{tree path: target} of the links under apiversions/."""
    tb = pathlib.Path(vault) / "backups" / name / (name + ".tar.gz")
    return util.version_links(util.tar_members(tb), ext)


def is_secret(relpath):
    parts = relpath.split("/")
    if parts[0] == "namespaces":
        return parts[2] == "secrets"
    if parts[0] == "cluster":
        return parts[1] == "secrets"
    if parts[0] == "apiversions":
        return parts[1] == "secrets"
    return False


# --------------------------------------------------------------------------
# the whole tree


def test_walk_whole_tree(mount, vault):
    m = mount(vault)
    tree = walk_files(m)
    names = util.backup_names(vault)
    assert sorted(os.listdir(m)) == ["backups", "history", "restore", "schedules", "snapshots"]
    assert sorted(os.listdir(m / "backups")) == sorted(names + ["latest"])
    uid, gid = os.getuid(), os.getgid()
    for b in names:
        done = util.completion_time(vault, b)
        want_items = expected_items(vault, b)
        want_links = expected_links(vault, b)
        have_items, have_links = {}, {}
        prefix = "backups/%s/" % b
        for rel, (st, data) in tree.items():
            if not rel.startswith(prefix):
                continue
            r = rel[len(prefix):]
            assert st.st_uid == uid and st.st_gid == gid, rel
            assert st.st_mtime == done, "%s: mtime %s != completion %s" % (rel, st.st_mtime, done)
            if stat.S_ISDIR(st.st_mode):
                assert stat.S_IMODE(st.st_mode) == 0o555, rel
                continue
            if stat.S_ISLNK(st.st_mode):
                # the preferred version under apiversions/: a link to the
                # item, which reads the same through it
                assert st.st_size == len(data), rel
                have_links[r] = data
                target = os.path.normpath(os.path.join(os.path.dirname(rel), data))
                assert tree[target][1] == (m / rel).read_bytes(), rel
                continue
            assert stat.S_ISREG(st.st_mode), rel
            assert st.st_size == len(data), "%s: st_size %d, read %d" % (rel, st.st_size, len(data))
            want_mode = 0o400 if is_secret(r) else 0o444
            assert stat.S_IMODE(st.st_mode) == want_mode, "%s: mode %o" % (rel, stat.S_IMODE(st.st_mode))
            if r.split("/")[0] in ("namespaces", "cluster", "apiversions"):
                have_items[r] = data
        assert sorted(have_items) == sorted(want_items), b
        assert have_links == want_links, b
        top = set(os.listdir(m / "backups" / b))
        assert {"backup.yaml", "describe.txt", "logs", "meta"} <= top, (b, top)
        assert "errors.txt" not in top, b
        assert sorted(os.listdir(m / "backups" / b / "meta")) == sorted(
            k + ".yaml" for k in util.meta_objects(vault, b))
    # the backups/ and schedules/ directories and the links
    for rel in ("backups", "schedules"):
        st = tree[rel][0]
        assert stat.S_IMODE(st.st_mode) == 0o555 and st.st_uid == uid
    assert tree["backups/latest"][1] == util.newest_completed(vault)


def test_every_item_yaml_equals_json(mount, vault):
    m = mount(vault)
    failures = []
    n = 0
    for b in util.backup_names(vault):
        for rel, member in expected_items(vault, b).items():
            text = (m / "backups" / b / rel).read_text("utf-8")
            want = json.loads(member)
            for parser, load in (("PyYAML", yaml.safe_load), ("ruamel", util.ruamel_load)):
                d = util.same(load(text), want)
                if d:
                    failures.append("%s %s/%s: %s" % (parser, b, rel, d))
            n += 1
    assert n > 100
    assert not failures, "\n".join(failures[:30])


def test_json_view_is_byte_exact(mount, vault):
    m = mount(vault, json=True)
    for b in util.backup_names(vault):
        bd = m / "backups" / b
        for rel, member in expected_items(vault, b, ".json").items():
            p = bd / rel
            assert p.read_bytes() == member, rel
            assert p.stat().st_size == len(member)
        raw = (pathlib.Path(vault) / "backups" / b / "velero-backup.json").read_bytes()
        assert (bd / "backup.json").read_bytes() == raw
        assert not (bd / "backup.yaml").exists()
        for k, v in util.meta_objects(vault, b).items():
            assert (bd / "meta" / (k + ".json")).read_bytes() == v, k
        logs = gzip.decompress((pathlib.Path(vault) / "backups" / b / (b + "-logs.gz")).read_bytes())
        assert (bd / "logs").read_bytes() == logs


def test_backup_yaml_meta_and_logs(mount, vault):
    m = mount(vault)
    for b in util.backup_names(vault):
        bd = m / "backups" / b
        want = util.backup_json(vault, b)
        text = (bd / "backup.yaml").read_text()
        assert util.same(yaml.safe_load(text), want) is None
        assert util.same(util.ruamel_load(text), want) is None
        for k, v in util.meta_objects(vault, b).items():
            got = (bd / "meta" / (k + ".yaml")).read_text()
            assert util.same(yaml.safe_load(got), json.loads(v)) is None, (b, k)
            assert util.same(util.ruamel_load(got), json.loads(v)) is None, (b, k)
        logs = gzip.decompress((pathlib.Path(vault) / "backups" / b / (b + "-logs.gz")).read_bytes())
        assert (bd / "logs").read_bytes() == logs


def test_large_log_is_whole_and_what_follows_it_too(mount, tmp_path):
    """A log of several MiB (written by the build's writer thread while the
    build goes on): byte for byte the object's, and so are the meta/
    objects and items stored after it, on the mount that built the index
    and on one that maps it from the cache."""
    objs = vaultgen.believable_cluster(seed=3, variant=0)[:40]
    root = tmp_path / "v"
    info = vaultgen.write_backup(root, "big-log", objs, started="2026-11-02T02:00:00Z")
    d = pathlib.Path(info["dir"])
    lines = [b'time="2026-11-02T02:00:%02dZ" level=info msg="Backed up %d items" '
             b'backup=velero/big-log progress=%d/%d\n' % (i % 60, i, i, i * 7 + 1)
             for i in range(120_000)]
    log = b"".join(lines)
    assert len(log) > 8 << 20
    (d / "big-log-logs.gz").write_bytes(gzip.compress(log, 6))
    cache = tmp_path / "cache"
    for _ in range(2):
        m = mount(root, cache=cache)
        bd = m / "backups" / "big-log"
        assert (bd / "logs").read_bytes() == log
        for k, v in util.meta_objects(root, "big-log").items():
            got = (bd / "meta" / (k + ".yaml")).read_text()
            assert util.same(yaml.safe_load(got), json.loads(v)) is None, k
        assert not (bd / "errors.txt").exists()
        assert sum(1 for _ in bd.glob("namespaces/*/*/*.yaml")) > 0
        assert (bd / "backup.yaml").read_text()
        m.stop()


def test_latest_and_schedules(mount, vault):
    m = mount(vault)
    latest = m / "backups" / "latest"
    assert latest.is_symlink()
    want = util.newest_completed(vault)
    assert os.readlink(latest) == want
    assert util.backup_json(vault, want)["status"]["phase"] == "Completed"
    # the newest backup of all is not Completed in both vaults
    newest = max(util.backup_names(vault), key=lambda n: util.completion_time(vault, n))
    assert util.backup_json(vault, newest)["status"]["phase"] != "Completed"
    assert (latest / "backup.yaml").read_bytes() == (m / "backups" / want / "backup.yaml").read_bytes()

    sched = {}
    for b in util.backup_names(vault):
        s = util.backup_json(vault, b)["metadata"].get("labels", {}).get("velero.io/schedule-name")
        if s:
            sched.setdefault(s, []).append(b)
    assert sched
    assert sorted(os.listdir(m / "schedules")) == sorted(sched)
    for s, bs in sched.items():
        d = m / "schedules" / s
        assert sorted(os.listdir(d)) == sorted(bs)
        for b in bs:
            assert os.readlink(d / b) == "../../backups/" + b
            assert (d / b / "backup.yaml").read_bytes() == (m / "backups" / b / "backup.yaml").read_bytes()


def test_failed_backups_listed_and_described(mount, vault):
    m = mount(vault)
    phases = {b: util.backup_json(vault, b)["status"]["phase"] for b in util.backup_names(vault)}
    assert "Failed" in phases.values() and "PartiallyFailed" in phases.values()
    listed = os.listdir(m / "backups")
    for b, ph in phases.items():
        assert b in listed
        desc = (m / "backups" / b / "describe.txt").read_text()
        line = next(l for l in desc.splitlines() if l.startswith("Phase:"))
        assert line.split()[1] == ph, (b, line)


def test_read_only_everywhere(mount, vault):
    m = mount(vault)
    b = util.newest_completed(vault)
    bd = m / "backups" / b
    item = next(iter(sorted(expected_items(vault, b))))
    f = bd / item
    d = f.parent
    targets_files = [f, bd / "backup.yaml", bd / "describe.txt", bd / "logs"]
    targets_dirs = [m.path, m / "backups", m / "schedules", bd, bd / "meta", d, m / "schedules" / "daily"]

    def erofs(fn, *a):
        with pytest.raises(OSError) as ei:
            fn(*a)
        assert ei.value.errno == errno.EROFS, (fn, a, ei.value)

    for p in targets_files:
        erofs(os.open, p, os.O_WRONLY)
        erofs(os.open, p, os.O_RDWR)
        erofs(os.open, p, os.O_WRONLY | os.O_TRUNC)
        erofs(os.truncate, p, 0)
        erofs(os.chmod, p, 0o644)
        erofs(os.unlink, p)
        erofs(os.rename, p, str(p) + ".x")
        erofs(os.utime, p, (0, 0))
    for dd in targets_dirs:
        erofs(os.open, dd / "new.yaml", os.O_WRONLY | os.O_CREAT, 0o644)
        erofs(os.mkdir, dd / "newdir")
        erofs(os.chmod, dd, 0o755)
        erofs(os.symlink, "x", dd / "lnk")
    erofs(os.rmdir, d)
    erofs(os.rename, d, str(d) + "-x")
    erofs(os.unlink, m / "backups" / "latest")
    erofs(os.rename, bd, m / "backups" / "renamed")
    # still intact
    assert (bd / item).read_bytes()


def test_read_only_after_reads(mount, vault):
    """Once files have been read the kernel stops sending open() (the daemon
    opts into no-open, for speed: README, "Limits"). Nothing can change a
    file after that either: truncating fails with EROFS at open, and an open
    for writing, if the kernel lets it through, gets EROFS on every write;
    `: > file` fails; the bytes stay as they were."""
    m = mount(vault)
    b = util.newest_completed(vault)
    bd = m / "backups" / b
    item = bd / sorted(expected_items(vault, b))[0]
    for p in (item, bd / "backup.yaml", bd / "describe.txt"):
        assert p.read_bytes()
    for p in (item, bd / "backup.yaml", bd / "describe.txt"):
        before = p.read_bytes()
        with pytest.raises(OSError) as ei:
            os.close(os.open(p, os.O_WRONLY | os.O_TRUNC))
        assert ei.value.errno == errno.EROFS, (p.name, "O_TRUNC")
        for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_APPEND):
            with pytest.raises(OSError) as ei:
                fd = os.open(p, flags)
                try:
                    os.write(fd, b"x")
                finally:
                    os.close(fd)
            assert ei.value.errno == errno.EROFS, (p.name, flags)
        with pytest.raises(OSError) as ei:
            os.truncate(p, 0)
        assert ei.value.errno == errno.EROFS
        assert p.read_bytes() == before
    r = subprocess.run(["sh", "-c", ': > "$1"', "sh", str(item)], capture_output=True)
    assert r.returncode != 0, "truncating a backup file with ': >' succeeded"
    assert b"Read-only" in r.stderr


# --------------------------------------------------------------------------
# the shell tools people use


def test_shell_tools(mount, vault):
    m = mount(vault)
    names = util.backup_names(vault)
    all_items = {b: expected_items(vault, b) for b in names}

    r = util.run(["ls", "-lR", str(m)])
    assert r.returncode == 0 and not r.stderr, r.stderr.decode()
    out = r.stdout.decode()
    for b, items in all_items.items():
        for rel in items:
            assert os.path.basename(rel) in out

    r = util.run(["find", str(m / "backups"), "-type", "f"])
    assert r.returncode == 0 and not r.stderr, r.stderr.decode()
    found = set(r.stdout.decode().splitlines())
    for b, items in all_items.items():
        for rel in items:
            assert str(m / "backups" / b / rel) in found
    r = util.run(["find", "-L", str(m / "schedules"), "-name", "describe.txt"])
    assert r.returncode == 0 and not r.stderr, r.stderr.decode()
    assert len(r.stdout.splitlines()) >= 2
    r = util.run(["find", str(m), "-type", "l"])
    assert str(m / "backups" / "latest") in r.stdout.decode()

    r = util.run(["grep", "-r", "image:", str(m / "backups")])
    assert r.returncode == 0 and not r.stderr, r.stderr.decode()
    lines = r.stdout.decode().splitlines()
    assert any("/deployments.apps/web.yaml:" in l for l in lines)
    # block scalars: the lines of a config file in a ConfigMap are grep-able
    r = util.run(["grep", "-rl", "worker_connections", str(m / "backups")])
    assert r.returncode == 0 and not r.stderr
    assert any(l.endswith("/configmaps/nginx-conf.yaml") for l in r.stdout.decode().splitlines())

    # diff -r: consecutive backups of the daily schedule differ; a backup
    # and itself (through schedules/ and through backups/) do not.
    daily = sorted(x for x in os.listdir(m / "schedules" / "daily") if x.startswith("daily-"))
    a, b = daily[0], daily[1]
    r = util.run(["diff", "-r", str(m / "backups" / a / "namespaces"), str(m / "backups" / b / "namespaces")])
    assert r.returncode == 1, r.stderr.decode()
    assert b"image: registry" in r.stdout or b"image:" in r.stdout
    r = util.run(["diff", "-r", str(m / "backups" / a), str(m / "schedules" / "daily" / a) + "/"])
    assert r.returncode == 0, r.stdout.decode()[:2000] + r.stderr.decode()
    assert r.stdout == b""


# --------------------------------------------------------------------------
# formats: tar dialects, metadata/version, names, version directories


def _tree_bytes(root):
    return {rel: (stat.S_IMODE(st.st_mode), data) for rel, (st, data) in walk_files(root).items()}


def test_tar_formats_give_the_same_tree(mount, tmp_path):
    trees = {}
    for fmt in vaultgen.TAR_FORMATS:
        v = tmp_path / ("v-" + fmt)
        objs = vaultgen.believable_cluster(seed=11, variant=0)
        info = vaultgen.write_backup(v, "fmt", objs, tar_format=fmt,
                                     api_versions={"widgets.example.com": {"v1beta1": vaultgen.widget_as_v1beta1(objs)}})
        # the dialects really differ on disk, and Python reads them all the same
        assert len(info["members"]) == len(util.tar_members(pathlib.Path(info["dir"]) / "fmt.tar.gz"))
        m = mount(v)
        trees[fmt] = _tree_bytes(m / "backups" / "fmt")
        items = expected_items(v, "fmt")
        for rel, data in items.items():
            assert util.same(yaml.safe_load(trees[fmt][rel][1]), json.loads(data)) is None, (fmt, rel)
    raw = {fmt: (tmp_path / ("v-" + fmt) / "backups/fmt/fmt.tar.gz").read_bytes() for fmt in trees}
    assert len(set(raw.values())) == len(raw)  # different bytes ...
    ref = trees["go"]
    for fmt, t in trees.items():
        assert sorted(t) == sorted(ref), fmt  # ... same tree
        for rel in ref:
            assert t[rel] == ref[rel], (fmt, rel)


def test_metadata_versions_browse_the_same(mount, tmp_path):
    objs = vaultgen.believable_cluster(seed=5, variant=1)
    trees = {}
    for fv in ("1", "1.1.0", None):
        v = tmp_path / ("v-%s" % fv)
        info = vaultgen.write_backup(v, "b", objs, format_version=fv)
        has_version = any(n == "metadata/version" for n in info["members"])
        assert has_version == (fv is not None)
        m = mount(v)
        bd = m / "backups" / "b"
        t = {}
        for sub in ("namespaces", "cluster"):
            for rel, (st, data) in walk_files(bd / sub).items():
                t[sub + "/" + rel] = (stat.S_IMODE(st.st_mode), data)
        trees[fv] = t
        for rel, data in expected_items(v, "b").items():
            got = (bd / rel).read_text()
            assert util.same(yaml.safe_load(got), json.loads(data)) is None, (fv, rel)
        desc = (bd / "describe.txt").read_text()
        assert "Completed" in desc
        assert not (bd / "errors.txt").exists()
    assert trees["1"] == trees["1.1.0"] == trees[None]
    assert len(trees["1"]) > 30


def test_special_names(mount, gen_vault):
    m = mount(gen_vault)
    b = "daily-0"
    bd = m / "backups" / b
    objs = {(o["kind"], o["metadata"]["name"]): o for o in vaultgen.believable_cluster(seed=3, variant=0)}
    long = [n for (k, n) in objs if k == "ConfigMap" and len(n) >= 250]
    assert long and len(long[0]) == 253
    cm_dir = bd / "namespaces" / "shop" / "configmaps"
    want = util.component_name(long[0], ".yaml")
    assert len(want.encode()) <= 255 and "~" in want
    listing = os.listdir(cm_dir)
    assert want in listing, listing
    got = yaml.safe_load((cm_dir / want).read_text())
    assert got["metadata"]["name"] == long[0]
    # the cut name is stable and the JSON view cuts the same way
    jm = mount(gen_vault, json=True)
    jname = util.component_name(long[0], ".json")
    assert json.loads((jm / "backups" / b / "namespaces/shop/configmaps" / jname).read_bytes())["metadata"]["name"] == long[0]
    # ':' and '..' in names
    cr = bd / "cluster" / "clusterroles.rbac.authorization.k8s.io" / "system:shop:reader.yaml"
    assert yaml.safe_load(cr.read_text())["metadata"]["name"] == "system:shop:reader"
    dotted = [n for (k, n) in objs if ".." in n]
    assert dotted
    for n in dotted:
        kind = next(k for (k, nn) in objs if nn == n)
        o = objs[(kind, n)]
        gr = vaultgen.group_resource(o)
        ns = o["metadata"].get("namespace")
        p = (bd / "namespaces" / ns / gr if ns else bd / "cluster" / gr) / (n + ".yaml")
        assert yaml.safe_load(p.read_text())["metadata"]["name"] == n
    # '..' as a path component is still the parent, not an item
    assert os.path.realpath(str(bd / "namespaces" / "..")) == str(bd)


def test_special_names_generated_253_and_colons(mount, tmp_path):
    """Names built for the edge: exactly 253 bytes, multibyte characters at
    the cut, ':' and '..' inside, a leading '.'."""
    names = ["a" * 253, "b" * 246, "c" * 247, "x:y:z", "a..b", "..c", ".hidden",
             ("\u00e9" * 126) + "z"]  # 253 bytes, 2-byte chars around the cut
    objs = [{"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": n, "namespace": "ns1"}, "data": {"k": n}} for n in names]
    objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns1"}})
    v = tmp_path / "v"
    vaultgen.write_backup(v, "names", objs)
    m = mount(v)
    d = m / "backups" / "names" / "namespaces" / "ns1" / "configmaps"
    listing = sorted(os.listdir(d))
    assert listing == sorted(util.component_name(n, ".yaml") for n in names)
    for n in names:
        p = d / util.component_name(n, ".yaml")
        assert yaml.safe_load(p.read_text())["data"]["k"] == n
        assert len(os.fsencode(p.name)) <= 255


def test_version_directories(mount, tmp_path, velerofs):
    objs = vaultgen.believable_cluster(seed=2, variant=0)
    v = tmp_path / "v"
    info = vaultgen.write_backup(v, "av", objs, api_versions={
        "widgets.example.com": {"v1beta1": vaultgen.widget_as_v1beta1(objs)}})
    members = util.tar_members(pathlib.Path(info["dir"]) / "av.tar.gz")
    m = mount(v)
    bd = m / "backups" / "av"
    # default view == the legacy member (the preferred version)
    for w in ("blue", "green"):
        legacy = json.loads(members["resources/widgets.example.com/namespaces/shop/%s.json" % w])
        pref = json.loads(members["resources/widgets.example.com/v1-preferredversion/namespaces/shop/%s.json" % w])
        old = json.loads(members["resources/widgets.example.com/v1beta1/namespaces/shop/%s.json" % w])
        assert legacy["apiVersion"] == "example.com/v1" and old["apiVersion"] == "example.com/v1beta1"
        got = yaml.safe_load((bd / "namespaces/shop/widgets.example.com" / (w + ".yaml")).read_text())
        assert util.same(got, legacy) is None
        got = yaml.safe_load((bd / "apiversions/widgets.example.com/v1-preferredversion/namespaces/shop" / (w + ".yaml")).read_text())
        assert util.same(got, pref) is None
        got = yaml.safe_load((bd / "apiversions/widgets.example.com/v1beta1/namespaces/shop" / (w + ".yaml")).read_text())
        assert util.same(got, old) is None
    assert sorted(os.listdir(bd / "apiversions/widgets.example.com")) == ["v1-preferredversion", "v1beta1"]
    # issue 13: the preferred version is a link to the item (cat follows
    # it), the other versions are files; grep -r and find see each once
    pref = bd / "apiversions/widgets.example.com/v1-preferredversion/namespaces/shop/blue.yaml"
    st = os.lstat(pref)
    assert stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o777
    assert os.readlink(pref) == "../../../../../namespaces/shop/widgets.example.com/blue.yaml"
    assert st.st_size == len(os.readlink(pref))
    assert pref.read_bytes() == (bd / "namespaces/shop/widgets.example.com/blue.yaml").read_bytes()
    old_f = bd / "apiversions/widgets.example.com/v1beta1/namespaces/shop/blue.yaml"
    assert stat.S_ISREG(os.lstat(old_f).st_mode)
    crd = bd / "apiversions/customresourcedefinitions.apiextensions.k8s.io/v1-preferredversion/cluster/widgets.example.com.yaml"
    assert os.readlink(crd) == "../../../../cluster/customresourcedefinitions.apiextensions.k8s.io/widgets.example.com.yaml"
    r = util.run(["grep", "-rlx", "apiVersion: example.com/v1", str(bd)])
    assert r.returncode == 0 and not r.stderr, r.stderr
    assert sorted(os.path.relpath(l, bd) for l in r.stdout.decode().splitlines()) == [
        "namespaces/shop/widgets.example.com/%s.yaml" % w for w in ("blue", "green")]
    r = util.run(["grep", "-rlx", "apiVersion: example.com/v1beta1", str(bd)])
    assert sorted(os.path.relpath(l, bd) for l in r.stdout.decode().splitlines()) == [
        "apiversions/widgets.example.com/v1beta1/namespaces/shop/%s.yaml" % w for w in ("blue", "green")]
    r = util.run(["find", str(bd), "-name", "blue.yaml"])
    found = sorted(os.path.relpath(l, bd) for l in r.stdout.decode().splitlines())
    assert found == ["apiversions/widgets.example.com/v1-preferredversion/namespaces/shop/blue.yaml",
                     "apiversions/widgets.example.com/v1beta1/namespaces/shop/blue.yaml",
                     "namespaces/shop/widgets.example.com/blue.yaml"], found
    r = util.run(["find", str(bd), "-type", "f", "-name", "blue.yaml"])
    assert len(r.stdout.splitlines()) == 2, r.stdout
    # find -L and grep -R follow the link: the preferred version is there
    r = util.run(["grep", "-Rlx", "apiVersion: example.com/v1", str(bd / "apiversions")])
    assert len(r.stdout.splitlines()) == 2, r.stdout
    # the CLI: ls -l shows the link, cat follows it
    d = "backups/av/apiversions/widgets.example.com/v1-preferredversion/namespaces/shop"
    r = util.run([str(velerofs), "ls", "-l", str(v), d])
    assert r.returncode == 0, r.stderr
    assert re.search(rb"^lrwxrwxrwx .* blue\.yaml -> \.\./\.\./\.\./\.\./\.\./namespaces/shop/widgets\.example\.com/blue\.yaml$",
                     r.stdout, re.M), r.stdout
    r = util.run([str(velerofs), "cat", str(v), d + "/blue.yaml"])
    assert r.returncode == 0 and r.stdout == pref.read_bytes(), r.stderr
    # the version directories do not leak into the default view
    for dirpath, dirs, files in os.walk(bd / "namespaces"):
        for x in dirs:
            assert not util.VERSION_DIR_RE.match(x), os.path.join(dirpath, x)
    assert "v1beta1" not in os.listdir(bd / "namespaces" / "shop" / "widgets.example.com")


def test_preferred_first_order_and_no_legacy_copies(mount, tmp_path):
    """The 1.5.3 member order (preferred before legacy) browses the same."""
    objs = vaultgen.believable_cluster(seed=4, variant=0)
    trees = {}
    for order in ("legacy-first", "preferred-first"):
        v = tmp_path / order
        vaultgen.write_backup(v, "o", objs, pair_order=order)
        trees[order] = _tree_bytes(mount(v) / "backups" / "o" / "namespaces")
    assert trees["legacy-first"] == trees["preferred-first"]


# --------------------------------------------------------------------------
# laziness, the index cache, crashes


def idx_files(cache):
    d = pathlib.Path(cache) / "idx"
    return sorted(d.glob("*.idx")) if d.is_dir() else []


def test_listing_backups_reads_no_tarball(mount, vault):
    m = mount(vault)
    for b in os.listdir(m / "backups"):
        os.lstat(m / "backups" / b)
        os.stat(m / "backups" / b)
    os.readlink(m / "backups" / "latest")
    for s in os.listdir(m / "schedules"):
        for b in os.listdir(m / "schedules" / s):
            os.lstat(m / "schedules" / s / b)
    assert idx_files(m.cache) == []
    # the first access to one backup indexes that one backup
    b = util.backup_names(vault)[0]
    os.listdir(m / "backups" / b)
    (m / "backups" / b / "describe.txt").read_bytes()
    assert len(idx_files(m.cache)) == 1


def test_index_written_once_and_reused(mount, gen_vault, tmp_path):
    cache = tmp_path / "cache"
    m = mount(gen_vault, cache=cache)
    b = "daily-1"
    before = walk_files(m / "backups" / b)
    idx = idx_files(cache)
    assert len(idx) == 1
    st0 = idx[0].stat()
    data0 = idx[0].read_bytes()
    m.restart(kill=False)
    after = walk_files(m / "backups" / b)
    assert {k: v[1] for k, v in after.items()} == {k: v[1] for k, v in before.items()}
    idx2 = idx_files(cache)
    assert idx2 == idx
    st1 = idx2[0].stat()
    # not rewritten: a rebuild would rename a new file (new inode) into
    # place; the mtime is the LRU clock and may move forward on use
    assert (st1.st_ino, st1.st_size) == (st0.st_ino, st0.st_size)
    assert st1.st_mtime_ns >= st0.st_mtime_ns
    assert idx2[0].read_bytes() == data0
    # the cache key depends on the tarball: another backup gets another file
    os.listdir(m / "backups" / "daily-0")
    assert len(idx_files(cache)) == 2


DAMAGE = ["flip-middle", "flip-end", "truncate-half", "truncate-header", "zero"]


def _index_then_damage(mount, vault, cache, b, damage):
    m = mount(vault, cache=cache, allow_errors=True)  # the daemon logs what it rebuilds
    good = {k: v[1] for k, v in walk_files(m / "backups" / b).items()}
    m.stop()
    (idx,) = idx_files(cache)
    data = bytearray(idx.read_bytes())
    if damage == "flip-middle":
        data[len(data) // 2] ^= 0x5A
    elif damage == "flip-end":
        data[-3] ^= 0x01
    elif damage == "truncate-half":
        data = data[: len(data) // 2]
    elif damage == "truncate-header":
        data = data[:16]
    elif damage == "zero":
        data = bytearray(len(data))
    idx.write_bytes(bytes(data))
    return m, good, bytes(data)


@pytest.mark.parametrize("damage", DAMAGE)
def test_corrupt_index_is_rebuilt(mount, gen_vault, tmp_path, damage):
    """The first mount after the damage detects it and serves the right
    content: a damaged cache entry must not turn good items into EIO."""
    cache = tmp_path / "cache"
    b = "daily-2"
    m, good, damaged = _index_then_damage(mount, gen_vault, cache, b, damage)
    m.start()
    again = {k: v[1] for k, v in walk_files(m / "backups" / b).items()}
    assert again == good
    for rel, member in expected_items(gen_vault, b).items():
        assert util.same(yaml.safe_load(again[rel]), json.loads(member)) is None
    (idx2,) = idx_files(cache)
    assert idx2.read_bytes() != damaged, "the damaged index was not rebuilt"
    assert not (m / "backups" / b / "errors.txt").exists()


def test_index_truncated_under_the_mount_is_rebuilt(mount, gen_vault, tmp_path):
    """An index file truncated while the mount has it mapped: listing its
    directories again (a readdir reads a batch of entries after one check
    of the file) rebuilds it, never a SIGBUS; the tree and the bytes are
    those of before."""
    if os.geteuid() != 0:
        pytest.skip("dropping the kernel's caches needs root")
    cache = tmp_path / "cache"
    b = "daily-2"
    m = mount(gen_vault, cache=cache, allow_errors=True)
    root = m / "backups" / b
    good = {k: v[1] for k, v in walk_files(root).items()}
    (idx,) = idx_files(cache)
    size = idx.stat().st_size
    os.truncate(idx, size // 2)
    # the kernel keeps listings and inodes (FOPEN_CACHE_DIR): drop them so
    # that the walk below asks the daemon again
    os.sync()
    pathlib.Path("/proc/sys/vm/drop_caches").write_text("3\n")
    listed = {}
    for d, dirs, files in os.walk(root):
        listed[os.path.relpath(d, root)] = sorted(dirs + files)
    want = {}
    for rel in good:
        want.setdefault(os.path.dirname(rel) or ".", []).append(os.path.basename(rel))
    want = {k: sorted(v) for k, v in want.items()}
    for k, v in listed.items():
        assert v == want.get(k, []), k
    (idx2,) = idx_files(cache)
    assert idx2.stat().st_size == size, "the truncated index was not rebuilt"
    again = {k: v[1] for k, v in walk_files(root).items()}
    assert again == good
    assert m.alive()


@pytest.mark.parametrize("damage", DAMAGE)
def test_corrupt_index_is_never_served(mount, gen_vault, tmp_path, damage):
    """Weaker: whatever is read after the damage is either the right
    content or EIO, never wrong bytes; the mount after that is all right."""
    cache = tmp_path / "cache"
    b = "daily-2"
    m, good, damaged = _index_then_damage(mount, gen_vault, cache, b, damage)
    m.start()
    for rel, data in good.items():
        p = m / "backups" / b / rel
        if data is None:
            continue
        try:
            if isinstance(data, str):  # a link under apiversions/
                assert os.readlink(p) == data, rel
            else:
                assert p.read_bytes() == data, rel
        except OSError as e:
            assert e.errno == errno.EIO, (rel, e)
    m.restart(kill=False)
    assert {k: v[1] for k, v in walk_files(m / "backups" / b).items()} == good
    assert util.SANITIZER_RE.search(m.stderr(all_runs=True)) is None


def test_kill9_mid_use_and_remount(mount, gen_vault, tmp_path):
    """kill -9 while readers are busy, mount again: everything reads back
    right. No timing assumptions: the kill waits until a reader has really
    read through the mount, and the remount works whether or not the dead
    mount was cleared first (velerofs clears its own dead mount)."""
    cache = tmp_path / "cache"
    m = mount(gen_vault, cache=cache)
    names = util.backup_names(gen_vault)
    stop = threading.Event()
    reading = threading.Event()
    errors = []

    def reader():
        # keep the daemon busy indexing and reading while it is killed
        while not stop.is_set():
            for b in names:
                try:
                    for dirpath, dirs, files in os.walk(m / "backups" / b):
                        for f in files:
                            with open(os.path.join(dirpath, f), "rb") as fh:
                                fh.read()
                            reading.set()
                except OSError as e:
                    errors.append(e)
                    return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    assert reading.wait(120), "no file read through the mount in 120 s: %r" % errors
    m.kill9()
    stop.set()
    t.join(120)
    assert not t.is_alive()
    m.start()
    for b in names:
        for rel, member in expected_items(gen_vault, b).items():
            got = (m / "backups" / b / rel).read_bytes()
            assert util.same(yaml.safe_load(got), json.loads(member)) is None, (b, rel)
    # and again: kill while idle, remount, the index is used as is
    before = {p.name: p.stat().st_ino for p in idx_files(cache)}
    m.restart(kill=True)
    os.listdir(m / "backups" / names[0])
    assert {p.name: p.stat().st_ino for p in idx_files(cache)} == before
    # no half-written entries are left where a mount would trust them
    for p in (cache / "idx").iterdir():
        assert p.suffix == ".idx", p


def test_two_mounts_share_a_cache(mount, gen_vault, tmp_path):
    cache = tmp_path / "cache"
    a = mount(gen_vault, cache=cache)
    b = mount(gen_vault, cache=cache)
    results = {}

    def walk(m, key):
        results[key] = {k: v[1] for k, v in walk_files(m / "backups").items()}

    ts = [threading.Thread(target=walk, args=(x, i)) for i, x in enumerate((a, b))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert results[0] == results[1]
    assert len(idx_files(cache)) == len(util.backup_names(gen_vault))


# --------------------------------------------------------------------------
# the fixture itself


@pytest.mark.parametrize("line,allow,caught", [
    ("==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1", True, True),
    ("backup/index.c:12:3: runtime error: signed integer overflow", True, True),
    ("==1==ERROR: LeakSanitizer: detected memory leaks", False, True),
    ("velerofs: error: something broke", False, True),
    ("velerofs: error: something broke", True, False),
    ("velerofs: info: all good", False, False),
])
def test_fixture_catches_stderr_reports(velerofs, shop_vault, tmp_path, line, allow, caught):
    """The mount fixture's stderr check, run on a wrapper that writes one
    line to stderr and then execs the real daemon."""
    wrapper = tmp_path / "velerofs"
    wrapper.write_text('#!/bin/sh\necho "%s" >&2\nexec "%s" "$@"\n' % (line, velerofs))
    wrapper.chmod(0o755)
    m = util.Mount(wrapper, shop_vault, tmp_path / "mnt", tmp_path / "cache", allow_errors=allow)
    m.start()
    try:
        assert os.listdir(m / "backups")
    finally:
        rc = m.stop()
    assert rc == 0
    assert bool(m.problems()) == caught, m.problems()


def test_fixture_reports_a_dead_daemon(velerofs, shop_vault, tmp_path):
    m = util.Mount(velerofs, shop_vault, tmp_path / "mnt", tmp_path / "cache")
    m.start()
    m.proc.send_signal(11)
    m.proc.wait(10)
    m.stop()
    # (under AddressSanitizer or ThreadSanitizer the signal is caught and
    # reported instead)
    assert any("status -11" in p or "Sanitizer: SEGV" in p for p in m.problems()), m.problems()
    assert not os.path.ismount(m.path) and not util.in_mountinfo(m.path)


def test_restore_without_a_cluster_explains(mount, shop_vault):
    """No kubeconfig: restore/ is there, read-only, and says why."""
    m = mount(shop_vault)
    assert os.listdir(m / "restore") == ["README"]
    text = (m / "restore" / "README").read_text()
    assert "no kubeconfig" in text and "--kubeconfig" in text
    with pytest.raises(OSError) as ei:
        (m / "restore" / "web.yaml").write_text("kind: ConfigMap\n")
    assert ei.value.errno == errno.EROFS
    m2 = mount(shop_vault, args=["-o", "no_restore"])
    assert "no_restore" in (m2 / "restore" / "README").read_text()
