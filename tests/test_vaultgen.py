"""Tests for tests/vaultgen.py: the generator must write what Velero writes.

Checks the output against the format notes (shared/research/velero-format.md),
the real samples in shared/velero-samples/, and, when a Go toolchain is on
PATH, byte-for-byte against Go's own archive/tar, encoding/json and
compress/gzip.

    pytest tests/test_vaultgen.py
"""

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zlib

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vaultgen as vg  # noqa: E402

REPO = os.path.dirname(HERE)
SAMPLES = os.environ.get("VELERO_SAMPLES",
                         os.path.join(os.path.dirname(REPO), "shared", "velero-samples"))
AKS = os.path.join(SAMPLES, "text", "aks-backup-extension")
SOS = os.path.join(SAMPLES, "text", "scaleoutsean__scaleoutsean.github.io")

need_samples = pytest.mark.skipif(not os.path.isdir(AKS), reason="shared/velero-samples not present")


# ---------------------------------------------------------------- helpers

def read_tar_members(tarball: bytes):
    """[(TarInfo, bytes)] using Python's tarfile (an independent reader)."""
    out = []
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tf:
        for m in tf:
            out.append((m, tf.extractfile(m).read()))
    return out


def raw_headers(tar: bytes):
    """Walk a tar's raw 512-byte headers: [(offset, header bytes)]."""
    out, off = [], 0
    while off + 512 <= len(tar):
        h = tar[off:off + 512]
        if h == b"\0" * 512:
            break
        size = int(h[124:136].rstrip(b"\0 ") or b"0", 8)
        out.append((off, h))
        off += 512 + (size + 511) // 512 * 512
    return out, off


def go_compact_expected(value) -> bytes:
    """Independent re-encoding: Python's json with Go's escapes applied."""
    s = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    s = s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    s = s.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return s.encode()


def assert_sorted_keys(data: bytes):
    def hook(pairs):
        keys = [k for k, _ in pairs]
        assert keys == sorted(keys), keys
        return dict(pairs)
    json.loads(data, object_pairs_hook=hook)


def gzip_t(path) -> int:
    if shutil.which("gzip") is None:
        pytest.skip("gzip not installed")
    return subprocess.run(["gzip", "-t", path], capture_output=True).returncode


@pytest.fixture(scope="module")
def cluster():
    return vg.believable_cluster(seed=3, variant=0)


@pytest.fixture(scope="module")
def backup(tmp_path_factory, cluster):
    root = tmp_path_factory.mktemp("vault")
    r = vg.write_backup(root, "b1", cluster, schedule="daily", started="2026-11-18T02:00:00Z")
    return root, r


def tarball_of(r, name="b1"):
    with open(os.path.join(r["dir"], name + ".tar.gz"), "rb") as f:
        return f.read()


# ---------------------------------------------------------------- the tarball

def test_python_tarfile_reads_every_member(backup, cluster):
    _, r = backup
    members = read_tar_members(tarball_of(r))
    assert [m.name for m, _ in members] == r["members"]
    assert members[0][0].name == "metadata/version" and members[0][1] == b"1.1.0\n"
    for m, data in members:
        assert m.isreg() and m.size == len(data)
    # one legacy + one preferred copy per object
    assert len(members) == 1 + 2 * len(cluster)


def test_members_come_in_identical_pairs(backup):
    _, r = backup
    members = read_tar_members(tarball_of(r))
    by_name = {m.name: d for m, d in members}
    legacy = [n for n in by_name if n.startswith("resources/") and "-preferredversion/" not in n]
    pref = [n for n in by_name if "-preferredversion/" in n]
    assert len(legacy) == len(pref)
    for n in legacy:
        parts = n.split("/")
        obj = json.loads(by_name[n])
        ver = obj["apiVersion"].split("/")[-1]
        twin = "/".join(parts[:2] + [ver + "-preferredversion"] + parts[2:])
        assert by_name[twin] == by_name[n], n
        # legacy copy immediately followed by its preferred twin (Velero HEAD order)
        names = [m.name for m, _ in members]
        assert names[names.index(n) + 1] == twin
        # scope directory matches metadata.namespace
        ns = obj["metadata"].get("namespace")
        assert (parts[2] == "namespaces" and parts[3] == ns) if ns else parts[2] == "cluster"
        assert parts[-1] == obj["metadata"]["name"] + ".json"


def test_item_json_is_go_compact_sorted(backup):
    _, r = backup
    seen_escape = seen_2028 = False
    for m, data in read_tar_members(tarball_of(r)):
        if not m.name.startswith("resources/"):
            continue
        v = json.loads(data)
        assert not data.endswith(b"\n")
        assert data == go_compact_expected(v), m.name
        assert_sorted_keys(data)
        assert b"<" not in data and b">" not in data and b"&" not in data
        seen_escape |= b"\\u003c" in data and b"\\u0026" in data
        seen_2028 |= b"\\u2028" in data
    assert seen_escape and seen_2028


def test_group_resource_names(cluster):
    grs = {vg.group_resource(o, vg._crd_plurals(cluster)) for o in cluster}
    for gr in ("deployments.apps", "configmaps", "clusterroles.rbac.authorization.k8s.io",
               "customresourcedefinitions.apiextensions.k8s.io", "widgets.example.com",
               "namespaces", "persistentvolumes", "storageclasses.storage.k8s.io",
               "cronjobs.batch", "statefulsets.apps", "rolebindings.rbac.authorization.k8s.io"):
        assert gr in grs
    assert vg.group_resource({"apiVersion": "example.com/v1", "kind": "Gizmo"},
                             {"Gizmo": "gizmoz"}) == "gizmoz.example.com"
    assert vg.group_resource({"apiVersion": "v1", "kind": "Policy"}) == "policies"


def test_tar_header_fields_like_go(backup):
    _, r = backup
    tar = r["tar"]
    hdrs, end = raw_headers(tar)
    for _, h in hdrs:
        if h[156:157] == b"x":
            assert h[100:108] == b"0000000\0"  # PAX header: mode 0, mtime 0
            assert h[136:148] == b"00000000000\0"
            continue
        assert h[156:157] == b"0"
        assert h[100:108] == b"0000755\0"
        assert h[108:116] == b"0000000\0" and h[116:124] == b"0000000\0"
        assert h[257:265] == b"ustar\x0000"
        assert h[265:297] == b"\0" * 32 and h[297:329] == b"\0" * 32
        assert h[329:345] == b"0000000\0" * 2
        mtime = int(h[136:147], 8)
        assert mtime == vg._epoch("2026-11-18T02:00:01Z")
        stored = int(h[148:154], 8)
        assert h[154:156] == b"\0 "
        assert stored == sum(h[:148]) + 8 * 32 + sum(h[156:])
    # exactly two zero blocks, no record padding to 10240
    assert tar[end:] == b"\0" * 1024 and len(tar) == end + 1024


def test_long_paths_ustar_prefix_or_pax(backup):
    _, r = backup
    tar = r["tar"]
    hdrs, _ = raw_headers(tar)
    names = r["members"]
    splittable = [n for n in names if len(n) > 100 and vg.split_ustar_path(n)]
    unsplittable = [n for n in names if len(n) > 100 and not vg.split_ustar_path(n)]
    assert splittable and unsplittable  # the believable cluster has both kinds
    pax_names, prefixed = [], []
    for i, (off, h) in enumerate(hdrs):
        if h[156:157] == b"x":
            size = int(h[124:136].rstrip(b"\0"), 8)
            rec = tar[off + 512:off + 512 + size].decode()
            length, kv = rec.split(" ", 1)
            assert int(length) == len(rec.encode()) and kv.startswith("path=") and kv.endswith("\n")
            path = kv[5:-1]
            d, f = path.rsplit("/", 1)
            assert h[:100].rstrip(b"\0").decode() == (d + "/PaxHeaders.0/" + f)[:100]
            nxt = hdrs[i + 1][1]
            assert nxt[:100] == path.encode()[:100]  # main header: name cut to 100
            assert nxt[345:500] == b"\0" * 155
            pax_names.append(path)
        elif h[345] != 0:
            prefix = h[345:500].rstrip(b"\0").decode()
            name = h[:100].rstrip(b"\0").decode()
            prefixed.append(prefix + "/" + name)
    assert sorted(pax_names) == sorted(unsplittable)
    assert sorted(prefixed) == sorted(splittable)
    # Go's split: longest prefix that fits 155
    for n in splittable:
        p, s = vg.split_ustar_path(n)
        assert len(p) <= 155 and len(s) <= 100 and p + "/" + s == n


def test_split_ustar_path_rules():
    assert vg.split_ustar_path("a" * 100) is None           # fits as is
    assert vg.split_ustar_path("d/" + "b" * 101) is None     # last element too long
    assert vg.split_ustar_path("d" * 156 + "/x") is None     # prefix too long
    n = "resources/customresourcedefinitions.apiextensions.k8s.io/v1-preferredversion/cluster/widgets.example.com.json"
    assert vg.split_ustar_path(n) == (n.rsplit("/", 1)[0], "widgets.example.com.json")
    assert vg.split_ustar_path("ü/" + "x" * 120) is None     # non-ASCII: PAX
    assert vg.split_ustar_path("p" * 155 + "/" + "s" * 10) == ("p" * 155, "s" * 10)  # prefix of exactly 155
    assert vg.split_ustar_path("p" * 156 + "/" + "s" * 10) is None
    p, s = vg.split_ustar_path_gnu("a/" + "b/" * 60 + "c")
    assert len(s) <= 100 and len(p) < len(vg.split_ustar_path("a/" + "b/" * 60 + "c")[0])


@pytest.mark.parametrize("fmt", vg.TAR_FORMATS)
def test_tar_formats_read_back(tmp_path, fmt, cluster):
    extra = [("resources/configmaps/namespaces/shop/" + "ü" * 10 + ".json", b"{}"),
             ("resources/x/" + "y/" * 70 + "z.json", b"{}")]
    r = vg.write_backup(tmp_path, "f", cluster[:8] + [o for o in cluster if len(o["metadata"]["name"]) == 253],
                        tar_format=fmt, extra_members=extra)
    members = read_tar_members(tarball_of(r, "f"))
    assert [m.name for m, _ in members] == r["members"]
    flags = [h[156:157] for _, h in raw_headers(r["tar"])[0]]
    if fmt == "gnu":
        assert b"L" in flags and b"x" not in flags
    elif fmt == "pax":
        long_ascii = [n for n in r["members"] if len(n) > 100 or not n.isascii()]
        assert flags.count(b"x") == len(long_ascii)
    else:
        assert b"x" in flags  # the 253-character name cannot be split


def test_format_versions(tmp_path, cluster):
    r1 = vg.write_backup(tmp_path, "v1", cluster[:5], format_version="1", velero_version="v1.3.2")
    names = [m.name for m, _ in read_tar_members(tarball_of(r1, "v1"))]
    assert names[0] == "metadata/version" and not any("preferredversion" in n for n in names)
    assert read_tar_members(tarball_of(r1, "v1"))[0][1] == b"1\n"
    files = set(os.listdir(r1["dir"]))
    assert "v1-results.gz" not in files and "v1-itemoperations.json.gz" not in files
    assert json.load(open(os.path.join(r1["dir"], "velero-backup.json")))["status"].get("formatVersion") is None
    r0 = vg.write_backup(tmp_path, "ark", cluster[:5], format_version=None, velero_version="v1.0.0")
    names = [m.name for m, _ in read_tar_members(tarball_of(r0, "ark"))]
    assert "metadata/version" not in names and len(names) == 5


def test_api_group_versions_layout(tmp_path, cluster):
    extra = {"widgets.example.com": {"v1beta1": vg.widget_as_v1beta1(cluster)}}
    r = vg.write_backup(tmp_path, "agv", cluster, api_versions=extra)
    names = r["members"]
    assert "resources/widgets.example.com/v1beta1/namespaces/shop/blue.json" in names
    assert "resources/widgets.example.com/v1-preferredversion/namespaces/shop/blue.json" in names
    assert "resources/widgets.example.com/namespaces/shop/blue.json" in names
    assert not any(n.startswith("resources/widgets.example.com/v1beta1-preferredversion") for n in names)
    rl = json.loads(gzip.decompress(open(os.path.join(r["dir"], "agv-resource-list.json.gz"), "rb").read()))
    assert rl["example.com/v1beta1/Widget"] == rl["example.com/v1/Widget"] == ["shop/blue", "shop/green"]


# ---------------------------------------------------------------- gzip and the other objects

def test_gzip_headers(backup):
    _, r = backup
    for fname in os.listdir(r["dir"]):
        if fname.endswith(".gz"):
            data = open(os.path.join(r["dir"], fname), "rb").read()
            assert data[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
            d = zlib.decompressobj(-15)
            d.decompress(data[10:])
            assert d.eof and len(d.unused_data) == 8  # exactly one gzip member
            gzip.decompress(data)


def test_metadata_objects(backup, cluster):
    _, r = backup
    read = lambda suffix: gzip.decompress(open(os.path.join(r["dir"], "b1" + suffix), "rb").read())  # noqa: E731
    assert read("-volumesnapshots.json.gz") == b"null\n"
    assert read("-podvolumebackups.json.gz") == b"null\n"
    assert read("-itemoperations.json.gz") == b"[]\n"
    assert read("-volumeinfo.json.gz") == b"null\n"
    assert read("-csi-volumesnapshotclasses.json.gz") == b"null\n"
    assert read("-results.gz") == b'{"errors":{},"warnings":{}}\n'
    assert not os.path.exists(os.path.join(r["dir"], "b1-csi-volumesnapshots.json.gz"))  # gone in v1.17
    rl = json.loads(read("-resource-list.json.gz"))
    assert rl["apps/v1/Deployment"] == ["shop/api", "shop/web"]
    assert "system:shop:reader" in rl["rbac.authorization.k8s.io/v1/ClusterRole"]
    assert sum(len(v) for v in rl.values()) == len(cluster)
    assert read("-resource-list.json.gz").endswith(b"]}\n")
    logs = read("-logs.gz").decode()
    assert logs.endswith("\n") and logs.startswith('time="2026-11-18T02:00:00Z" level=info msg=')


@need_samples
def test_empty_object_sizes_match_aks_listing(backup):
    """The AKS listing shows 29-byte (null), 27-byte ([]) and 49-byte (empty
    results) objects: Go's gzip framing reproduces those sizes exactly."""
    _, r = backup
    listing = open(os.path.join(AKS, "blob-listing.txt")).read().splitlines()
    sizes = {}
    for line in listing:
        if line.startswith("backups/"):
            key, size = line.split()[:2]
            sizes[key.split("<N>")[-1]] = int(size)
    size = lambda s: os.path.getsize(os.path.join(r["dir"], "b1" + s))  # noqa: E731
    assert size("-volumesnapshots.json.gz") == sizes["-volumesnapshots.json.gz"] == 29
    assert size("-itemoperations.json.gz") == sizes["-itemoperations.json.gz"] == 27
    assert size("-results.gz") == sizes["-results.gz"] == 49


# ---------------------------------------------------------------- velero-backup.json

def test_velero_backup_json(backup, cluster):
    _, r = backup
    raw = open(os.path.join(r["dir"], "velero-backup.json"), "rb").read()
    assert not raw.endswith(b"\n")
    b = json.loads(raw)
    assert list(b) == ["kind", "apiVersion", "metadata", "spec", "status"]
    assert raw == json.dumps(b, indent=2, ensure_ascii=False).encode()  # 2-space pretty, no escapes needed
    assert b["metadata"]["labels"] == {"velero.io/schedule-name": "daily", "velero.io/storage-location": "default"}
    st = b["status"]
    assert st["phase"] == "Completed" and st["formatVersion"] == "1.1.0" and st["version"] == 1
    assert st["progress"] == {"totalItems": len(cluster), "itemsBackedUp": len(cluster)}
    assert st["expiration"] == "2026-12-18T02:00:00Z"
    assert b["spec"]["ttl"] == "720h0m0s"


@need_samples
@pytest.mark.parametrize("sample", ["aks", "scaleoutsean"])
def test_backup_json_encoder_reproduces_real_sample(sample):
    path = os.path.join(AKS, "velero-backup.json") if sample == "aks" else os.path.join(SOS, "demo.velero-backup.json")
    raw = open(path, "rb").read()
    assert vg.go_marshal_indent(json.loads(raw), sort_keys=False) == raw


@need_samples
def test_backup_json_field_order_matches_real_samples(backup):
    _, r = backup
    ours = json.loads(open(os.path.join(r["dir"], "velero-backup.json"), "rb").read())
    for path in (os.path.join(AKS, "velero-backup.json"), os.path.join(SOS, "demo.velero-backup.json")):
        real = json.load(open(path))
        assert list(real) == list(ours)
        for sect in ("metadata", "spec", "status"):
            common = [k for k in real[sect] if k in ours[sect]]
            assert [k for k in ours[sect] if k in common] == common, sect
        mf_real, mf_ours = real["metadata"]["managedFields"][0], ours["metadata"]["managedFields"][0]
        assert list(mf_real) == list(mf_ours)


# ---------------------------------------------------------------- real samples

@need_samples
def test_style_matches_aks_storageclass_member():
    raw = open(os.path.join(AKS, "resources", "storageclasses.storage.k8s.io", "cluster", "default.json"), "rb").read()
    assert not raw.endswith(b"\n")
    assert_sorted_keys(raw)
    obj = json.loads(raw)
    assert vg.go_marshal(obj) == raw  # our encoder reproduces the real member byte for byte
    assert vg.group_resource(obj) == "storageclasses.storage.k8s.io"
    assert vg.item_member_path(vg.group_resource(obj), "", "default") == \
        "resources/storageclasses.storage.k8s.io/cluster/default.json"
    # and our generated StorageClass looks the same way
    sc = next(o for o in vg.believable_cluster(0, 0) if o["kind"] == "StorageClass")
    ours = vg.go_marshal(sc)
    assert_sorted_keys(ours)
    assert list(json.loads(ours)) == list(obj)


@need_samples
def test_member_order_matches_scaleoutsean_listing(tmp_path):
    lines = [l for l in open(os.path.join(SOS, "nginx-backup-data.tar-listing.txt")).read().splitlines()
             if l and not l.startswith("#")]
    assert lines[0] == "metadata/version"
    # pairs: <ver>-preferredversion copy, then the legacy copy
    for pref, legacy in zip(lines[1::2], lines[2::2]):
        assert pref.replace("/v1-preferredversion/", "/") == legacy
    # rebuild the same backup with vaultgen, in the listing's order
    kinds = {"persistentvolumes": ("v1", "PersistentVolume"), "persistentvolumeclaims": ("v1", "PersistentVolumeClaim"),
             "pods": ("v1", "Pod"), "services": ("v1", "Service"), "endpoints": ("v1", "Endpoints"),
             "namespaces": ("v1", "Namespace"), "replicasets.apps": ("apps/v1", "ReplicaSet")}
    objs = []
    for legacy in lines[2::2]:
        parts = legacy.split("/")
        api, kind = kinds[parts[1]]
        md = {"name": parts[-1][:-5]}
        if parts[2] == "namespaces":
            md["namespace"] = parts[3]
        objs.append({"apiVersion": api, "kind": kind, "metadata": md})
    r = vg.write_backup(tmp_path, "nginx-backup", objs, pair_order="preferred-first", item_order="given")
    assert r["members"] == lines
    assert [m.name for m, _ in read_tar_members(tarball_of(r, "nginx-backup"))] == lines


# ---------------------------------------------------------------- corrupt modes

@pytest.mark.parametrize("mode", vg.CORRUPT_MODES)
def test_corrupt_modes(tmp_path, mode, cluster):
    r = vg.write_backup(tmp_path, "bad", cluster, corrupt=mode)
    tgz = os.path.join(r["dir"], "bad.tar.gz")
    bj = os.path.join(r["dir"], "velero-backup.json")
    data = open(tgz, "rb").read()
    if mode == "truncated":
        assert gzip_t(tgz) != 0
        with pytest.raises((tarfile.ReadError, EOFError)):
            read_tar_members(data)
        # the decompressible part ends inside a member's data
        d = zlib.decompressobj(-15)
        part = d.decompress(data[10:])
        assert not d.eof and 0 < len(part) < len(r["tar"]) and len(part) % 512 != 0
    elif mode == "truncated-tar":
        assert gzip_t(tgz) == 0
        with pytest.raises(tarfile.ReadError):
            read_tar_members(data)
    elif mode == "garbage":
        assert data[:2] != b"\x1f\x8b" and gzip_t(tgz) != 0
    elif mode == "gzip-not-tar":
        assert gzip_t(tgz) == 0
        with pytest.raises(tarfile.ReadError):
            read_tar_members(data)
    elif mode == "bad-crc":
        assert gzip_t(tgz) != 0
        with pytest.raises(gzip.BadGzipFile, match="CRC"):
            gzip.decompress(data)
        d = zlib.decompressobj(-15)  # the deflate stream itself still inflates
        d.decompress(data[10:-8])
        assert d.eof
    elif mode == "bad-json-member":
        bad = []
        for m, d in read_tar_members(data):
            if m.name.startswith("resources/"):
                try:
                    json.loads(d)
                except ValueError:
                    bad.append(m.name)
        assert len(bad) == 2 and bad[0].replace("/v1-preferredversion/", "/") == bad[1].replace("/v1-preferredversion/", "/")
    elif mode == "escape-member":
        names = [m.name for m, _ in read_tar_members(data)]
        assert "resources/../../etc/evil.json" in names and "/etc/evil.json" in names
    elif mode == "missing-backup-json":
        assert not os.path.exists(bj) and read_tar_members(data)
    elif mode == "malformed-backup-json":
        with pytest.raises(ValueError):
            json.loads(open(bj, "rb").read())
    elif mode == "empty-tarball":
        assert data == b""
    elif mode == "empty-tar":
        assert read_tar_members(data) == [] and gzip.decompress(data) == b"\0" * 1024
    if mode not in ("missing-backup-json", "malformed-backup-json"):
        json.loads(open(bj, "rb").read())


# ---------------------------------------------------------------- the believable cluster

def test_believable_cluster_contents(cluster):
    names = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in cluster}
    for want in [("Deployment", "shop", "web"), ("Deployment", "shop", "api"), ("StatefulSet", "shop", "db"),
                 ("ConfigMap", "ops", "app.config"), ("Role", "shop", "a..b"), ("CronJob", "ops", "nightly-report"),
                 ("ClusterRole", "", "system:shop:reader"), ("ClusterRoleBinding", "", "system:shop:reader"),
                 ("CustomResourceDefinition", "", "widgets.example.com"), ("Widget", "shop", "blue"),
                 ("Widget", "shop", "green"), ("StorageClass", "", "managed-csi"), ("Namespace", "", "shop")]:
        assert want in names
    assert any(len(o["metadata"]["name"]) == 253 and o["kind"] == "ConfigMap" for o in cluster)
    crd = next(o for o in cluster if o["kind"] == "CustomResourceDefinition")
    assert [v["name"] for v in crd["spec"]["versions"]] == ["v1", "v1beta1"]
    svc_types = {o["metadata"]["name"]: o["spec"] for o in cluster if o["kind"] == "Service"}
    assert svc_types["web"]["type"] == "NodePort" and svc_types["db"]["clusterIP"] == "None"
    nginx = next(o for o in cluster if o["metadata"]["name"] == "nginx-conf")["data"]["nginx.conf"]
    assert nginx.startswith("#") and "\n    " in nginx and "\n\n" in nginx and "\n        # " in nginx
    secrets = {o["type"] for o in cluster if o["kind"] == "Secret"}
    assert secrets == {"Opaque", "kubernetes.io/tls"}


def test_variants_differ_realistically():
    a, b, c = (vg.believable_cluster(5, v) for v in range(3))
    key = lambda o: (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])  # noqa: E731
    ka, kb, kc = ({key(o): o for o in x} for x in (a, b, c))
    web = lambda k: k[("Deployment", "shop", "web")]["spec"]["template"]["spec"]["containers"][0]["image"]  # noqa: E731
    assert web(ka) != web(kb) != web(kc)
    assert ("ConfigMap", "shop", "promo-banner") in ka and ("ConfigMap", "shop", "promo-banner") not in kb
    assert ("Secret", "shop", "payment-gateway") not in kb and ("Secret", "shop", "payment-gateway") in kc
    unchanged = [k for k in ka if k in kb and vg.go_marshal(ka[k]) == vg.go_marshal(kb[k])]
    assert len(unchanged) > len(ka) // 2  # most items are byte-identical between days
    assert ka[("Namespace", "", "shop")]["metadata"]["uid"] == kb[("Namespace", "", "shop")]["metadata"]["uid"]


def test_deterministic(tmp_path, cluster):
    outs = []
    for d in ("a", "b"):
        r = vg.write_backup(tmp_path / d, "same", vg.believable_cluster(1, 1), results={"warnings": {"cluster": ["w"]}})
        outs.append({f: open(os.path.join(r["dir"], f), "rb").read() for f in sorted(os.listdir(r["dir"]))})
    assert outs[0] == outs[1]


def test_prefix_and_keys(tmp_path, cluster):
    r = vg.write_backup(tmp_path, "p", cluster[:3], prefix="/cluster-a/velero/")
    assert r["dir"] == os.path.join(str(tmp_path), "cluster-a", "velero", "backups", "p")
    assert "cluster-a/velero/backups/p/velero-backup.json" in r["keys"]
    assert "cluster-a/velero/backups/p/p.tar.gz" in r["keys"]


def test_filter_namespaces(cluster):
    objs = vg.filter_namespaces(cluster, ["shop"])
    kinds = {(o["kind"], o["metadata"].get("namespace", "")) for o in objs}
    assert ("PersistentVolume", "") in kinds and ("CustomResourceDefinition", "") in kinds
    assert not any(o["metadata"].get("namespace") == "ops" for o in objs)
    assert not any(o["kind"] in ("StorageClass", "ClusterRole") for o in objs)


def test_go_float_formatting():
    cases = {0.25: "0.25", 1.5e-07: "1.5e-7", 1e21: "1e+21", 100.0: "100", 1e20: "100000000000000000000",
             0.000001: "0.000001", -2.5: "-2.5", 123456789.125: "123456789.125"}
    for f, s in cases.items():
        assert vg.go_float(f) == s, f


# ---------------------------------------------------------------- the committed example vault

EXAMPLE = os.path.join(REPO, "tests", "data", "shop-vault")


def test_shop_vault_is_up_to_date(tmp_path):
    script = os.path.join(REPO, "tests", "make-shop-vault.py")
    subprocess.run([sys.executable, script, str(tmp_path / "v")], check=True)
    def tree(root):
        out = {}
        for d, _, fs in os.walk(root):
            for f in fs:
                p = os.path.join(d, f)
                out[os.path.relpath(p, root)] = open(p, "rb").read()
        return out
    fresh, committed = tree(tmp_path / "v"), tree(EXAMPLE)
    assert sorted(fresh) == sorted(committed)
    assert all(fresh[k] == committed[k] for k in fresh), "tests/data/shop-vault is stale: rerun make-shop-vault.py"
    assert sum(len(v) for v in committed.values()) < 1_000_000
    backups = sorted(os.listdir(os.path.join(EXAMPLE, "backups")))
    assert backups == sorted(["daily-20261118020000", "daily-20261119020000", "daily-20261120020000",
                              "before-upgrade", "shop-only", "nightly-failed", "partial-20261120",
                              "all-versions-20261119"])
    phases = {b: json.load(open(os.path.join(EXAMPLE, "backups", b, "velero-backup.json")))["status"]["phase"]
              for b in backups}
    assert phases["nightly-failed"] == "Failed" and phases["partial-20261120"] == "PartiallyFailed"


# ---------------------------------------------------------------- Go itself

GO_PROG = r'''
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"time"
)

type entry struct {
	Name  string `json:"name"`
	Data  []byte `json:"data"`
	Mtime int64  `json:"mtime"`
}

func main() {
	var in struct {
		Tar   []entry       `json:"tar"`
		JSON  []interface{} `json:"json"`
		Gzip  [][]byte      `json:"gzip"`
	}
	b, _ := os.ReadFile(os.Args[1])
	if err := json.Unmarshal(b, &in); err != nil {
		panic(err)
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, e := range in.Tar {
		hdr := &tar.Header{Name: e.Name, Size: int64(len(e.Data)), Typeflag: tar.TypeReg, Mode: 0755, ModTime: time.Unix(e.Mtime, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			panic(err)
		}
		tw.Write(e.Data)
	}
	tw.Close()
	out := map[string]interface{}{"tar": tb.Bytes()}
	var js [][]byte
	for _, v := range in.JSON {
		m, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		js = append(js, m)
	}
	out["json"] = js
	var gz [][]byte
	for _, g := range in.Gzip {
		var w bytes.Buffer
		z := gzip.NewWriter(&w)
		z.Write(g)
		z.Close()
		gz = append(gz, w.Bytes())
	}
	out["gzip"] = gz
	enc, _ := json.Marshal(out)
	os.Stdout.Write(enc)
}
'''


@pytest.mark.skipif(shutil.which("go") is None, reason="no Go toolchain")
def test_byte_identical_to_go(tmp_path, backup, cluster):
    import base64
    _, r = backup
    entries = []
    for m, d in read_tar_members(tarball_of(r)):
        entries.append({"name": m.name, "data": base64.b64encode(d).decode(), "mtime": m.mtime})
    odd = [("resources/configmaps/namespaces/shop/ümlaut-ñ.json", b"{}"), ("c" * 100, b"y"),
           ("d/" * 60 + "e.json", b"z"), ("x" * 99 + "/" + "y" * 10, b""),
           ("p" * 155 + "/" + "s" * 10, b"edge"), ("q" * 156 + "/" + "s" * 10, b"pax")]
    for n, d in odd:
        entries.append({"name": n, "data": base64.b64encode(d).decode(), "mtime": 1700000000})
    small = [b"", b"null\n", b"[]\n", b'{"errors":{},"warnings":{}}\n']
    spec = {"tar": entries, "json": cluster, "gzip": [base64.b64encode(s).decode() for s in small]}
    (tmp_path / "in.json").write_text(json.dumps(spec))
    (tmp_path / "main.go").write_text(GO_PROG)
    env = dict(os.environ, GOFLAGS="-mod=mod", GO111MODULE="off", GOCACHE=os.environ.get("GOCACHE", str(tmp_path / "gocache")))
    p = subprocess.run(["go", "run", str(tmp_path / "main.go"), str(tmp_path / "in.json")],
                       capture_output=True, env=env, cwd=tmp_path, timeout=300)
    if p.returncode != 0:
        pytest.skip("go run failed: " + p.stderr.decode()[-300:])
    out = json.loads(p.stdout)
    tw = vg.TarWriter("go")
    for e in entries:
        tw.add(e["name"], base64.b64decode(e["data"]), e["mtime"])
    assert base64.b64decode(out["tar"]) == tw.getvalue()
    for obj, gj in zip(cluster, out["json"]):
        assert vg.go_marshal(obj) == base64.b64decode(gj)
    for s, gz in zip(small, out["gzip"]):
        assert vg.go_gzip(s) == base64.b64decode(gz)
