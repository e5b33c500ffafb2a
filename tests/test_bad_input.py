"""Bad input: every vaultgen corrupt= mode in one vault next to good
backups.  The daemon keeps serving, nothing crashes, the broken backup
says what is wrong (errors.txt, describe.txt), broken items read as EIO,
and nothing is written outside the cache."""

import errno
import json
import os
import pathlib
import stat

import pytest
import yaml

import util
import vaultgen

GOOD = ("good-a", "good-z")

# what errors.txt must say (any of the words, case-insensitive)
ERRORS_SAY = {
    "truncated": ["truncated", "corrupt"],
    "truncated-tar": ["truncated", "corrupt"],
    "garbage": ["gzip"],
    "gzip-not-tar": ["not a tar", "archive format", "corrupt"],
    "bad-crc": ["crc", "checksum"],
    "bad-json-member": ["app.config"],
    "escape-member": ["evil.json"],
    "missing-backup-json": ["velero-backup.json"],
    "malformed-backup-json": ["velero-backup.json"],
    "empty-tarball": ["empty", "corrupt", "format"],
    "empty-tar": ["empty", "no items", "no members"],
}
# what describe.txt must say
DESCRIBE_SAYS = {
    "truncated": ["tarball"],
    "truncated-tar": ["tarball"],
    "garbage": ["tarball"],
    "gzip-not-tar": ["tarball"],
    "bad-crc": ["tarball", "crc", "checksum"],
    "bad-json-member": ["could not be", "errors.txt"],
    "escape-member": ["escape", "skipped", "errors.txt"],
    "missing-backup-json": ["velero-backup.json"],
    "malformed-backup-json": ["velero-backup.json"],
    "empty-tarball": ["tarball"],
    "empty-tar": ["tarball", "empty"],
}


@pytest.fixture(scope="module")
def bad_vault(tmp_path_factory):
    root = tmp_path_factory.mktemp("badvault")
    objs = vaultgen.believable_cluster(seed=1, variant=0)
    vaultgen.write_backup(root, "good-a", objs, started="2026-11-01T02:00:00Z", schedule="daily")
    for i, mode in enumerate(vaultgen.CORRUPT_MODES):
        vaultgen.write_backup(root, "bad-" + mode, objs, started="2026-11-%02dT03:00:00Z" % (2 + i),
                              corrupt=mode, schedule="daily")
    vaultgen.write_backup(root, "good-z", objs, started="2026-11-28T02:00:00Z", schedule="daily")
    return root


def bad(mode):
    return "bad-" + mode


def walk_all(root):
    """Read every file; return ({path: bytes}, {path: errno})."""
    ok, err = {}, {}
    for d, dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            try:
                with open(p, "rb") as fh:
                    ok[p] = fh.read()
            except OSError as e:
                err[p] = e.errno
    return ok, err


def test_daemon_survives_and_good_backups_serve(mount, bad_vault):
    m = mount(bad_vault, allow_errors=True)
    listed = set(os.listdir(m / "backups"))
    for mode in vaultgen.CORRUPT_MODES:
        assert bad(mode) in listed, mode
    ok, err = walk_all(m / "backups")
    assert m.alive()
    assert set(err.values()) <= {errno.EIO}, err
    # only items of broken backups fail
    for p in err:
        assert "/backups/bad-" in p, p
    for b in GOOD:
        items = util.item_members(bad_vault / "backups" / b / (b + ".tar.gz"))
        assert len(items) > 50
        for member, data in items.items():
            rel = util.member_tree_path(member)
            got = (m / "backups" / b / rel).read_text()
            assert util.same(yaml.safe_load(got), json.loads(data)) is None, (b, rel)
        assert not (m / "backups" / b / "errors.txt").exists()
        assert util.same(yaml.safe_load((m / "backups" / b / "backup.yaml").read_text()),
                         util.backup_json(bad_vault, b)) is None
    assert os.readlink(m / "backups" / "latest") == "good-z"
    # the daemon still answers after all that
    assert (m / "backups" / "good-a" / "describe.txt").read_bytes()
    assert m.alive()
    assert util.SANITIZER_RE.search(m.stderr()) is None


@pytest.mark.parametrize("mode", vaultgen.CORRUPT_MODES)
def test_errors_txt_names_the_problem(mount, bad_vault, mode):
    m = mount(bad_vault, allow_errors=True)
    bd = m / "backups" / bad(mode)
    assert "errors.txt" in os.listdir(bd)
    st = (bd / "errors.txt").stat()
    text = (bd / "errors.txt").read_text()
    assert st.st_size == len(text.encode()) and text.strip()
    assert stat.S_IMODE(st.st_mode) == 0o444
    low = text.replace(bad(mode), "<name>").lower()
    assert any(w in low for w in ERRORS_SAY[mode]), "%s errors.txt:\n%s" % (mode, text)
    assert m.alive()


@pytest.mark.parametrize("mode", vaultgen.CORRUPT_MODES)
def test_describe_mentions_the_problem(mount, bad_vault, mode):
    m = mount(bad_vault, allow_errors=True)
    text = (m / "backups" / bad(mode) / "describe.txt").read_text()
    low = text.replace(bad(mode), "<name>").lower()
    assert any(w in low for w in DESCRIBE_SAYS[mode]), "%s describe.txt:\n%s" % (mode, text)
    assert m.alive()


def test_tarball_problems_leave_the_rest_of_the_backup(mount, bad_vault):
    """A backup whose tarball is unreadable still shows its Backup object,
    logs and metadata."""
    m = mount(bad_vault, allow_errors=True)
    for mode in ("truncated", "garbage", "gzip-not-tar", "empty-tarball", "empty-tar", "bad-crc"):
        bd = m / "backups" / bad(mode)
        assert util.same(yaml.safe_load((bd / "backup.yaml").read_text()),
                         util.backup_json(bad_vault, bad(mode))) is None
        assert (bd / "logs").read_bytes()
        assert "Phase:" in (bd / "describe.txt").read_text()
        assert os.listdir(bd / "meta")


def test_broken_item_reads_eio(mount, bad_vault):
    m = mount(bad_vault, allow_errors=True)
    bd = m / "backups" / bad("bad-json-member")
    errors = (bd / "errors.txt").read_text()
    p = bd / "namespaces" / "ops" / "configmaps" / "app.config.yaml"
    assert p.name in os.listdir(p.parent)
    assert "app.config" in errors
    for path in (p, bd / "apiversions/configmaps/v1-preferredversion/namespaces/ops/app.config.yaml"):
        with pytest.raises(OSError) as ei:
            with open(path, "rb") as f:
                f.read()
        assert ei.value.errno == errno.EIO, path
    # the other items of that backup are fine
    items = util.item_members(bad_vault / "backups" / bad("bad-json-member") / (bad("bad-json-member") + ".tar.gz"))
    for member, data in items.items():
        rel = util.member_tree_path(member)
        if "app.config" in rel:
            continue
        assert util.same(yaml.safe_load((bd / rel).read_text()), json.loads(data)) is None
    assert m.alive()


def test_broken_item_reads_eio_in_json_view(mount, bad_vault):
    m = mount(bad_vault, json=True, allow_errors=True)
    p = m / "backups" / bad("bad-json-member") / "namespaces" / "ops" / "configmaps" / "app.config.json"
    with pytest.raises(OSError) as ei:
        with open(p, "rb") as f:
            f.read()
    assert ei.value.errno == errno.EIO


def test_escaping_member_writes_nothing_outside(mount, bad_vault, tmp_path):
    before_etc = set(os.listdir("/etc"))
    assert not os.path.exists("/etc/evil.json")
    m = mount(bad_vault, allow_errors=True)
    bd = m / "backups" / bad("escape-member")
    ok, err = walk_all(bd)
    assert not err
    assert not os.path.exists("/etc/evil.json")
    assert set(os.listdir("/etc")) == before_etc
    # nowhere in the test's tmp dir, the vault, or near the mount point
    for root in (tmp_path, bad_vault, m.path.parent.parent):
        for d, dirs, files in os.walk(root):
            assert "evil.json" not in files, d
    # the cache holds only what the cache is made of
    for d, dirs, files in os.walk(m.cache):
        for f in files:
            assert f.endswith(".idx") or "tmp" in d, os.path.join(d, f)
    # not in the tree either
    assert not any("evil" in os.path.basename(p) for p in ok)
    assert "evil" not in str(os.listdir(bd / "namespaces" / "shop" / "configmaps"))
    errors = (bd / "errors.txt").read_text()
    assert "resources/../../etc/evil.json" in errors
    assert "/etc/evil.json" in errors
    # the vault is untouched
    for b in os.listdir(bad_vault / "backups"):
        for f in os.listdir(bad_vault / "backups" / b):
            assert f == "velero-backup.json" or f.startswith(b), (b, f)


def test_missing_and_malformed_backup_json(mount, bad_vault):
    m = mount(bad_vault, allow_errors=True)
    for mode, word in (("missing-backup-json", "missing"), ("malformed-backup-json", "parse")):
        bd = m / "backups" / bad(mode)
        errors = (bd / "errors.txt").read_text()
        assert "velero-backup.json" in errors and word in errors.lower(), errors
        # the items of the tarball are still reachable
        items = util.item_members(bad_vault / "backups" / bad(mode) / (bad(mode) + ".tar.gz"))
        for member, data in list(items.items())[:20]:
            rel = util.member_tree_path(member)
            assert util.same(yaml.safe_load((bd / rel).read_text()), json.loads(data)) is None
    # neither can be "latest": their phase is unknown
    assert os.readlink(m / "backups" / "latest") == "good-z"


def test_bad_backups_with_cache_reuse(mount, bad_vault, tmp_path):
    """The errors survive the index cache: a remount on the same cache
    shows the same errors.txt and EIO."""
    cache = tmp_path / "cache"
    m = mount(bad_vault, cache=cache, allow_errors=True)
    first = {mode: (m / "backups" / bad(mode) / "errors.txt").read_bytes() for mode in vaultgen.CORRUPT_MODES}
    m.restart(kill=False)
    for mode in vaultgen.CORRUPT_MODES:
        assert (m / "backups" / bad(mode) / "errors.txt").read_bytes() == first[mode], mode


@pytest.mark.parametrize("content", [b"", b"{}", b"[]", b"null", b"{\"kind\":\"Backup\"}",
                                     b"{\"status\":{\"phase\":17,\"completionTimestamp\":\"not a time\"}}",
                                     b"\xff\xfe\x00garbage", b"[" * 100000])
def test_odd_backup_json(mount, tmp_path, content):
    """Hostile velero-backup.json documents: the daemon stays up, the
    backup is listed, and the other backup is fine."""
    objs = vaultgen.believable_cluster(seed=1, variant=0)[:12]
    v = tmp_path / "v"
    vaultgen.write_backup(v, "ok", objs, started="2026-11-01T02:00:00Z")
    vaultgen.write_backup(v, "odd", objs, started="2026-11-02T02:00:00Z")
    (v / "backups/odd/velero-backup.json").write_bytes(content)
    m = mount(v, allow_errors=True)
    assert "odd" in os.listdir(m / "backups")
    ok, err = walk_all(m / "backups" / "odd")
    assert set(err.values()) <= {errno.EIO}
    assert (m / "backups" / "odd" / "describe.txt").read_text().strip()
    assert os.readlink(m / "backups" / "latest") == "ok"
    assert (m / "backups" / "ok" / "backup.yaml").read_text()
    assert m.alive()


@pytest.mark.parametrize("member", [
    "resources/configmaps/namespaces/../../../x.json",
    "resources/configmaps/namespaces/shop/../../cluster/x.json",
    "resources/../x.json",
    "resources/configmaps/namespaces//x.json",
    "resources/configmaps/namespaces/shop/.json",
    "resources/configmaps/namespaces/./x.json",
    "resources/configmaps/cluster/x.json/",
    "./resources/configmaps/namespaces/shop/dot.json",
])
def test_odd_member_paths(mount, tmp_path, member):
    objs = vaultgen.believable_cluster(seed=1, variant=0)[:12]
    v = tmp_path / "v"
    data = vaultgen.go_marshal({"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "x", "namespace": "shop"}})
    vaultgen.write_backup(v, "odd", objs, extra_members=[(member, data)])
    m = mount(v, allow_errors=True)
    ok, err = walk_all(m / "backups" / "odd")
    assert set(err.values()) <= {errno.EIO}
    for p in ok:
        assert "/../" not in p and "/./" not in p
        assert os.path.realpath(p).startswith(str(m / "backups" / "odd"))
    for root in (tmp_path,):
        for d, dirs, files in os.walk(root):
            if d.startswith(str(m.path)):
                continue
            assert "x.json" not in files, d
    assert m.alive()


def test_gzip_crc_mismatch_is_not_served_silently(mount, tmp_path):
    """A tarball whose deflate data was altered (still inflates, the tar
    headers are intact) but whose gzip trailer (CRC-32, ISIZE) is the
    original's: the change must be detected, not served as the backup's
    content.  Python's gzip module refuses it ("CRC check failed")."""
    import gzip as _gzip
    import struct
    import zlib

    objs = vaultgen.believable_cluster(seed=1, variant=0)
    v = tmp_path / "v"
    info = vaultgen.write_backup(v, "crc", objs)
    tar = info["tar"]
    old = b'"replicas":2'
    assert tar.count(old) >= 1
    forged = tar.replace(old, b'"replicas":7')
    co = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = co.compress(forged) + co.flush()
    tb = pathlib.Path(info["dir"]) / "crc.tar.gz"
    tb.write_bytes(vaultgen.GZIP_HEADER + body + struct.pack("<II", zlib.crc32(tar) & 0xFFFFFFFF, len(tar)))
    with pytest.raises(_gzip.BadGzipFile):
        _gzip.decompress(tb.read_bytes())
    m = mount(v, allow_errors=True)
    bd = m / "backups" / "crc"
    served_forged = []
    for d, dirs, files in os.walk(bd):
        for f in files:
            try:
                data = open(os.path.join(d, f), "rb").read()
            except OSError as e:
                assert e.errno == errno.EIO
                continue
            if b"replicas: 7" in data:
                served_forged.append(os.path.join(d, f))
    assert (bd / "errors.txt").exists(), "CRC mismatch not reported; forged content served from %s" % served_forged
    low = (bd / "errors.txt").read_text().lower()
    assert "crc" in low or "checksum" in low or "corrupt" in low
