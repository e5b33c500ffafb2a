"""Volume data (issue 15): kopia repositories in the formats beyond what Velero v1.17.2 writes.

1. Older Velero releases: tests/servers/go/pvbwriter-<version> is the pvbwriter of
   test_volumes.py at Velero v1.12.3 (Velero's kopia fork v0.13.0) and v1.10.3 (upstream kopia
   v0.10.7, what v1.10 and v1.11 pin), built by `tests/servers/build.sh pvbwriter-old`; it backs
   up test_volumes.py's source into MinIO as those releases' node-agent did, and every file must
   read back byte for byte. Skipped (with the reason) when that pvbwriter is not built.
2. tests/data/kopia-formats/: small repositories written by kopia's own CLI
   (tests/fixtures/regen-kopia-formats.py): BLAKE3 content hashes with s2 compression and
   REED-SOLOMON-CRC32 error correction (damaged shards rebuilt) and format version 1 (index v1)
   are read. An unknown format version is refused with one clear error (test_kopia.c).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import pathlib
import os
import shutil
import subprocess

import pytest

from servers import harness
from test_volumes import (BACKUP, BACKUP_UID, FIXTURE, NS, VOL_BUCKET, POD, POD_UID, VOLUME, compare,
                          describe_of, expected, make_source, s3_env, volume_data_entry, walk)

DATA = pathlib.Path(__file__).parent / "data" / "kopia-formats"


@pytest.fixture(scope="module", params=harness.PVBWRITER_OLD_VERSIONS)
def old_volume(request, tmp_path_factory):
    """pvbwriter at an older Velero release: the source backed up into <prefix>/kopia/shop/ of
    MinIO's bucket `velero` (a prefix of its own: the session's MinIO is shared)."""
    v = request.param
    try:
        pvbwriter = harness.binary("pvbwriter", v)
    except harness.ServerError as e:
        pytest.skip(f"pvbwriter at Velero {v} is not built ({e})")
    minio = request.getfixturevalue("minio")
    minio.make_bucket(VOL_BUCKET)
    base = tmp_path_factory.mktemp(f"old-{v}")
    src = base / "src"
    make_source(src)
    prefix = f"velero-{v}"
    pvb = base / f"{BACKUP}-podvolumebackups.json.gz"
    r = subprocess.run([str(pvbwriter), "-endpoint", minio.url, "-bucket", VOL_BUCKET, "-prefix", prefix,
                        "-region", minio.region, "-access-key", minio.access_key,
                        "-secret-key", minio.secret_key, "-backup", BACKUP,
                        "-backup-uid", BACKUP_UID, "-namespace", NS, "-pod", POD,
                        "-pod-uid", POD_UID, "-volume", VOLUME, "-source", str(src),
                        "-pvb-out", str(pvb), "-workdir", str(base / "kopia-work")],
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr
    local = base / "vault"
    for key in minio.list_keys(VOL_BUCKET, f"{prefix}/kopia/{NS}/"):
        dst = local / key[len(prefix) + 1:]
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(minio.get(VOL_BUCKET, key))
    return {"version": v, "src": src, "snap": r.stdout.strip(), "pvb": pvb, "local": local,
            "minio": minio, "prefix": prefix}


def kopia_format(repo_blob: pathlib.Path, password: str = "static-passw0rd") -> dict:
    """The decrypted format section of a kopia.repository blob (kopia's repo/format: scrypt of
    the password over uniqueID, HKDF "AES"/"CHECKSUM", AES-256-GCM), to check what a writer made."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    j = json.loads(repo_blob.read_bytes())
    uid = base64.b64decode(j["uniqueID"] + "==")
    mk = hashlib.scrypt(password.encode(), salt=uid, n=65536, r=8, p=1, maxmem=1 << 28, dklen=32)

    def key(info: bytes) -> bytes:
        return HKDF(hashes.SHA256(), 32, uid, info).derive(mk)

    enc = base64.b64decode(j["encryptedBlockFormat"] + "==")
    return json.loads(AESGCM(key(b"AES")).decrypt(enc[:12], enc[12:], key(b"CHECKSUM")))["format"]


# the format each Velero release's kopia writes: v0.10.7 defaults to 2, the v0.13 fork to 3
FORMAT_VERSION = {"v1.10.3": 2, "v1.12.3": 3}


def test_old_format_version(old_volume):
    f = kopia_format(old_volume["local"] / "kopia" / NS / "kopia.repository")
    assert f["version"] == FORMAT_VERSION.get(old_volume["version"], f["version"]), f["version"]
    assert f["indexVersion"] == 2 and f["hash"] == "BLAKE2B-256-128" and not f.get("ecc")


def test_old_pvb_written_like_velero(old_volume):
    p = json.loads(gzip.decompress(old_volume["pvb"].read_bytes()))[0]
    assert p["kind"] == "PodVolumeBackup" and p["spec"]["uploaderType"] == "kopia"
    assert p["status"]["snapshotID"] == old_volume["snap"]
    keys = {k.split("/")[-1] for k in old_volume["minio"].list_keys(VOL_BUCKET, f"{old_volume['prefix']}/kopia/{NS}/")}
    assert "kopia.repository" in keys and any(k.startswith("xn") for k in keys)


# kopia v0.10 (Velero v1.10, v1.11) stored only the permission bits of a mode: setuid, setgid and
# sticky were lost at backup time (its snapshotfs: md.Mode() & os.ModePerm; kopia v0.11 keeps them)
DROPS_SPECIAL_BITS = {"v1.10.3"}


@pytest.mark.parametrize("where", ["s3", "local"])
def test_old_every_file_equals_the_source(old_volume, where):
    want = expected(old_volume["src"])
    if old_volume["version"] in DROPS_SPECIAL_BITS:
        for w in want.values():
            w["mode"] &= ~0o7000
    if where == "s3":
        m = old_volume["minio"]
        url = f"s3://{VOL_BUCKET}/{old_volume['prefix']}?endpoint={m.url}&style=path&region={m.region}"
        _, got = walk(url, f"kopia/{NS}/", old_volume["snap"], env=s3_env(m))
    else:
        _, got = walk(str(old_volume["local"]), f"kopia/{NS}/", old_volume["snap"])
    compare(got, want)
    assert len(got) > 3000


def test_old_mount_shows_volume_data(old_volume, mount, tmp_path):
    """Mounted: the volume of the older release's backup is browsable (describe.txt says so) and
    its files equal the source."""
    v = tmp_path / "vault"
    shutil.copytree(FIXTURE, v / "backups" / BACKUP)
    shutil.copy(old_volume["pvb"], v / "backups" / BACKUP / f"{BACKUP}-podvolumebackups.json.gz")
    shutil.copytree(old_volume["local"] / "kopia", v / "kopia")
    m = mount(str(v))
    assert volume_data_entry(describe_of(m))[-1] == f"Browsable: yes, under volumes/{NS}/{POD}/{VOLUME}/"
    got = expected(pathlib.Path(os.fspath(m)) / "backups" / BACKUP / "volumes" / NS / POD / VOLUME)
    want = expected(old_volume["src"])
    assert sorted(got) == sorted(want)
    for path, w in want.items():
        mode = w["mode"] & ~0o7000 if old_volume["version"] in DROPS_SPECIAL_BITS else w["mode"]
        assert got[path]["mode"] == mode, path
        for k in ("size", "sha256", "target", "mtime_ns", "uid", "gid"):
            assert got[path].get(k) == w.get(k), (path, k)


# --- repositories kopia's CLI wrote (tests/data/kopia-formats) ---------------------------------

def fixture(case: str) -> dict:
    return json.loads((DATA / case / "fixture.json").read_text())


def vault_of(case: str, tmp_path: pathlib.Path) -> pathlib.Path:
    v = tmp_path / "vault"
    shutil.copytree(DATA / case / "repo", v / "kopia" / NS)
    return v


@pytest.mark.parametrize("case", ["blake3-s2", "blake3-128-s2"])
def test_blake3_s2_every_file_equals_the_source(case, tmp_path):
    fx = fixture(case)
    assert fx["compression"].startswith("s2-")
    assert kopia_format(DATA / case / "repo" / "kopia.repository")["hash"].startswith("BLAKE3-256")
    _, got = walk(str(vault_of(case, tmp_path)), f"kopia/{NS}/", fx["snapshot"])
    compare(got, json.loads((DATA / case / "expected.json").read_text()))


def test_blake3_corrupt_content_fails(tmp_path):
    """A content whose bytes do not hash to its id (BLAKE3 checked) fails only its file: the
    biggest pack is the data of text.txt/random.bin; one byte of it is changed."""
    fx = fixture("blake3-s2")
    v = vault_of("blake3-s2", tmp_path)
    packs = sorted((p for p in (v / "kopia" / NS).iterdir() if p.name.startswith("p")),
                   key=lambda p: p.stat().st_size)
    b = bytearray(packs[-1].read_bytes())
    b[len(b) // 2] ^= 1
    packs[-1].write_bytes(bytes(b))
    _, got = walk(str(v), f"kopia/{NS}/", fx["snapshot"])
    bad = [g for g in got if "error" in g]
    assert bad and all(g["errno"] == 5 for g in bad), got
    assert len(bad) < len(got)


@pytest.mark.parametrize("case,overhead", [("ecc", 10), ("ecc-1", 1)])
def test_ecc_every_file_equals_the_source(case, overhead, tmp_path):
    f = kopia_format(DATA / case / "repo" / "kopia.repository")
    assert f["ecc"] == "REED-SOLOMON-CRC32" and f["eccOverheadPercent"] == overhead
    _, got = walk(str(vault_of(case, tmp_path)), f"kopia/{NS}/", fixture(case)["snapshot"])
    compare(got, json.loads((DATA / case / "expected.json").read_text()))


def ecc_pack(case: str, tmp_path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    v = vault_of(case, tmp_path)
    packs = sorted((p for p in (v / "kopia" / NS).iterdir() if p.name.startswith("p")),
                   key=lambda p: p.stat().st_size)
    return v, packs[-1]


def test_ecc_damaged_shards_are_rebuilt(tmp_path):
    """One damaged byte every 8976 bytes (one ECC block of 128 data + 4 parity shards of 64 bytes
    at 10%) in the first half of the data pack (contents; the pack's own index is at its end):
    every damaged shard is rebuilt from the parity (Reed-Solomon) and every file reads right."""
    v, pack = ecc_pack("ecc", tmp_path)
    b = bytearray(pack.read_bytes())
    for at in range(1000, len(b) // 2, 8976):
        b[at] ^= 0x40
    pack.write_bytes(bytes(b))
    _, got = walk(str(v), f"kopia/{NS}/", fixture("ecc")["snapshot"])
    compare(got, json.loads((DATA / "ecc" / "expected.json").read_text()))


def test_ecc_too_damaged_fails_only_its_files(tmp_path):
    """More damaged shards in a block than it has parity shards: those contents fail (EIO,
    "corrupt"), the other entries still read."""
    v, pack = ecc_pack("ecc", tmp_path)
    b = bytearray(pack.read_bytes())
    for at in range(10, len(b), 61):
        b[at] ^= 0x40
    pack.write_bytes(bytes(b))
    want = json.loads((DATA / "ecc" / "expected.json").read_text())
    _, got = walk(str(v), f"kopia/{NS}/", fixture("ecc")["snapshot"])
    bad = [g for g in got if "error" in g]
    assert bad and all(g["errno"] == 5 and "corrupt" in g["error"] for g in bad), got
    good = {g["path"] for g in got} - {g["path"] for g in bad}
    assert good
    compare([g for g in got if g["path"] in good], {p: w for p, w in want.items() if p in good})


def test_format_v1_every_file_equals_the_source(tmp_path):
    """Format version 1 (kopia before v0.9; no Velero release wrote one): index v1 in legacy
    n blobs, no epoch manager."""
    f = kopia_format(DATA / "format-v1" / "repo" / "kopia.repository")
    assert f["version"] == 1 and f["indexVersion"] == 1
    assert any(p.name.startswith("n") for p in (DATA / "format-v1" / "repo").iterdir())
    _, got = walk(str(vault_of("format-v1", tmp_path)), f"kopia/{NS}/", fixture("format-v1")["snapshot"])
    compare(got, json.loads((DATA / "format-v1" / "expected.json").read_text()))
