"""Volume data (issue 15) in restic repositories: restic/<ns>/ in the vault, what Velero's restic
uploader (Velero <= 1.14, PodVolumeBackups with uploaderType "restic" or empty) wrote.

tests/data/restic/repo is a repository real restic wrote (make-fixture.py there: the version and
how it ran are in fixture.json), with the entries of its source in expected.json. The build's
kopia_walk tool (repo/ without a mount; a "restic/" prefix opens restic) lists every entry and
reads every file back: everything must equal the source byte for byte with the same metadata.
Bad input (wrong password, a corrupt or missing pack, an unknown repository version) gives one
clear error, and only the files that need the broken blob fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pathlib
import shutil

import pytest

from test_volumes import walk
from test_remote import use_env  # noqa: F401 (a fixture)

DATA = pathlib.Path(__file__).parent / "data" / "restic"
FIX = json.loads((DATA / "fixture.json").read_text())
NS = FIX["namespace"]
PREFIX = f"restic/{NS}/"


@pytest.fixture
def vault(tmp_path) -> pathlib.Path:
    v = tmp_path / "vault"
    shutil.copytree(DATA / "repo", v / "restic" / NS)
    return v


def want() -> dict[str, dict]:
    return json.loads((DATA / "expected.json").read_text())


def compare(got: list[dict], want: dict[str, dict]) -> None:
    by = {g["path"]: g for g in got}
    assert sorted(by) == sorted(want), set(by) ^ set(want)
    for path, w in want.items():
        g = by[path]
        assert "error" not in g, (path, g)
        for k, v in w.items():
            if path == "" and k in ("mtime_ns", "mode", "uid", "gid"):
                continue  # restic keeps no node for the root of "backup ."
            if k == "sha256":
                assert g.get("read") == w["size"], (path, g)
            assert g.get(k) == v, (path, k, g.get(k), v)


@pytest.mark.parametrize("snap", ["short", "full"])
def test_every_file_equals_the_source(vault, snap):
    _, got = walk(str(vault), PREFIX, FIX["short_id" if snap == "short" else "snapshot"])
    compare(got, want())


def test_odd_read_sizes(vault):
    """Reads that straddle blob boundaries (a prime piece size) give the same bytes."""
    env = dict(os.environ, KOPIA_WALK_READ="100003")
    _, got = walk(str(vault), PREFIX, FIX["short_id"], env=env)
    compare(got, want())


def test_pvb_is_restic():
    p = json.loads((DATA / "podvolumebackups.json").read_text())[0]
    assert p["spec"]["uploaderType"] == "restic"
    assert p["spec"]["repoIdentifier"].endswith(f"/restic/{NS}")
    assert p["status"]["snapshotID"] == FIX["short_id"]


def test_wrong_password(vault, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("not-the-password\n")
    r, _ = walk(str(vault), PREFIX, FIX["short_id"], str(pw), check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("EACCES: ") and "wrong repository password" in r.stderr, r.stderr


def test_no_repository_and_unknown_snapshot(vault):
    r, _ = walk(str(vault), "restic/nope/", FIX["short_id"], check=False)
    assert r.returncode == 1 and r.stderr.startswith("ENOENT: "), r.stderr
    r, _ = walk(str(vault), PREFIX, "0123abcd", check=False)
    assert r.returncode == 1 and r.stderr.startswith("ENOENT: "), r.stderr


def data_packs(vault: pathlib.Path) -> list[pathlib.Path]:
    return sorted((vault / "restic" / NS / "data").rglob("*"), key=lambda p: p.stat().st_size)


def only_some_fail(got, pack: str, word: str) -> list[dict]:
    bad = [g for g in got if "error" in g]
    assert bad, "no file failed"
    for g in bad:
        assert g["errno"] == 5 and pack in g["error"] and word in g["error"], g
    w = want()
    good = {g["path"] for g in got} - {g["path"] for g in bad}
    compare([g for g in got if g["path"] in good], {p: v for p, v in w.items() if p in good})
    return bad


def test_corrupt_pack_fails_only_its_files(vault):
    victim = data_packs(vault)[-1]  # the biggest: file data
    b = bytearray(victim.read_bytes())
    b[100] ^= 0x55  # inside the first blob only
    victim.write_bytes(bytes(b))
    _, got = walk(str(vault), PREFIX, FIX["short_id"])
    bad = only_some_fail(got, victim.name, "corrupt")
    assert len(bad) < len([g for g in got if "sha256" in g or "error" in g])


def test_missing_pack_fails_only_its_files(vault):
    victim = data_packs(vault)[-1]
    victim.unlink()
    _, got = walk(str(vault), PREFIX, FIX["short_id"])
    only_some_fail(got, victim.name, "missing")


# --- restic's encryption, to write files the fixture does not have (doc/design.rst) ----------

def master_key(vault: pathlib.Path) -> tuple[bytes, bytes, bytes]:
    key = json.loads(next((vault / "restic" / NS / "keys").iterdir()).read_bytes())
    dk = hashlib.scrypt(FIX["password"].encode(), salt=base64.b64decode(key["salt"]), n=key["N"],
                        r=key["r"], p=key["p"], maxmem=1 << 30, dklen=64)
    mk = json.loads(open_(dk[:32], dk[32:48], dk[48:], base64.b64decode(key["data"])))
    return (base64.b64decode(mk["encrypt"]), base64.b64decode(mk["mac"]["k"]),
            base64.b64decode(mk["mac"]["r"]))


def _mac(k: bytes, r: bytes, iv: bytes, ct: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.poly1305 import Poly1305
    e = Cipher(algorithms.AES(k), modes.ECB()).encryptor()
    return Poly1305.generate_tag(r + e.update(iv) + e.finalize(), ct)


def open_(enc: bytes, k: bytes, r: bytes, data: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    iv, ct, tag = data[:16], data[16:-16], data[-16:]
    assert _mac(k, r, iv, ct) == tag
    d = Cipher(algorithms.AES(enc), modes.CTR(iv)).decryptor()
    return d.update(ct) + d.finalize()


def seal(enc: bytes, k: bytes, r: bytes, plain: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    iv = os.urandom(16)
    c = Cipher(algorithms.AES(enc), modes.CTR(iv)).encryptor()
    ct = c.update(plain) + c.finalize()
    return iv + ct + _mac(k, r, iv, ct)


def test_unknown_repository_version(vault):
    mk = master_key(vault)
    cfg = vault / "restic" / NS / "config"
    c = json.loads(open_(*mk, cfg.read_bytes()))
    assert c["version"] == 2
    c["version"] = 3
    cfg.write_bytes(seal(*mk, json.dumps(c).encode()))
    r, _ = walk(str(vault), PREFIX, FIX["short_id"], check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("EPROTONOSUPPORT: ") and "repository version 3" in r.stderr, r.stderr


def test_repository_version_1_config(vault):
    """A config of repository version 1 (restic < 0.14, no compression) opens."""
    mk = master_key(vault)
    cfg = vault / "restic" / NS / "config"
    c = json.loads(open_(*mk, cfg.read_bytes()))
    c["version"] = 1
    cfg.write_bytes(seal(*mk, json.dumps(c).encode()))
    _, got = walk(str(vault), PREFIX, FIX["short_id"])
    compare(got, want())


def test_corrupt_index_is_a_clear_error(vault):
    idx = next((vault / "restic" / NS / "index").iterdir())
    b = bytearray(idx.read_bytes())
    b[40] ^= 1
    idx.write_bytes(bytes(b))
    r, _ = walk(str(vault), PREFIX, FIX["short_id"], check=False)
    assert r.returncode == 1 and r.stderr.startswith("EIO: ") and idx.name in r.stderr, r.stderr


# --- through the mount ------------------------------------------------------------------------

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "velero-v1.12.3" / "backups" / "ns-shop"


@pytest.fixture
def vol_vault(vault):
    """The real ns-shop backup of the Velero v1.12.3 fixtures with the restic PodVolumeBackup (its
    uploaderType removed in a second one: Velero before 1.10 wrote none) in place of its list."""
    import gzip
    shutil.copytree(FIXTURE, vault / "backups" / "ns-shop")
    p = json.loads((DATA / "podvolumebackups.json").read_text())[0]
    p["metadata"]["labels"]["velero.io/backup-name"] = "ns-shop"
    q = json.loads(json.dumps(p))
    del q["spec"]["uploaderType"]
    q["spec"]["volume"] = "old"
    (vault / "backups" / "ns-shop" / "ns-shop-podvolumebackups.json.gz").write_bytes(
        gzip.compress(json.dumps([p, q]).encode()))
    return vault


def test_mount_shows_restic_volume(vol_vault, mount):
    from test_volumes import expected
    m = mount(str(vol_vault))
    b = pathlib.Path(os.fspath(m)) / "backups" / "ns-shop" / "volumes"
    pod = b / NS / "app-0"
    assert sorted(os.listdir(pod)) == ["data", "old"]
    for vol in ("data", "old"):
        got = expected(pod / vol)
        w = want()
        assert sorted(got) == sorted(w)
        for path, e in w.items():
            if path == "":
                continue
            for k in ("mode", "uid", "gid", "size", "sha256", "target", "mtime_ns"):
                assert got[path].get(k) == e.get(k), (vol, path, k)


def test_mount_hard_links_are_one_inode(vol_vault, mount):
    """restic records hard links (node links, inode, device_id): the names of one file are one
    inode through the mount with the source's link count, as `restic restore` makes one file of
    them, whichever directory is looked at first; other files are inodes of their own."""
    m = mount(str(vol_vault))
    vol = pathlib.Path(os.fspath(m)) / "backups" / "ns-shop" / "volumes" / NS / "app-0" / "data"
    w = want()
    names = sorted(p for p, e in w.items() if e.get("nlink", 1) > 1)
    assert names == ["hard/one", "hard/two", "sub/third"], names
    sts = {n: os.stat(vol / n) for n in ["sub/third", "hard/two", "hard/one"]}  # sub/ first
    assert len({st.st_ino for st in sts.values()}) == 1, sts
    for n, st in sts.items():
        assert st.st_nlink == w[n]["nlink"] == 3, (n, st)
        assert (vol / n).read_bytes() == (vol / "hard/one").read_bytes()
    ino = sts["hard/one"].st_ino
    assert {e.name: e.inode() for e in os.scandir(vol / "hard")} == {"one": ino, "two": ino}
    assert next(e.inode() for e in os.scandir(vol / "sub") if e.name == "third") == ino
    others = {os.stat(vol / n).st_ino for n in ("big.bin", "text.txt", "sub/small00.txt")}
    assert ino not in others and len(others) == 3
    assert os.stat(vol / "big.bin").st_nlink == 1
    # cp -a out of the mount keeps them one file
    import subprocess
    out = pathlib.Path(os.fspath(m)).parent / "copied"
    subprocess.run(["cp", "-a", str(vol / "hard"), str(out)], check=True)
    assert os.stat(out / "one").st_ino == os.stat(out / "two").st_ino
    assert os.stat(out / "one").st_nlink == 2
    # the other volume of the same snapshot: its own inode for the same file
    old = vol.parent / "old"
    assert os.stat(old / "hard" / "two").st_ino == os.stat(old / "sub" / "third").st_ino != ino


def test_mount_wrong_password_restic(vol_vault, mount, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("wrong\n")
    m = mount(str(vol_vault), args=("--repo-password-file", str(pw)), allow_errors=True)
    d = pathlib.Path(os.fspath(m)) / "backups" / "ns-shop" / "volumes" / NS / "app-0" / "data"
    with pytest.raises(PermissionError):
        os.listdir(d)


def test_describe_restic_volumes(vol_vault, mount, tmp_path):
    """describe.txt's Volume Data: both restic volumes browsable with the default password; a wrong
    one says so for restic/<ns>/."""
    m = mount(str(vol_vault))
    text = " ".join((pathlib.Path(os.fspath(m)) / "backups" / "ns-shop" / "describe.txt").read_text().split())
    for vol in ("data", "old"):
        assert f"Browsable: yes, under volumes/{NS}/app-0/{vol}/" in text, text
    m.stop()
    pw = tmp_path / "pw"
    pw.write_text("wrong\n")
    m = mount(str(vol_vault), args=("--repo-password-file", str(pw)), allow_errors=True,
              cache=tmp_path / "cache2", mnt=tmp_path / "mnt2")
    text = " ".join((pathlib.Path(os.fspath(m)) / "backups" / "ns-shop" / "describe.txt").read_text().split())
    assert f"Browsable: no: wrong repository password for restic/{NS}/" in text, text


def test_a_bad_key_file_does_not_stop_the_good_one(vault):
    (vault / "restic" / NS / "keys" / ("0" * 64)).write_text('{"kdf":"argon2"}')
    (vault / "restic" / NS / "keys" / ("f" * 64)).write_text("not json")
    _, got = walk(str(vault), PREFIX, FIX["short_id"])
    compare(got, want())


def test_restic_volume_offline(vol_vault, mount, tmp_path, use_env):
    """As test_volumes.test_volume_data_offline for kopia: what was read through the mount (files
    read, directories listed) stays readable with the vault down (the listings of keys/, index/
    and snapshots/ and the config are kept in the cache beside the blobs); a file never read
    fails at once with EIO, it does not hang."""
    import time
    from test_volumes import minio_of, s3_url
    m = minio_of(vol_vault, tmp_path, use_env)
    cache = tmp_path / "cache"
    try:
        first = mount(s3_url(m), cache=cache)
        vdir = pathlib.Path(os.fspath(first)) / "backups" / "ns-shop" / "volumes" / NS / "app-0" / "data"
        top = sorted(os.listdir(vdir))
        sub = sorted(os.listdir(vdir / "sub"))
        big = (vdir / "big.bin").read_bytes()
        small = (vdir / "sub" / "small03.txt").read_bytes()
        describe = (vdir.parents[3] / "describe.txt").read_text()
        assert "Browsable: yes" in " ".join(describe.split())
        first.stop()
        m.stop()

        second = mount(s3_url(m), cache=cache, allow_errors=True, mnt=tmp_path / "mnt2")
        vdir = pathlib.Path(os.fspath(second)) / "backups" / "ns-shop" / "volumes" / NS / "app-0" / "data"
        assert sorted(os.listdir(vdir)) == top
        assert sorted(os.listdir(vdir / "sub")) == sub
        assert (vdir / "sub" / "small03.txt").read_bytes() == small
        assert (vdir / "big.bin").read_bytes() == big
        assert hashlib.sha256(big).hexdigest() == want()["big.bin"]["sha256"]
        assert (vdir.parents[3] / "describe.txt").read_text() == describe
        # never read: its blob is in no cache; the vault is down
        t0 = time.monotonic()
        with pytest.raises(OSError) as ei:
            (vdir / "text.txt").read_bytes()
        assert ei.value.errno == 5, ei.value
        assert time.monotonic() - t0 < 60
    finally:
        m.stop()
