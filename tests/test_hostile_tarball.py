"""Hostile tarballs and per-backup objects (issue 16 items 6 and 9): memory
and time stay bounded whatever an object inflates to, what is cut is said
in errors.txt (and at the end of a cut log), the failure is cached rather
than met again on every access, and the odd corners of tar (malformed PAX
records, a NUL in a PAX path, no end marker, data after it) are reported,
not silently ignored.  Each backup sits next to a good one that must keep
serving."""

import gzip
import io
import os
import pathlib
import tarfile
import zlib

import pytest

import vaultgen

CM = vaultgen.go_marshal({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "b", "namespace": "shop"}})


def gz_stream(chunks, level=9):
    """gzip of the concatenated chunks, without holding them all."""
    co = zlib.compressobj(level, zlib.DEFLATED, 31)
    out = [co.compress(c) for c in chunks]
    out.append(co.flush())
    return b"".join(out)


def vault_with(tmp_path, name, objs=None):
    """A vault with a good backup and name; returns (root, dir of name)."""
    objs = objs or vaultgen.believable_cluster(seed=1, variant=0)[:20]
    root = tmp_path / "v"
    vaultgen.write_backup(root, "good", objs, started="2026-11-01T02:00:00Z")
    info = vaultgen.write_backup(root, name, objs, started="2026-11-02T02:00:00Z")
    return root, pathlib.Path(info["dir"])


def peak_kb(m):
    with open("/proc/%d/status" % m.proc.pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def errors_txt(m, name):
    return (m / "backups" / name / "errors.txt").read_text()


def good_serves(m):
    assert (m / "backups" / "good" / "backup.yaml").read_text()
    assert m.alive()


def idx_files(cache):
    d = cache / "idx"
    return sorted(p for p in d.glob("*.idx")) if d.is_dir() else []


def test_resource_list_bomb_is_bounded_and_cached(mount, tmp_path):
    """A 40 KB resource list of 10M one-letter entries: indexed at once in
    bounded memory, shown in meta/, said in errors.txt, and the index
    cached (not rebuilt, and refused, on every access)."""
    root, d = vault_with(tmp_path, "rl")
    body = b",".join([b'"a"'] * 10_000_000)
    (d / "rl-resource-list.json.gz").write_bytes(
        gz_stream([b'{"v1/ConfigMap":[', body, b"]}"]))
    cache = tmp_path / "cache"
    m = mount(root, cache=cache, allow_errors=True)
    err = errors_txt(m, "rl")
    assert "rl-resource-list.json.gz" in err and "describe.txt" in err
    assert (m / "backups" / "rl" / "describe.txt").read_text()
    with open(m / "backups" / "rl" / "meta" / "resource-list.yaml", "rb") as f:
        assert f.read(64).startswith(b"v1/ConfigMap:")
    assert peak_kb(m) < 600 * 1024, peak_kb(m)
    assert len(idx_files(cache)) == 1
    good_serves(m)


def test_meta_array_bomb_is_bounded(mount, tmp_path):
    """A meta object holding a 32 MB array: shown, not parsed whole."""
    root, d = vault_with(tmp_path, "arr")
    (d / "arr-volumeinfo.json.gz").write_bytes(
        gz_stream([b"[", b",".join([b"1"] * 16_000_000), b"]"]))
    m = mount(root, allow_errors=True)
    assert "arr-volumeinfo.json.gz" in errors_txt(m, "arr")
    assert (m / "backups" / "arr" / "describe.txt").read_text()
    assert os.path.getsize(m / "backups" / "arr" / "meta" / "volumeinfo.yaml") > 32_000_000
    assert peak_kb(m) < 400 * 1024, peak_kb(m)
    good_serves(m)


def test_logs_bomb_is_cut_and_says_so(mount, tmp_path):
    """A log that inflates past the cap (128 MiB): cut there, the end of
    logs and errors.txt say so, memory stays near the cap."""
    root, d = vault_with(tmp_path, "lb")
    line = b'time="2026-11-02T02:00:01Z" level=info msg="x" backup=velero/lb\n'
    chunk = line * (1 << 14)
    n = (200 << 20) // len(chunk) + 1
    (d / "lb-logs.gz").write_bytes(gz_stream([chunk] * n, level=1))
    m = mount(root, allow_errors=True)
    logs = m / "backups" / "lb" / "logs"
    size = os.path.getsize(logs)
    assert 128 << 20 <= size < (128 << 20) + 4096
    with open(logs, "rb") as f:
        f.seek(size - 200)
        assert b"cut here" in f.read()
    assert "lb-logs.gz" in errors_txt(m, "lb") and "cut" in errors_txt(m, "lb")
    # the log is inflated into the index a piece at a time, never whole
    assert peak_kb(m) < 100 * 1024, peak_kb(m)
    good_serves(m)


def test_truncated_log_shows_what_inflated(mount, tmp_path):
    """A log whose gzip stops short (an upload cut off): logs holds the
    bytes that inflated, in order and byte for byte, errors.txt says the
    gzip ends early, and the items and meta/ after it are whole."""
    root, d = vault_with(tmp_path, "lt")
    lines = b"".join(b'time="2026-11-02T02:00:%02dZ" level=info msg="item %d" backup=velero/lt\n'
                     % (i % 60, i) for i in range(200_000))
    gz = gzip.compress(lines, 6)
    (d / "lt-logs.gz").write_bytes(gz[: len(gz) // 2])
    (d / "lt-itemoperations.json.gz").write_bytes(b"not gzip at all")
    (d / "lt-results.gz").write_bytes(b"\x1f\x8b but no more")
    m = mount(root, allow_errors=True)
    got = (m / "backups" / "lt" / "logs").read_bytes()
    assert len(got) > 1 << 20 and lines.startswith(got), len(got)
    errs = errors_txt(m, "lt")
    assert "lt-logs.gz" in errs and "ends early" in errs, errs
    # errors.txt in the order the objects come (by name), though the
    # log is inflated after the others: the one before it, the log, the
    # one after it
    lines = [ln for ln in errs.splitlines() if "not valid gzip" in ln]
    assert [ln.split(":")[0] for ln in lines] == \
        ["lt-itemoperations.json.gz", "lt-logs.gz", "lt-results.gz"], errs
    assert os.listdir(m / "backups" / "lt" / "meta")
    assert (m / "backups" / "lt" / "describe.txt").read_text()
    good_serves(m)


def _block(name, size, typeflag=b"0"):
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.type = typeflag
    return ti.tobuf(tarfile.USTAR_FORMAT)


def _member(name, data):
    return _block(name, len(data)) + data + b"\0" * (-len(data) % 512)


def _pax(records):
    data = b"".join(records)
    return _block("././@PaxHeader", len(data), tarfile.XHDTYPE) + data + b"\0" * (-len(data) % 512)


def _pax_record(kv):
    n = len(kv) + 2
    n = len(kv) + 1 + len(str(n)) + 1
    return str(n).encode() + b" " + kv + b"\n"


def tarball(d, name, tar):
    (d / (name + ".tar.gz")).write_bytes(gzip.compress(tar))


GOOD_MEMBER = _member("resources/configmaps/namespaces/shop/b.json", CM)
END = b"\0" * 1024


def test_log_line_keeps_its_place_past_the_cap(mount, tmp_path):
    """errors.txt keeps 1,000 lines: a damaged log's line, said after 600
    lines about the tarball and before 600 the sort says (items held twice
    with different content), is line 601, and the last 201 are counted."""
    root, d = vault_with(tmp_path, "cap")
    parts = []
    for i in range(600):
        parts.append(_member("resources/configmaps/namespaces/shop/../x%d.json" % i, CM))
    for i in range(600):
        path = "resources/configmaps/namespaces/shop/dup%d.json" % i
        parts.append(_member(path, CM))
        parts.append(_member(path, CM.replace(b'"shop"', b'"shop2"')))
    tarball(d, "cap", b"".join(parts) + END)
    (d / "cap-logs.gz").write_bytes(b"\x1f\x8b damaged")
    m = mount(root, allow_errors=True)
    lines = errors_txt(m, "cap").splitlines()
    assert len(lines) == 1001 and lines[-1] == "... and 201 more", lines[-3:]
    assert "escapes its directory" in lines[599] and "cap-logs.gz" in lines[600], lines[598:602]
    assert "more than once" in lines[601] and "more than once" in lines[999], lines[601]
    good_serves(m)


@pytest.mark.parametrize("case", ["pax-bad-length", "pax-nul-path", "no-end-marker",
                                  "data-after-end", "zeros-after-end"])
def test_tar_corners_are_reported(mount, tmp_path, case):
    root, d = vault_with(tmp_path, "t")
    if case == "pax-bad-length":
        tar = (_pax([b"99 path=resources/configmaps/namespaces/shop/x.json\n"]) + GOOD_MEMBER + END)
        say = ["malformed pax"]
    elif case == "pax-nul-path":
        tar = (_pax([_pax_record(b"path=resources/configmaps/namespaces/shop/c.json\0x.json")])
               + _member("resources/configmaps/namespaces/shop/c-ustar.json", CM) + GOOD_MEMBER + END)
        say = ["nul byte"]
    elif case == "no-end-marker":
        tar = GOOD_MEMBER
        say = ["end marker"]
    elif case == "data-after-end":
        tar = GOOD_MEMBER + END + b"x" * 512
        say = ["follow the tar's end marker"]
    else:
        tar = None
        co = zlib.compressobj(1, zlib.DEFLATED, 31)
        parts = [co.compress(GOOD_MEMBER + END)]
        zeros = b"\0" * (1 << 24)
        parts += [co.compress(zeros) for _ in range(16)]  # 256 MiB
        parts.append(co.flush())
        (d / "t.tar.gz").write_bytes(b"".join(parts))
        say = ["not read"]
    if tar is not None:
        tarball(d, "t", tar)
    m = mount(root, allow_errors=True)
    bd = m / "backups" / "t"
    assert (bd / "namespaces" / "shop" / "configmaps" / "b.yaml").read_text()
    err = errors_txt(m, "t").lower()
    assert any(w in err for w in say), err
    if case == "pax-nul-path":
        # the name libarchive gives is cut at the NUL: not served
        assert not (bd / "namespaces" / "shop" / "configmaps" / "c.yaml").exists()
    good_serves(m)


def test_empty_gzip_members_are_not_read_forever(mount, tmp_path):
    """A meta object of millions of empty gzip members inflates to nothing:
    reading stops after a bounded amount of compressed data, and says so."""
    root, d = vault_with(tmp_path, "em")
    member = gzip.compress(b"", mtime=0)
    (d / "em-volumeinfo.json.gz").write_bytes(member * ((72 << 20) // len(member)))
    m = mount(root, allow_errors=True)
    err = errors_txt(m, "em")
    assert "em-volumeinfo.json.gz" in err and "not read" in err, err
    good_serves(m)


def test_render_bomb_is_bounded(mount, tmp_path):
    """Deep nesting makes YAML far larger than its JSON (indentation on every
    line): a 4 MB meta object that would render to gigabytes is listed as
    broken, with why, in bounded memory."""
    root, d = vault_with(tmp_path, "nest")
    depth = 200
    body = b",".join([b"1"] * 2_000_000)
    (d / "nest-volumeinfo.json.gz").write_bytes(
        gz_stream([b"[" * depth, body, b"]" * depth]))
    m = mount(root, allow_errors=True)
    err = errors_txt(m, "nest")
    assert "nest-volumeinfo.json.gz: output larger than" in err, err
    with pytest.raises(OSError):
        (m / "backups" / "nest" / "meta" / "volumeinfo.yaml").read_bytes()
    assert peak_kb(m) < 700 * 1024, peak_kb(m)
    good_serves(m)
