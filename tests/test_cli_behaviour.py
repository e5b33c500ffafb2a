"""Behaving as people expect (issue 13), each tried as a new user would:
help/version/"did you mean", `velerofs backups`, -o mistakes refused with
exit 2, relative paths, a foreground mount saying when it is ready, log
files and levels, restore status/wait with no jobs, a vault without
backups/, `latest` and kubectl's kind names, damaged backups in find and
diff."""

import json
import os
import subprocess

import pytest

import util


def vfs(velerofs, *args, **kw):
    r = util.run([velerofs, *map(str, args)], **kw)
    err = r.stderr.decode("utf-8", "replace")
    assert not util.SANITIZER_RE.search(err), err
    return r


# --------------------------------------------------------------------------
# help, version, did you mean


def test_help_and_version_commands(velerofs):
    r = vfs(velerofs, "help")
    assert r.returncode == 0 and b"Usage: velerofs COMMAND" in r.stdout
    r = vfs(velerofs, "help", "backups")
    assert r.returncode == 0 and b"velerofs backups" in r.stdout
    r = vfs(velerofs, "version")
    assert r.returncode == 0 and r.stdout.startswith(b"velerofs 0.")
    r = vfs(velerofs, "help", "mout")
    assert r.returncode == 2 and b"did you mean 'mount'" in r.stderr


@pytest.mark.parametrize("typo,meant", [("mout", "mount"), ("bakups", "backups"),
                                        ("umonut", "umount"), ("restor", "restore"),
                                        ("lss", "ls"), ("vesion", "version")])
def test_did_you_mean(velerofs, typo, meant):
    r = vfs(velerofs, typo)
    assert r.returncode == 2
    assert ("did you mean '%s'?" % meant).encode() in r.stderr, r.stderr


def test_no_suggestion_for_nonsense(velerofs):
    r = vfs(velerofs, "frobnicate")
    assert r.returncode == 2 and b"did you mean" not in r.stderr


# --------------------------------------------------------------------------
# velerofs backups


def test_backups_lists_like_velero_backup_get(velerofs, shop_vault, tmp_path):
    r = vfs(velerofs, "backups", "--cache", tmp_path / "c", shop_vault)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ERRORS", "WARNINGS", "CREATED", "EXPIRES",
                                "STORAGE", "LOCATION", "SELECTOR"]
    rows = {l.split()[0]: l for l in lines[1:]}
    assert set(rows) == set(util.backup_names(shop_vault))
    for name in rows:
        bj = util.backup_json(shop_vault, name)
        cols = rows[name].split()
        assert cols[1] == bj["status"]["phase"]
        assert int(cols[2]) == bj["status"].get("errors", 0)
        assert int(cols[3]) == bj["status"].get("warnings", 0)
        created = bj["metadata"]["creationTimestamp"]
        assert "%s %s +0000 UTC" % (created[:10], created[11:19]) in rows[name]
        assert bj["spec"]["storageLocation"] in cols
    assert rows["shop-only"].rstrip().endswith("<none>")
    # a backup with a label selector shows it as velero does
    r = vfs(velerofs, "backups", "--cache", tmp_path / "c", util.REPO / "examples/vault")
    frontend = next(l for l in r.stdout.decode().splitlines() if l.startswith("frontend "))
    assert frontend.rstrip().endswith("tier=frontend")
    # no tarball was read: the cache holds no index
    assert not list((tmp_path / "c").rglob("*.index"))


def test_backups_output_formats(velerofs, shop_vault, tmp_path):
    c = tmp_path / "c"
    r = vfs(velerofs, "backups", "-o", "json", "--cache", c, shop_vault)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {x["name"] for x in rows} == set(util.backup_names(shop_vault))
    partial = next(x for x in rows if x["name"] == "partial-20261120")
    assert partial["status"] == util.backup_json(shop_vault, "partial-20261120")["status"]["phase"]
    daily = next(x for x in rows if x["name"].startswith("daily-"))
    assert daily["schedule"] == util.backup_json(shop_vault, daily["name"])["metadata"]["labels"]["velero.io/schedule-name"]
    r = vfs(velerofs, "backups", "--output", "yaml", "--cache", c, shop_vault)
    assert r.returncode == 0, r.stderr
    import yaml
    assert yaml.safe_load(r.stdout) == rows
    r = vfs(velerofs, "backups", "-o", "wide", "--cache", c, shop_vault)
    head = r.stdout.decode().splitlines()[0]
    assert "SCHEDULE" in head and "COMPLETED" in head
    r = vfs(velerofs, "backups", "-o", "xml", "--cache", c, shop_vault)
    assert r.returncode == 2 and b"-o xml" in r.stderr and not r.stdout


# --------------------------------------------------------------------------
# mount -o mistakes: velerofs's own words, exit 2, nothing mounted


@pytest.mark.parametrize("opts,words", [
    (["-o", "existing=replace"], "existing=replace"),
    (["-o", "refresh=soon"], "refresh=soon"),
    (["-o", "timeout=-3"], "timeout=-3"),
    (["-o", "max_threads=lots"], "max_threads=lots"),
    (["-o", "type_wait=1.5"], "type_wait=1.5"),
    (["-o", "cache_size=big"], "cache_size=big"),
    (["-o", "view=xml"], "view=xml"),
    (["-o", "no_such_option"], "no_such_option"),
    (["-o", "clean,redcat"], "redcat"),
    (["--log-level", "loud"], "loud"),
])
def test_mount_option_errors(velerofs, shop_vault, tmp_path, opts, words):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = vfs(velerofs, "mount", "-f", "--cache", tmp_path / "c", *opts, shop_vault, mnt, timeout=20)
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert words in err and err.startswith("velerofs mount: "), err
    assert "fuse:" not in err
    assert not util.in_mountinfo(mnt)


# --------------------------------------------------------------------------
# relative paths, daemon mode, logs, restore with no jobs

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:9
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
users:
- name: u
  user: {token: not-a-secret}
"""


@pytest.fixture
def daemon_mount(velerofs, shop_vault, tmp_path):
    """`velerofs mount` (daemon mode) started in tmp_path with relative
    paths; unmounted at the end."""
    mnts = []

    def start(*args, env=None):
        mnt = tmp_path / "mnt"
        mnt.mkdir(exist_ok=True)
        r = vfs(velerofs, "mount", *args, shop_vault, "mnt", cwd=tmp_path, env=env, timeout=60)
        if r.returncode == 0:
            mnts.append(mnt)
        return r, mnt

    yield start
    for m in mnts:
        util.unmount(m)


def test_relative_paths_daemon_mode(daemon_mount, tmp_path, velerofs):
    (tmp_path / "kc.yaml").write_text(KUBECONFIG)
    r, mnt = daemon_mount("--kubeconfig", "kc.yaml", "--restore-state", "state",
                          "--cache", "cache", "--log-file", "velerofs.log", "--log-level", "info")
    assert r.returncode == 0, r.stderr
    # the kubeconfig was read after the daemon moved to /: restore/ is there
    assert (mnt / "restore" / "status").exists()
    assert (tmp_path / "state").is_dir() and (tmp_path / "cache").is_dir()
    assert not os.path.exists("/state") and not os.path.exists("/velerofs.log")
    (mnt / "backups/latest/backup.yaml").read_bytes()
    log = (tmp_path / "velerofs.log").read_text()
    assert "mounted" in log or "restore/" in log, log


def test_long_options_with_equals(daemon_mount, tmp_path):
    # "--name=VALUE" is the same as "--name VALUE": not "=VALUE", and
    # not a directory named "=cache" in the working directory
    (tmp_path / "kc.yaml").write_text(KUBECONFIG)
    r, mnt = daemon_mount("--kubeconfig=kc.yaml", "--restore-state=state",
                          "--cache=cache", "--log-file=velerofs.log", "--log-level=info")
    assert r.returncode == 0, r.stderr
    assert (mnt / "restore" / "status").exists()
    assert (tmp_path / "state").is_dir() and (tmp_path / "cache").is_dir()
    assert (tmp_path / "velerofs.log").is_file()
    assert not any(p.name.startswith("=") for p in tmp_path.iterdir()), list(tmp_path.iterdir())


def test_relative_kubeconfig_env(daemon_mount, tmp_path):
    (tmp_path / "kc.yaml").write_text(KUBECONFIG)
    env = dict(os.environ, KUBECONFIG="kc.yaml", HOME=str(tmp_path))
    r, mnt = daemon_mount("--cache", "cache", "--restore-state", "state", env=env)
    assert r.returncode == 0, r.stderr
    assert (mnt / "restore" / "status").exists()


def test_restore_status_and_wait_without_jobs(daemon_mount, tmp_path, velerofs):
    (tmp_path / "kc.yaml").write_text(KUBECONFIG)
    r, mnt = daemon_mount("--kubeconfig", "kc.yaml", "--restore-state", "state", "--cache", "cache")
    assert r.returncode == 0, r.stderr
    r = vfs(velerofs, "restore", "status", mnt)
    assert r.returncode == 0 and b"no restore jobs" in r.stdout, r.stdout + r.stderr
    r = vfs(velerofs, "restore", "status", "--json", mnt)
    assert r.returncode == 0 and json.loads(r.stdout) == []
    r = vfs(velerofs, "restore", "wait", "--timeout", "600", mnt, timeout=20)
    assert r.returncode == 0 and b"no restore jobs" in r.stdout, r.stdout + r.stderr


def test_foreground_says_when_ready(mount, shop_vault):
    m = mount(shop_vault)
    assert "ready" in m.stderr() and str(m.path) in m.stderr()
    # no source locations unless debugging
    assert ".c:" not in m.stderr()


def test_log_file_in_the_foreground(mount, shop_vault, tmp_path):
    log = tmp_path / "fg.log"
    m = mount(shop_vault, args=["--log-file", str(log)])
    assert "ready" in log.read_text()
    assert "ready" not in m.stderr()


def test_debug_level_names_source_locations(mount, shop_vault, tmp_path):
    log = tmp_path / "dbg.log"
    m = mount(shop_vault, args=["--log-file", str(log), "--log-level", "debug"])
    (m / "backups/latest/backup.yaml").read_bytes()
    assert ".c:" in log.read_text()


# --------------------------------------------------------------------------
# a vault without backups/: say so, name the prefix that has it

EXAMPLE = util.REPO / "examples" / "vault"


@pytest.fixture
def prefixed_vault(tmp_path):
    """A bucket-like directory whose backups live under velero/."""
    import shutil
    root = tmp_path / "bucket"
    shutil.copytree(EXAMPLE, root / "velero", symlinks=False)
    return root


@pytest.mark.parametrize("argv", [["ls"], ["backups"], ["find", "--name", "web"],
                                  ["diff", "{v}", "a", "b"]])
def test_no_backups_dir_names_the_prefix(velerofs, prefixed_vault, tmp_path, argv):
    args = [a.format(v=prefixed_vault) for a in argv]
    if "{v}" not in argv:
        args.append(str(prefixed_vault))
    r = vfs(velerofs, args[0], "--cache", tmp_path / "c", *args[1:])
    err = r.stderr.decode()
    assert "has no backups/" in err, err
    assert "%s/velero" % prefixed_vault in err, err


def test_no_backups_dir_mount_says_so(velerofs, prefixed_vault, tmp_path, mount):
    m = mount(prefixed_vault)
    assert "%s/velero" % prefixed_vault in m.stderr()
    m2 = mount(prefixed_vault / "velero")
    assert "has no backups/" not in m2.stderr()


def test_empty_backup_location(velerofs, tmp_path):
    (tmp_path / "bsl").mkdir()
    r = vfs(velerofs, "backups", "--cache", tmp_path / "c", tmp_path / "bsl")
    assert r.returncode == 0
    assert b"has no backups/" in r.stderr and b"holds no backups" in r.stderr


# --------------------------------------------------------------------------
# latest, and --kind as kubectl takes it


def test_latest_in_diff_and_find(velerofs, tmp_path):
    c = tmp_path / "c"
    newest = util.newest_completed(EXAMPLE)
    r = vfs(velerofs, "find", "--cache", c, "--backup", "latest", "--kind", "deploy", EXAMPLE)
    assert r.returncode == 0, r.stderr
    assert {l.split("/")[1] for l in r.stdout.decode().splitlines()} == {newest}
    a = vfs(velerofs, "diff", "--cache", c, EXAMPLE, "nightly-20261122003649", "latest")
    b = vfs(velerofs, "diff", "--cache", c, EXAMPLE, "nightly-20261122003649", newest)
    assert a.returncode == b.returncode == 1 and a.stdout == b.stdout


@pytest.mark.parametrize("kind", ["deploy", "deployment", "deployments", "Deployment",
                                  "deployments.apps", "deploy.apps", "Deployment.apps",
                                  "deployments.v1.apps"])
def test_kind_spellings_of_kubectl(velerofs, tmp_path, kind):
    r = vfs(velerofs, "find", "--cache", tmp_path / "c", "--backup", "latest", "--kind", kind, EXAMPLE)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines and all("/deployments.apps/" in l for l in lines), lines


@pytest.mark.parametrize("kind,dir", [("cm", "/configmaps/"), ("configmap", "/configmaps/"),
                                      ("svc", "/services/"), ("Service", "/services/"),
                                      ("sa", "/serviceaccounts/"), ("netpol", "/networkpolicies."),
                                      ("NetworkPolicy", "/networkpolicies."),
                                      ("crd", "/customresourcedefinitions."),
                                      ("widget", "/widgets.shop.example.com/"),
                                      ("Widget.shop.example.com", "/widgets.shop.example.com/")])
def test_kind_short_names_and_kinds(velerofs, tmp_path, kind, dir):
    r = vfs(velerofs, "find", "--cache", tmp_path / "c", "--backup", "latest", "--kind", kind, EXAMPLE)
    assert r.returncode == 0, (kind, r.stderr)
    lines = r.stdout.decode().splitlines()
    assert lines and all(dir in l for l in lines), lines


def test_kind_with_the_wrong_group_matches_nothing(velerofs, tmp_path):
    r = vfs(velerofs, "find", "--cache", tmp_path / "c", "--kind", "deployments.batch", EXAMPLE)
    assert r.returncode == 1 and not r.stdout


# --------------------------------------------------------------------------
# damaged backups: diff and find exit 2 and name the problem; describe.txt
# says so at the top


@pytest.fixture
def damaged_vault(tmp_path):
    import shutil
    v = tmp_path / "vault"
    shutil.copytree(EXAMPLE, v, symlinks=False)
    (v / "backups/full/full.tar.gz").unlink()
    t = v / "backups/frontend/frontend.tar.gz"
    t.write_bytes(t.read_bytes()[:3000])
    return v


@pytest.mark.parametrize("bad,why", [("full", "tarball is missing"), ("frontend", "truncated")])
def test_diff_of_a_damaged_backup(velerofs, damaged_vault, tmp_path, bad, why):
    for a, b in ((bad, "ns-shop"), ("ns-shop", bad)):
        r = vfs(velerofs, "diff", "--cache", tmp_path / "c", damaged_vault, a, b)
        err = r.stderr.decode()
        assert r.returncode == 2, err
        assert bad in err and why in err, err
        assert not r.stdout


def test_find_over_a_damaged_backup(velerofs, damaged_vault, tmp_path):
    r = vfs(velerofs, "find", "--cache", tmp_path / "c", "--name", "web", damaged_vault)
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert "full" in err and "tarball is missing" in err and "frontend" in err
    # the other backups were still searched
    assert b"backups/ns-shop/namespaces/shop/deployments.apps/web.yaml" in r.stdout
    r = vfs(velerofs, "find", "--cache", tmp_path / "c", "--name", "web", "--backup", "ns-*", damaged_vault)
    assert r.returncode == 0, r.stderr


def test_describe_says_damaged_on_the_phase_line(velerofs, damaged_vault, tmp_path):
    for bad, why in (("full", "tarball is missing"), ("frontend", "truncated")):
        r = vfs(velerofs, "cat", "--cache", tmp_path / "c", damaged_vault, "backups/%s/describe.txt" % bad)
        assert r.returncode == 0, r.stderr
        phase = next(l for l in r.stdout.decode().splitlines() if l.startswith("Phase:"))
        assert "DAMAGED" in phase and why in phase, phase
    r = vfs(velerofs, "cat", "--cache", tmp_path / "c", damaged_vault, "backups/ns-shop/describe.txt")
    assert b"DAMAGED" not in r.stdout


def test_diff_path_that_matches_nothing(velerofs, tmp_path):
    r = vfs(velerofs, "diff", "-p", "--cache", tmp_path / "c", EXAMPLE,
            "nightly-20261122003649", "latest", "namespaces/no-such-ns")
    err = r.stderr.decode()
    assert r.returncode == 2 and "namespaces/no-such-ns" in err and "no such path" in err, err
    r = vfs(velerofs, "diff", "--cache", tmp_path / "c", EXAMPLE,
            "nightly-20261122003649", "latest", "namespaces/shop")
    assert r.returncode == 1 and r.stdout


# --------------------------------------------------------------------------
# ls -o wide|json|yaml; the file view is --view (--json still works)


def test_ls_output_formats(velerofs, tmp_path):
    c = tmp_path / "c"
    p = "backups/latest/namespaces/shop/configmaps"
    longl = vfs(velerofs, "ls", "-l", "--cache", c, EXAMPLE, p)
    wide = vfs(velerofs, "ls", "-o", "wide", "--cache", c, EXAMPLE, p)
    assert wide.returncode == 0 and wide.stdout == longl.stdout
    names = vfs(velerofs, "ls", "--cache", c, EXAMPLE, p).stdout.decode().split()
    r = vfs(velerofs, "ls", "-o", "json", "--cache", c, EXAMPLE, p)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [x["name"] for x in rows] == names
    assert all(x["type"] == "file" and x["size"] > 0 for x in rows)
    import yaml
    r = vfs(velerofs, "ls", "-o", "yaml", "--cache", c, EXAMPLE, p)
    assert yaml.safe_load(r.stdout) == rows
    top = json.loads(vfs(velerofs, "ls", "-o", "json", "--cache", c, EXAMPLE, "backups").stdout)
    latest = next(x for x in top if x["name"] == "latest")
    assert latest["type"] == "link" and latest["target"] == util.newest_completed(EXAMPLE)
    r = vfs(velerofs, "ls", "-o", "xml", "--cache", c, EXAMPLE)
    assert r.returncode == 2 and b"-o xml" in r.stderr


def test_view_switch(velerofs, tmp_path):
    c = tmp_path / "c"
    p = "backups/latest/namespaces/shop/configmaps"
    r = vfs(velerofs, "ls", "--view", "json", "--cache", c, EXAMPLE, p)
    assert r.returncode == 0 and all(n.endswith(".json") for n in r.stdout.decode().split())
    assert not r.stderr
    old = vfs(velerofs, "ls", "--json", "--cache", c, EXAMPLE, p)
    assert old.returncode == 0 and old.stdout == r.stdout
    assert b"--view json" in old.stderr  # a note, not an error
    r = vfs(velerofs, "cat", "--view", "json", "--cache", c, EXAMPLE, "backups/latest/backup.json")
    assert r.returncode == 0 and json.loads(r.stdout)["kind"] == "Backup"
    r = vfs(velerofs, "find", "--view", "json", "--name", "web", "--backup", "latest", "--cache", c, EXAMPLE)
    assert r.returncode == 0 and all(l.endswith(".json") for l in r.stdout.decode().split())
    r = vfs(velerofs, "ls", "--view", "xml", "--cache", c, EXAMPLE)
    assert r.returncode == 2 and b"--view xml" in r.stderr


def test_mount_view_option(mount):
    m = mount(EXAMPLE, args=["-o", "view=json"])
    assert os.path.exists(m / "backups/latest/backup.json")


# --------------------------------------------------------------------------
# cache du creates nothing


def test_cache_du_and_ls_create_nothing(velerofs, tmp_path):
    env = dict(os.environ, HOME=str(tmp_path / "home"), XDG_CACHE_HOME="")
    (tmp_path / "home").mkdir()
    for verb in ("du", "ls"):
        r = vfs(velerofs, "cache", verb, env=env)
        assert r.returncode == 0, r.stderr
        assert b"no cache yet" in r.stdout + r.stderr
    r = vfs(velerofs, "cache", "--cache", tmp_path / "nope", "du")
    assert r.returncode == 0 and b"0 bytes" in r.stdout
    assert not (tmp_path / "nope").exists()
    assert not (tmp_path / "home/.cache").exists()


def test_typo_before_a_directory_is_not_a_mount(velerofs, tmp_path):
    """`velerofs lss /abs/dir` is a typo, not mount.fuse3's call."""
    r = vfs(velerofs, "lss", tmp_path)
    assert r.returncode == 2 and b"did you mean 'ls'?" in r.stderr
    assert not util.in_mountinfo(tmp_path)


def test_find_and_cache_ls_output_formats(velerofs, tmp_path):
    c = tmp_path / "c"
    plain = vfs(velerofs, "find", "--cache", c, "--name", "web", "--backup", "latest", EXAMPLE)
    r = vfs(velerofs, "find", "-o", "json", "--cache", c, "--name", "web", "--backup", "latest", EXAMPLE)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [x["path"] for x in rows] == plain.stdout.decode().split()
    assert all(x["name"] == "web" and x["namespace"] == "shop" for x in rows)
    import yaml
    r = vfs(velerofs, "find", "-o", "yaml", "--cache", c, "--name", "web", "--backup", "latest", EXAMPLE)
    assert yaml.safe_load(r.stdout) == rows
    r = vfs(velerofs, "cache", "--cache", c, "ls", "-o", "json")
    assert r.returncode == 0, r.stderr
    entries = json.loads(r.stdout)
    assert entries and {"kind", "bytes", "lastUsed", "path"} <= set(entries[0])
    table = vfs(velerofs, "cache", "--cache", c, "ls").stdout.decode().splitlines()[1:]
    assert sorted(l.split()[-1] for l in table) == sorted(e["path"] for e in entries)
    r = vfs(velerofs, "find", "-o", "xml", "--cache", c, EXAMPLE)
    assert r.returncode == 2


# --------------------------------------------------------------------------
# index progress: velerofs status MOUNTPOINT


def test_status_shows_index_progress(velerofs, mount, tmp_path):
    m = mount(EXAMPLE)
    r = vfs(velerofs, "status", "--cache", m.cache, m.path)
    assert r.returncode == 0 and b"nothing indexed" in r.stdout, r.stdout
    (m / "backups/full/namespaces").is_dir()
    r = vfs(velerofs, "status", "--cache", m.cache, m.path)
    line = next(l for l in r.stdout.decode().splitlines() if l.startswith("full\t"))
    assert "indexed" in line and "items" in line, line
    items = int(line.split("\t")[2].split()[0])
    assert items > 100
    r = vfs(velerofs, "umount", m.path, timeout=20)
    assert r.returncode == 0
    m.proc.wait(10)
    r = vfs(velerofs, "status", "--cache", m.cache, m.path)
    assert b"nothing indexed" in r.stdout
    r = vfs(velerofs, "status", "--cache", m.cache, tmp_path / "no-such-dir")
    assert r.returncode == 1


def test_cache_ls_says_which_backup_and_view(velerofs, tmp_path):
    c = tmp_path / "c"
    vfs(velerofs, "ls", "--cache", c, EXAMPLE, "backups/full/namespaces")
    vfs(velerofs, "ls", "--view", "json", "--clean", "--cache", c, EXAMPLE, "backups/frontend/namespaces")
    r = vfs(velerofs, "cache", "--cache", c, "ls", "-o", "json")
    entries = json.loads(r.stdout)
    idx = {(e["backup"], e["view"]) for e in entries if e["kind"] == "index"}
    if not idx or None in {b for b, _ in idx}:
        pytest.skip("no user extended attributes on %s" % c)
    assert idx == {("full", "yaml"), ("frontend", "json,clean")}
    assert all(e["vault"].endswith(os.path.realpath(EXAMPLE)) for e in entries if e["kind"] == "index")
    table = vfs(velerofs, "cache", "--cache", c, "ls").stdout.decode().splitlines()
    row = next(l for l in table if " full " in l)
    assert row.split()[0] == "index" and row.split()[5] == "yaml"
