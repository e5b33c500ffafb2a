"""Volume data (issue 15): kopia repositories that Velero's own code wrote, read through repo/.

tests/servers/go/pvbwriter (Velero v1.17.2's udmrepo service and kopia uploader) backs up a
directory into kopia/<ns>/ of the MinIO bucket exactly as the node-agent does and writes the
matching PodVolumeBackup into <backup>-podvolumebackups.json.gz. The build's kopia_walk tool
(repo/ without a mount) then lists every entry and reads every file back; everything must equal
the source byte for byte with the same metadata. Bad input (wrong password, a missing or corrupt
pack, a truncated index) gives one clear error, and only the files that need the broken blob fail.

VELEROFS_TEST_BIG=1 adds a 1 GiB file (and a 1 GiB sparse one) to the source; off by default.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pathlib
import shutil
import stat
import subprocess

import pytest

from servers import harness
from test_remote import upload_s3, use_env  # noqa: F401 (a fixture)

BIG = os.environ.get("VELEROFS_TEST_BIG") == "1"
NS, POD, VOLUME = "shop", "db-0", "data"
# the repositories pvbwriter writes go to a bucket of their own in the session's MinIO
# (test_remote mounts bucket `velero` whole and compares it with a local vault)
VOL_BUCKET = "velero-vol"
BACKUP, BACKUP_UID, POD_UID = "ns-shop", "f29e3c5c-5ae2-46e2-bb6e-19844a10dc32", "7d3c2a1e-0000-4000-8000-00000000db00"


def walk_tool() -> pathlib.Path:
    b = pathlib.Path(os.environ.get("VELEROFS_BUILD", pathlib.Path(__file__).parent.parent / "build"))
    t = b / "repo" / "kopia_walk"
    if not t.exists():
        pytest.fail(f"{t} not built")
    return t


def make_source(root: pathlib.Path) -> None:
    """What real volumes hold: a big file, a sparse one, thousands of small files, a deep tree,
    symlinks, hard links, odd names, empty files and directories, modes, owners and mtimes."""
    root.mkdir()
    rnd = hashlib.sha256(b"velerofs").digest()
    chunk = b"".join(hashlib.sha256(rnd + bytes([i])).digest() for i in range(256)) * 32  # 256 KiB
    with open(root / "big.bin", "wb") as f:
        for i in range(96 if not BIG else 4096):  # 24 MiB (1 GiB when asked)
            f.write(bytes([i % 251]) + chunk[1:])
    with open(root / "sparse.img", "wb") as f:
        f.truncate((1 << 30) if BIG else (40 << 20))
        f.seek(5 << 20)
        f.write(b"data in the middle of a hole" * 1000)
    many = root / "many"
    for d in range(30):
        (many / f"d{d:02}").mkdir(parents=True)
        for i in range(100):
            p = many / f"d{d:02}" / f"f{i:03}.txt"
            p.write_bytes((f"file {d}/{i}\n" * ((d * 100 + i) % 37)).encode())
    deep = root / "deep"
    p = deep
    for i in range(40):
        p = p / f"level{i}"
    p.mkdir(parents=True)
    (p / "bottom.txt").write_text("the bottom\n")
    (root / "links").mkdir()
    os.symlink("../big.bin", root / "links" / "rel")
    os.symlink("/etc/hostname", root / "links" / "abs")
    os.symlink("no/such/target", root / "links" / "dangling")
    os.symlink("../deep", root / "links" / "todir")
    (root / "hard").mkdir()
    (root / "hard" / "one").write_bytes(b"hard linked\n" * 100)
    os.link(root / "hard" / "one", root / "hard" / "two")
    odd = root / "odd"
    odd.mkdir()
    for name in ["with space", "héllo wörld ✓", "new\nline", "tab\there", "-dash", "..dots",
                 "back\\slash", "colon:name", "quote\"s", "x" * 255, "日本語のファイル"]:
        (odd / name).write_bytes(name.encode() * 3)
    (root / "empty.txt").write_bytes(b"")
    (root / "emptydir").mkdir()
    (root / "emptydir" / "nested-empty").mkdir()
    m = root / "modes"
    m.mkdir()
    for mode in (0o600, 0o644, 0o755, 0o444, 0o4755, 0o2755, 0o640):
        q = m / f"m{mode:o}"
        q.write_bytes(b"mode\n")
        os.chmod(q, mode)
    (m / "sticky").mkdir()
    os.chmod(m / "sticky", 0o1777)
    (m / "private").mkdir()
    os.chmod(m / "private", 0o700)
    if os.geteuid() == 0:
        os.chown(m / "m640", 1234, 5678)
        os.lchown(root / "links" / "rel", 4321, 8765)
    # mtimes with nanoseconds, old and new, set bottom-up so directories keep theirs
    t0 = 1_600_000_000_123_456_789
    paths = sorted((p for p in root.rglob("*")), key=lambda p: -len(p.parts))
    for i, p in enumerate(paths):
        t = t0 + i * 1_000_000_007
        os.utime(p, ns=(t, t), follow_symlinks=False)
    os.utime(root, ns=(t0 - 5, t0 - 5))


def expected(root: pathlib.Path) -> dict[str, dict]:
    out = {}
    for p in [root] + sorted(root.rglob("*")):
        st = os.lstat(p)
        rel = "" if p == root else str(p.relative_to(root))
        e = {"mode": st.st_mode, "mtime_ns": st.st_mtime_ns, "uid": st.st_uid, "gid": st.st_gid}
        if stat.S_ISREG(st.st_mode):
            e["size"] = st.st_size
            h = hashlib.sha256()
            with open(p, "rb") as f:
                while b := f.read(1 << 20):
                    h.update(b)
            e["sha256"] = h.hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            e["target"] = os.readlink(p)
            e["size"] = len(os.fsencode(e["target"]))
        out[rel] = e
    return out


def walk(repo_url: str, prefix: str, snap: str, *extra: str, env=None, check=True):
    r = subprocess.run([str(walk_tool()), repo_url, prefix, snap, *extra], capture_output=True,
                       text=True, env=env, timeout=900)
    if check and r.returncode != 0:
        raise AssertionError(f"kopia_walk failed ({r.returncode}): {r.stderr}")
    return r, [json.loads(line) for line in r.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def volume(minio, tmp_path_factory):
    """pvbwriter's backup of the source into kopia/shop/ of MinIO's bucket VOL_BUCKET (its
    own: the session's MinIO is shared and test_remote mounts bucket `velero` whole), the
    PodVolumeBackup list it wrote, and a copy of the repository in a local directory."""
    pvbwriter = harness.binary("pvbwriter")
    minio.make_bucket(VOL_BUCKET)
    base = tmp_path_factory.mktemp("volume")
    src = base / "src"
    make_source(src)
    pvb = base / f"{BACKUP}-podvolumebackups.json.gz"
    r = subprocess.run([str(pvbwriter), "-endpoint", minio.url, "-bucket", VOL_BUCKET,
                        "-region", minio.region, "-access-key", minio.access_key,
                        "-secret-key", minio.secret_key, "-backup", BACKUP,
                        "-backup-uid", BACKUP_UID, "-namespace", NS, "-pod", POD,
                        "-pod-uid", POD_UID, "-volume", VOLUME, "-source", str(src),
                        "-pvb-out", str(pvb), "-workdir", str(base / "kopia-work")],
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr
    snap = r.stdout.strip()
    local = base / "vault"
    for key in minio.list_keys(VOL_BUCKET, f"kopia/{NS}/"):
        dst = local / key
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(minio.get(VOL_BUCKET, key))
    return {"src": src, "snap": snap, "pvb": pvb, "local": local, "minio": minio}


def s3_env(minio):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AZURE_"))}
    e.update(AWS_ACCESS_KEY_ID=minio.access_key, AWS_SECRET_ACCESS_KEY=minio.secret_key,
             AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    return e


def s3_url(minio, bucket="velero"):
    return f"s3://{bucket}?endpoint={minio.url}&style=path&region={minio.region}"


def compare(got: list[dict], want: dict[str, dict]) -> None:
    by = {g["path"]: g for g in got}
    assert sorted(by) == sorted(want), (set(by) ^ set(want))
    for path, w in want.items():
        g = by[path]
        assert "error" not in g, (path, g)
        for k, v in w.items():
            assert g.get(k) == v, (path, k, g.get(k), v)


def test_pvb_written_like_velero(volume):
    pvbs = json.loads(gzip.decompress(volume["pvb"].read_bytes()))
    assert len(pvbs) == 1
    p = pvbs[0]
    assert p["kind"] == "PodVolumeBackup" and p["spec"]["uploaderType"] == "kopia"
    assert p["spec"]["pod"] == {"kind": "Pod", "namespace": NS, "name": POD, "uid": POD_UID}
    assert p["spec"]["volume"] == VOLUME and p["status"]["phase"] == "Completed"
    assert p["status"]["snapshotID"] == volume["snap"]
    assert p["metadata"]["labels"]["velero.io/backup-name"] == BACKUP
    keys = volume["minio"].list_keys(VOL_BUCKET, f"kopia/{NS}/")
    assert f"kopia/{NS}/kopia.repository" in keys
    assert any(k.startswith(f"kopia/{NS}/xn") for k in keys)
    assert any(k.startswith(f"kopia/{NS}/p") for k in keys)


@pytest.mark.parametrize("where", ["s3", "local"])
def test_every_file_equals_the_source(volume, where):
    want = expected(volume["src"])
    if where == "s3":
        _, got = walk(s3_url(volume["minio"], VOL_BUCKET), f"kopia/{NS}/", volume["snap"], env=s3_env(volume["minio"]))
    else:
        _, got = walk(str(volume["local"]), f"kopia/{NS}/", volume["snap"])
    compare(got, want)
    assert len(got) > 3000


def test_odd_read_sizes(volume):
    """Reads that straddle chunk boundaries (a prime piece size) give the same bytes."""
    want = expected(volume["src"])
    env = dict(os.environ, KOPIA_WALK_READ="1000003")
    _, got = walk(str(volume["local"]), f"kopia/{NS}/", volume["snap"], env=env)
    compare(got, want)


def test_wrong_password(volume, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("not-the-password\n")
    r, _ = walk(str(volume["local"]), f"kopia/{NS}/", volume["snap"], str(pw), check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("EACCES: wrong repository password"), r.stderr
    pw.write_text("static-passw0rd\n")  # Velero's default, given in a file
    walk(str(volume["local"]), f"kopia/{NS}/", volume["snap"], str(pw))


def test_unknown_snapshot(volume):
    r, _ = walk(str(volume["local"]), f"kopia/{NS}/", "0123456789abcdef0123456789abcdef", check=False)
    assert r.returncode == 1 and r.stderr.startswith("ENOENT: snapshot"), r.stderr
    r, _ = walk(str(volume["local"]), "kopia/nope/", volume["snap"], check=False)
    assert r.returncode == 1 and "no kopia repository at kopia/nope/" in r.stderr, r.stderr


def copy_repo(volume, tmp_path) -> pathlib.Path:
    dst = tmp_path / "vault"
    shutil.copytree(volume["local"], dst)
    return dst


def data_packs(repo: pathlib.Path) -> list[pathlib.Path]:
    return sorted((p for p in (repo / "kopia" / NS).iterdir() if p.name.startswith("p")),
                  key=lambda p: p.stat().st_size)


def only_some_fail(got, want, blob):
    bad = [g for g in got if "error" in g]
    assert bad, "no file failed"
    for g in bad:
        assert g["errno"] == 5 and blob in g["error"], g  # EIO naming the blob
    good = {g["path"] for g in got} - {g["path"] for g in bad}
    assert good
    compare([g for g in got if g["path"] in good], {p: w for p, w in want.items() if p in good})
    return bad


def test_missing_pack_fails_only_its_files(volume, tmp_path):
    repo = copy_repo(volume, tmp_path)
    victim = data_packs(repo)[-1]
    victim.unlink()
    _, got = walk(str(repo), f"kopia/{NS}/", volume["snap"])
    bad = only_some_fail(got, expected(volume["src"]), victim.name)
    assert all("missing" in g["error"] for g in bad)


def test_corrupt_pack_fails_only_its_files(volume, tmp_path):
    repo = copy_repo(volume, tmp_path)
    victim = data_packs(repo)[-1]
    b = bytearray(victim.read_bytes())
    for i in range(100, len(b), 4096):
        b[i] ^= 0x55
    victim.write_bytes(bytes(b))
    _, got = walk(str(repo), f"kopia/{NS}/", volume["snap"])
    bad = only_some_fail(got, expected(volume["src"]), victim.name)
    assert all("corrupt" in g["error"] for g in bad)


def test_truncated_index(volume, tmp_path):
    repo = copy_repo(volume, tmp_path)
    idx = sorted(p for p in (repo / "kopia" / NS).iterdir() if p.name.startswith("xn"))
    assert idx
    data = idx[0].read_bytes()
    idx[0].write_bytes(data[: len(data) // 2])
    r, _ = walk(str(repo), f"kopia/{NS}/", volume["snap"], check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("EIO: blob %s: corrupt" % idx[0].name), r.stderr


def test_blob_cache_serves_reads(volume, tmp_path):
    """What was read once is in the cache: with every pack gone from the vault, the same walk
    still reads every file from the cache."""
    repo = copy_repo(volume, tmp_path)
    env = dict(os.environ, KOPIA_WALK_CACHE=str(tmp_path / "cache"))
    want = expected(volume["src"])
    _, got = walk(str(repo), f"kopia/{NS}/", volume["snap"], env=env)
    compare(got, want)
    for p in data_packs(repo) + sorted((repo / "kopia" / NS).glob("q*")):
        p.unlink()
    _, got = walk(str(repo), f"kopia/{NS}/", volume["snap"], env=env)
    compare(got, want)


FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "velero-v1.17.2" / "backups" / BACKUP


@pytest.fixture(scope="module")
def vol_vault(volume, tmp_path_factory):
    """A local vault: the real ns-shop backup of the fixtures with pvbwriter's PodVolumeBackup list
    in place of its empty one, and the kopia repository pvbwriter wrote."""
    v = tmp_path_factory.mktemp("volvault")
    shutil.copytree(FIXTURE, v / "backups" / BACKUP)
    shutil.copy(volume["pvb"], v / "backups" / BACKUP / f"{BACKUP}-podvolumebackups.json.gz")
    shutil.copytree(volume["local"] / "kopia", v / "kopia")
    return v


def assert_same_tree(got: dict[str, dict], want: dict[str, dict]) -> None:
    """expected() of a directory in the mount against that of its source: the same paths, and for
    each its mode, owner, size, content, symlink target and mtime."""
    assert sorted(got) == sorted(want), set(got) ^ set(want)
    for path, w in want.items():
        g = got[path]
        for k in ("mode", "uid", "gid", "size", "sha256", "target", "mtime_ns"):
            assert g.get(k) == w.get(k), (path, k, g.get(k), w.get(k))


def tree_of(root: pathlib.Path) -> dict[str, dict]:
    """expected() over a directory in the mount."""
    return expected(root)


def test_mount_shows_volume_data(volume, vol_vault, mount):
    m = mount(str(vol_vault))
    b = pathlib.Path(os.fspath(m)) / "backups" / BACKUP
    assert "volumes" in os.listdir(b)
    assert os.listdir(b / "volumes") == [NS]
    assert os.listdir(b / "volumes" / NS) == [POD]
    assert os.listdir(b / "volumes" / NS / POD) == [VOLUME]
    assert_same_tree(tree_of(b / "volumes" / NS / POD / VOLUME), expected(volume["src"]))
    # cp is the restore: a file copied out equals the source
    out = pathlib.Path(os.fspath(m)).parent / "restored.bin"
    shutil.copyfile(b / "volumes" / NS / POD / VOLUME / "big.bin", out)
    assert out.read_bytes() == (volume["src"] / "big.bin").read_bytes()


def test_mount_wrong_repo_password(volume, vol_vault, mount, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("wrong\n")
    m = mount(str(vol_vault), args=("--repo-password-file", str(pw)), allow_errors=True)
    d = pathlib.Path(os.fspath(m)) / "backups" / BACKUP / "volumes" / NS / POD / VOLUME
    with pytest.raises(PermissionError):
        os.listdir(d)
    # the rest of the backup is unaffected
    assert "namespaces" in os.listdir(d.parents[3])


def describe_of(m) -> str:
    return (pathlib.Path(os.fspath(m)) / "backups" / BACKUP / "describe.txt").read_text()


def describe_entry(text: str, head: str, after: str | None = None) -> list[str]:
    """The lines of the describe.txt entry whose first line is head (the first one after the line
    after, when given), each with its white space folded."""
    lines = text.splitlines()
    i = lines.index(head, lines.index(after) if after else 0)
    out = []
    for line in lines[i + 1:]:
        if not line.startswith("      "):
            break
        out.append(" ".join(line.split()))
    return out


def volume_data_entry(text: str) -> list[str]:
    """The lines of describe.txt's Volume Data entry of the volume."""
    return describe_entry(text, f"    {NS}/{POD}/{VOLUME}:")


def test_describe_lists_volume_data(volume, vol_vault, mount):
    """describe.txt keeps Velero's Pod Volume Backups block and adds velerofs's Volume Data entry:
    uploader, snapshot id, size, phase, and that it is browsable."""
    m = mount(str(vol_vault))
    text = describe_of(m)
    assert f"Pod Volume Backups - kopia:\n    Completed:\n      {NS}/{POD}: {VOLUME}" in text
    pvb = json.loads(gzip.decompress(volume["pvb"].read_bytes()))[0]
    assert volume_data_entry(text) == [
        "Uploader: kopia", f"Snapshot ID: {volume['snap']}",
        f"Size (bytes): {pvb['status']['progress']['totalBytes']}", "Phase: Completed",
        f"Browsable: yes, under volumes/{NS}/{POD}/{VOLUME}/"]


def test_describe_wrong_password_then_right_one(volume, vol_vault, mount, tmp_path):
    """The verdict depends on the mount's password while describe.txt lives in the cached index:
    a remount on the same cache with the right password says browsable."""
    cache = tmp_path / "cache"
    pw = tmp_path / "pw"
    pw.write_text("wrong\n")
    m = mount(str(vol_vault), cache=cache, args=("--repo-password-file", str(pw)),
              allow_errors=True)
    entry = volume_data_entry(describe_of(m))
    assert entry[-1].startswith(f"Browsable: no: wrong repository password for kopia/{NS}/"), entry
    m.stop()
    pw.write_text("static-passw0rd\n")
    m = mount(str(vol_vault), cache=cache, args=("--repo-password-file", str(pw)),
              mnt=tmp_path / "mnt2")
    assert volume_data_entry(describe_of(m))[-1] == \
        f"Browsable: yes, under volumes/{NS}/{POD}/{VOLUME}/"
    m.stop()
    # and back: the wrong password's index is still in the cache, still right
    pw.write_text("wrong\n")
    m = mount(str(vol_vault), cache=cache, args=("--repo-password-file", str(pw)),
              allow_errors=True, mnt=tmp_path / "mnt3")
    assert "wrong repository password" in volume_data_entry(describe_of(m))[-1]


def test_describe_repository_missing(volume, tmp_path, mount):
    """A PodVolumeBackup whose repository is not in the vault: describe.txt says so."""
    v = tmp_path / "v"
    shutil.copytree(FIXTURE, v / "backups" / BACKUP)
    shutil.copy(volume["pvb"], v / "backups" / BACKUP / f"{BACKUP}-podvolumebackups.json.gz")
    m = mount(str(v))
    assert volume_data_entry(describe_of(m))[-1] == (
        f"Browsable: no: its repository kopia/{NS}/ is not in the vault "
        f"(no kopia/{NS}/kopia.repository)")


def test_describe_unknown_format(volume, tmp_path, mount):
    """A repository whose format blob names an encryption of the format velerofs does not know
    (the format version itself is inside the encrypted part: test_kopia's unit tests)."""
    v = tmp_path / "v"
    shutil.copytree(FIXTURE, v / "backups" / BACKUP)
    shutil.copy(volume["pvb"], v / "backups" / BACKUP / f"{BACKUP}-podvolumebackups.json.gz")
    shutil.copytree(volume["local"] / "kopia", v / "kopia")
    f = v / "kopia" / NS / "kopia.repository"
    j = json.loads(f.read_text())
    j["encryption"] = "AES512_FUTURE"
    f.write_text(json.dumps(j))
    m = mount(str(v), allow_errors=True)
    last = volume_data_entry(describe_of(m))[-1]
    assert last.startswith(f"Browsable: no: velerofs cannot open kopia/{NS}/: "), last
    assert "AES512_FUTURE" in last and "not known to velerofs" in last, last


def test_volume_without_repository_is_not_shown(volume, tmp_path, mount):
    """A PodVolumeBackup whose repository is not in the vault (a partial copy): no volumes/."""
    v = tmp_path / "v"
    shutil.copytree(FIXTURE, v / "backups" / BACKUP)
    shutil.copy(volume["pvb"], v / "backups" / BACKUP / f"{BACKUP}-podvolumebackups.json.gz")
    m = mount(str(v))
    b = pathlib.Path(os.fspath(m)) / "backups" / BACKUP
    assert "volumes" not in os.listdir(b)
    assert not (b / "volumes").exists()


def minio_of(vault: pathlib.Path, tmp_path, use_env):
    """A MinIO of the test's own (stopping it takes the vault down) with vault's files in bucket
    velero, its credentials in the environment; the caller stops it."""
    m = harness.Minio(workdir=tmp_path / "minio").start()
    try:
        upload_s3(m, "velero", "", vault)
        use_env(s3_env(m))
    except BaseException:
        m.stop()
        raise
    return m


def test_volume_data_offline(volume, vol_vault, mount, tmp_path, use_env):
    """What was read through the mount (files read, directories listed) stays readable with the
    vault down: the PodVolumeBackup list, the repository's format blob and the list of its index
    blobs are kept in the cache (the index blobs and pack ranges were already)."""
    m = minio_of(vol_vault, tmp_path, use_env)
    cache = tmp_path / "cache"
    try:
        first = mount(s3_url(m), cache=cache)
        vdir = pathlib.Path(os.fspath(first)) / "backups" / BACKUP / "volumes" / NS / POD / VOLUME
        big = (vdir / "big.bin").read_bytes()
        small = (vdir / "many" / "d03" / "f007.txt").read_bytes()
        listing = sorted(os.listdir(vdir / "many" / "d03"))
        top = sorted(os.listdir(vdir))
        describe = (vdir.parents[3] / "describe.txt").read_text()
        assert "Browsable: yes" in " ".join(describe.split())
        first.stop()
        m.stop()

        second = mount(s3_url(m), cache=cache, allow_errors=True, mnt=tmp_path / "mnt2")
        vdir = pathlib.Path(os.fspath(second)) / "backups" / BACKUP / "volumes" / NS / POD / VOLUME
        assert sorted(os.listdir(vdir)) == top
        assert sorted(os.listdir(vdir / "many" / "d03")) == listing
        assert (vdir / "many" / "d03" / "f007.txt").read_bytes() == small
        assert (vdir / "big.bin").read_bytes() == big
        assert big == (volume["src"] / "big.bin").read_bytes()
        assert (vdir.parents[3] / "describe.txt").read_text() == describe
    finally:
        m.stop()
