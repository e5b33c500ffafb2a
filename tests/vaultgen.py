"""vaultgen: write a Velero backup storage location (BSL) exactly as Velero does.

Python 3.11, standard library only.  Used by the unit/mount tests and by
tests/make-shop-vault.py.  Everything here follows
shared/research/velero-format.md and the Velero v1.17.2 sources it cites:

* keys: <prefix>/backups/<name>/{velero-backup.json, <name>.tar.gz,
  <name>-logs.gz, <name>-resource-list.json.gz, <name>-results.gz, ...}
  (pkg/persistence/object_store.go PutBackup, object_store_layout.go);
* velero-backup.json: Kubernetes *pretty* JSON (json.MarshalIndent, 2 spaces),
  Go struct field order of backup_types.go, no trailing newline;
* the tarball: "metadata/version" first, then for each item the legacy member
  resources/<GR>/{namespaces/<ns>,cluster}/<name>.json followed by the
  identical resources/<GR>/<ver>-preferredversion/... member
  (pkg/backup/item_backupper.go), item bytes = Go json.Marshal of the
  unstructured map (sorted keys, compact, HTML-escaped, no newline);
* tar headers as Go's archive/tar writes them with Format unset
  (TypeReg, mode 0755, uid/gid 0, empty uname/gname, whole-second mtime,
  USTAR with the 155-byte prefix when a long name can be split, else a PAX
  'x' header named <dir>/PaxHeaders.0/<file>; two zero blocks at the end and
  no record padding);
* gzip as Go's compress/gzip writes it: header 1f8b 0800 00000000 00ff,
  one member.  (The deflate bytes themselves are zlib's, not Go's: only the
  framing is byte-exact.)
* metadata objects: json.NewEncoder(gzw).Encode(v) => compact JSON + "\\n",
  "null\\n" for a nil slice, "[]\\n" for an empty one.

Determinism: the same arguments give byte-identical files.  Nothing reads the
clock or an unseeded random generator; file mtimes are set from the backup's
completion time.

What it does not do: it does not emulate Go's deflate compressor, Velero's
ItemBlock interleaving, or plugins.
"""

from __future__ import annotations

import copy
import datetime as _dt
import decimal
import hashlib
import json
import os
import random
import struct
import zlib
from typing import Any, Iterable

__all__ = [
    "go_marshal", "go_marshal_indent", "go_encode", "go_gzip", "go_float",
    "TarWriter", "tar_bytes", "split_ustar_path",
    "group_resource", "plural_for", "item_member_path", "resource_list",
    "backup_object", "write_backup", "believable_cluster", "filter_namespaces",
    "logrus_line", "default_logs", "CORRUPT_MODES", "TAR_FORMATS",
    "stable_uid", "rfc3339", "pod_volume_backup", "volume_info_pvb", "widget_as_v1beta1",
]

# --------------------------------------------------------------------------
# Go encoding/json
# --------------------------------------------------------------------------

_HEX = "0123456789abcdef"


def _go_string(s: str) -> str:
    """A JSON string literal exactly as Go's encoding/json writes it with
    HTML escaping on (json.Marshal, json.Encoder default, MarshalIndent)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20:
            short = {0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}.get(o)
            out.append(short if short else "\\u00" + _HEX[o >> 4] + _HEX[o & 0xF])
        elif ch in "<>&":
            out.append("\\u00" + _HEX[o >> 4] + _HEX[o & 0xF])
        elif o == 0x2028 or o == 0x2029:
            out.append("\\u%04x" % o)
        elif 0xD800 <= o <= 0xDFFF:  # lone surrogate: Go writes U+FFFD for invalid UTF-8
            out.append("\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_float(f: float) -> str:
    """strconv.AppendFloat as encoding/json's floatEncoder uses it (64 bit)."""
    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError("json: unsupported value: %r" % f)
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    a = abs(f)
    d = decimal.Decimal(repr(f)).normalize()
    sign, digits, exp = d.as_tuple()
    ds = "".join(map(str, digits))
    neg = "-" if sign else ""
    if a < 1e-6 or a >= 1e21:
        e = exp + len(ds) - 1
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        es = "%+03d" % e  # at least two exponent digits, like strconv
        if es[1] == "0" and len(es) == 3 and es[0] == "-":
            es = "-" + es[2]  # encoding/json: clean up e-09 to e-9
        return neg + mant + "e" + es
    if exp >= 0:
        return neg + ds + "0" * exp
    point = len(ds) + exp
    if point > 0:
        return neg + ds[:point] + "." + ds[point:]
    return neg + "0." + "0" * (-point) + ds


def _go_scalar(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, str):
        return _go_string(v)
    raise TypeError("cannot encode %r" % type(v))


def _go_json(v: Any, sort_keys: bool, indent: str | None, level: int, out: list) -> None:
    if isinstance(v, dict):
        keys = sorted(v) if sort_keys else list(v)
        members, brackets = [(k, v[k]) for k in keys], "{}"
    elif isinstance(v, (list, tuple)):
        members, brackets = [(None, e) for e in v], "[]"
    else:
        out.append(_go_scalar(v))
        return
    if not members:
        out.append(brackets)
        return
    out.append(brackets[0])
    for i, (k, e) in enumerate(members):
        if i:
            out.append(",")
        if indent is not None:
            out.append("\n" + indent * (level + 1))
        if brackets == "{}":
            out.append(_go_string(k))
            out.append(": " if indent is not None else ":")
        _go_json(e, sort_keys, indent, level + 1, out)
    if indent is not None:
        out.append("\n" + indent * level)
    out.append(brackets[1])


def go_marshal(v: Any, sort_keys: bool = True) -> bytes:
    """json.Marshal: compact, HTML-escaped, no trailing newline.  Maps (dicts)
    are key-sorted when sort_keys (Go map[string]any); pass False to keep the
    dict order, i.e. the field order of a Go struct."""
    out: list = []
    _go_json(v, sort_keys, None, 0, out)
    return "".join(out).encode("utf-8")


def go_marshal_indent(v: Any, sort_keys: bool = False) -> bytes:
    """json.MarshalIndent(v, "", "  ") as the Kubernetes pretty serializer
    uses it: no trailing newline; empty {} and [] stay on one line."""
    out: list = []
    _go_json(v, sort_keys, "  ", 0, out)
    return "".join(out).encode("utf-8")


def go_encode(v: Any, sort_keys: bool = False) -> bytes:
    """json.NewEncoder(w).Encode(v): compact plus one "\\n"."""
    return go_marshal(v, sort_keys) + b"\n"


# --------------------------------------------------------------------------
# gzip as Go's compress/gzip frames it
# --------------------------------------------------------------------------

GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def _go_deflate(data: bytes, level: int = 6) -> bytes:
    """A raw deflate stream framed the way Go's compress/flate ends one:
    the data blocks (not final) followed by a *final empty stored block*
    (Close() -> writeStoredHeader(0, true)).  zlib makes the data blocks
    (Go's LZ77/Huffman choices differ, so only tiny inputs come out
    byte-identical, e.g. "null\\n" -> 29-byte .gz like the AKS sample);
    a sync flush appends an empty *non-final* stored block, whose BFINAL
    bit is then set.  Its position is found by trying the candidate bits
    and keeping the one that inflates to exactly the data."""
    co = zlib.compressobj(level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
    raw = bytearray(co.compress(data) + co.flush(zlib.Z_SYNC_FLUSH))
    assert raw[-4:] == b"\x00\x00\xff\xff"
    end = len(raw) - 4
    for byte in range(end - 1, max(-1, end - 3), -1):
        for bit in range(8):
            cand = bytearray(raw)
            cand[byte] |= 1 << bit
            if cand == raw:
                continue
            try:
                d = zlib.decompressobj(-15)
                out = d.decompress(bytes(cand)) + d.flush()
            except zlib.error:
                continue
            if out == data and d.eof and not d.unused_data:
                return bytes(cand)
    co = zlib.compressobj(level, zlib.DEFLATED, -15)
    return co.compress(data) + co.flush()  # unreachable in practice


def go_gzip(data: bytes, level: int = 6) -> bytes:
    """gzip.NewWriter(w) + Write + Close: header 1f8b 08 00 00000000 00 ff
    (no name, mtime 0, XFL 0, OS 255), deflate ending like Go's, CRC32, ISIZE."""
    return GZIP_HEADER + _go_deflate(data, level) + struct.pack(
        "<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)


# --------------------------------------------------------------------------
# tar as Go's archive/tar writes it
# --------------------------------------------------------------------------

BLOCK = 512
NAME_SIZE = 100
PREFIX_SIZE = 155
TAR_FORMATS = ("go", "pax", "gnu", "ustar-prefix")


def _is_ascii(s: str) -> bool:
    return all(ord(c) < 0x80 for c in s)


def _to_ascii(s: str) -> str:
    return "".join(c for c in s if ord(c) < 0x80)


def split_ustar_path(name: str) -> tuple[str, str] | None:
    """archive/tar splitUSTARPath: the longest prefix (<= 155 bytes) ending
    at a '/' such that the rest fits in the 100-byte name field."""
    b = name.encode("utf-8")
    length = len(b)
    if length <= NAME_SIZE or not _is_ascii(name):
        return None
    if length > PREFIX_SIZE + 1:
        length = PREFIX_SIZE + 1
    elif name[length - 1] == "/":
        length -= 1
    i = name.rfind("/", 0, length)
    nlen = len(name) - i - 1
    plen = i
    if i <= 0 or nlen > NAME_SIZE or nlen == 0 or plen > PREFIX_SIZE:
        return None
    return name[:i], name[i + 1:]


def split_ustar_path_gnu(name: str) -> tuple[str, str] | None:
    """GNU tar --format=ustar: the *shortest* prefix that leaves at most 100
    bytes of name (a different, equally valid split, for reader tests)."""
    if len(name) <= NAME_SIZE or not _is_ascii(name):
        return None
    for i in range(max(1, len(name) - NAME_SIZE - 1), min(len(name), PREFIX_SIZE + 1)):
        if name[i] == "/":
            if len(name) - i - 1 <= NAME_SIZE and len(name) - i - 1 > 0:
                return name[:i], name[i + 1:]
            break
    return None


def _octal(n: int, size: int) -> bytes:
    """archive/tar formatter.formatOctal: zero-padded to size-1 digits plus NUL."""
    s = "%o" % n
    if len(s) < size:
        s = "0" * (size - len(s) - 1) + s
    if len(s) > size:
        raise ValueError("numeric field too long")
    return _field(s.encode("ascii"), size)


def _field(b: bytes, size: int) -> bytes:
    """formatString: copy, NUL-terminate if room; a >size string is cut
    (only the PAX/GNU main headers do that, as Go does)."""
    if len(b) >= size:
        out = bytearray(b[:size])
        if len(b) > size and out[size - 1:size] == b"/":
            n = len(b[:size - 1].rstrip(b"/"))
            out[n] = 0
        return bytes(out)
    return b + b"\0" * (size - len(b))


def _pad(n: int) -> bytes:
    return b"\0" * ((BLOCK - n % BLOCK) % BLOCK)


def _header(*, name: bytes, mode: int, size: int, mtime: int, typeflag: bytes,
            prefix: bytes = b"", magic: bytes = b"ustar\x0000", uname: bytes = b"",
            gname: bytes = b"", dev: bool = True) -> bytes:
    blk = bytearray(BLOCK)
    blk[0:100] = _field(name, 100)
    blk[100:108] = _octal(mode, 8)
    blk[108:116] = _octal(0, 8)  # uid
    blk[116:124] = _octal(0, 8)  # gid
    blk[124:136] = _octal(size, 12)
    blk[136:148] = _octal(mtime, 12)
    blk[156:157] = typeflag
    blk[257:265] = magic
    blk[265:297] = _field(uname, 32)
    blk[297:329] = _field(gname, 32)
    if dev:  # templateV7Plus formats devmajor/devminor; writeRawFile does not
        blk[329:337] = _octal(0, 8)
        blk[337:345] = _octal(0, 8)
    blk[345:500] = _field(prefix, 155)
    blk[148:156] = b" " * 8
    chk = sum(blk)
    blk[148:155] = _octal(chk, 7)
    blk[155] = 0x20
    return bytes(blk)


def _pax_record(k: str, v: str) -> bytes:
    """archive/tar formatPAXRecord: "%d %s=%s\\n", length counting itself."""
    body = (" %s=%s\n" % (k, v)).encode("utf-8")
    size = len(body)
    n = size + len(str(size))
    if len(str(n)) != len(str(size)):
        n = size + len(str(n))
    return str(n).encode("ascii") + body


class TarWriter:
    """Accumulates tar members the way Velero's tar.Writer gets them.

    fmt:
      "go"           archive/tar with Format unset (what Velero writes);
      "pax"          every name > 100 bytes (or non-ASCII) gets a PAX 'x'
                     header, never the USTAR prefix (old Go, Ark 2018 sample);
      "gnu"          GNU format: "ustar  \\0" magic, long names in a
                     '././@LongLink' 'L' member (archive/tar FormatGNU);
      "ustar-prefix" USTAR with the prefix split GNU tar chooses (shortest
                     prefix); names that cannot be split still go to PAX.
    """

    def __init__(self, fmt: str = "go"):
        if fmt not in TAR_FORMATS:
            raise ValueError("tar format %r not in %r" % (fmt, TAR_FORMATS))
        self.fmt = fmt
        self.parts: list[bytes] = []
        self.size = 0
        # one (name, first header offset, data offset, data size) per member
        self.index: list[tuple[str, int, int, int]] = []

    def _put(self, b: bytes) -> None:
        self.parts.append(b)
        self.size += len(b)

    def _raw_file(self, name: str, data: bytes, flag: bytes, magic: bytes) -> None:
        n = _to_ascii(name).encode("ascii")[:NAME_SIZE].rstrip(b"/")
        self._put(_header(name=n, mode=0, size=len(data), mtime=0,
                          typeflag=flag, magic=magic, dev=False))
        self._put(data + _pad(len(data)))

    def add(self, name: str, data: bytes, mtime: int, mode: int = 0o755,
            typeflag: bytes = b"0") -> None:
        start = self.size
        bname = name.encode("utf-8")
        long_or_odd = len(bname) > NAME_SIZE or not _is_ascii(name)
        prefix = b""
        magic = b"ustar\x0000"
        if self.fmt == "gnu":
            magic = b"ustar  \x00"
            if len(bname) > NAME_SIZE:
                self._raw_file("././@LongLink", bname + b"\0", b"L", magic)
            self._put(_header(name=bname, mode=mode, size=len(data), mtime=mtime,
                              typeflag=typeflag, magic=magic))
        else:
            split = None
            if long_or_odd and self.fmt == "go":
                split = split_ustar_path(name)
            elif long_or_odd and self.fmt == "ustar-prefix":
                split = split_ustar_path_gnu(name)
            if long_or_odd and split is None:
                # PAX: the 'x' header carries path=; main header gets the
                # ASCII-only name cut to 100 bytes.
                d, f = name.rsplit("/", 1) if "/" in name else ("", name)
                pax_name = (d + "/" if d else "") + "PaxHeaders.0/" + f
                self._raw_file(pax_name, _pax_record("path", name), b"x", magic)
                bname = _to_ascii(name).encode("ascii")
            elif split is not None:
                prefix, bname = split[0].encode("ascii"), split[1].encode("ascii")
            self._put(_header(name=bname, mode=mode, size=len(data), mtime=mtime,
                              typeflag=typeflag, prefix=prefix, magic=magic))
        self.index.append((name, start, self.size, len(data)))
        self._put(data + _pad(len(data)))

    def getvalue(self) -> bytes:
        """The archive with its end: exactly two zero blocks, no padding."""
        return b"".join(self.parts) + b"\0" * (2 * BLOCK)


def tar_bytes(members: Iterable[tuple[str, bytes]], mtime: int, fmt: str = "go") -> bytes:
    tw = TarWriter(fmt)
    for name, data in members:
        tw.add(name, data, mtime)
    return tw.getvalue()


# --------------------------------------------------------------------------
# Kubernetes naming: kinds, group-resources, paths
# --------------------------------------------------------------------------

# Kind -> plural resource for the kinds a cluster commonly has.  The group
# comes from the object's apiVersion.
KIND_PLURALS = {
    "Pod": "pods", "PersistentVolumeClaim": "persistentvolumeclaims",
    "PersistentVolume": "persistentvolumes", "ConfigMap": "configmaps",
    "Endpoints": "endpoints", "Event": "events", "LimitRange": "limitranges",
    "Namespace": "namespaces", "Node": "nodes", "PodTemplate": "podtemplates",
    "ReplicationController": "replicationcontrollers", "ResourceQuota": "resourcequotas",
    "Secret": "secrets", "ServiceAccount": "serviceaccounts", "Service": "services",
    "Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets",
    "ReplicaSet": "replicasets", "ControllerRevision": "controllerrevisions",
    "CronJob": "cronjobs", "Job": "jobs",
    "Role": "roles", "RoleBinding": "rolebindings", "ClusterRole": "clusterroles",
    "ClusterRoleBinding": "clusterrolebindings",
    "StorageClass": "storageclasses", "CSIDriver": "csidrivers", "CSINode": "csinodes",
    "VolumeAttachment": "volumeattachments",
    "CustomResourceDefinition": "customresourcedefinitions",
    "Ingress": "ingresses", "IngressClass": "ingressclasses", "NetworkPolicy": "networkpolicies",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "EndpointSlice": "endpointslices", "PriorityClass": "priorityclasses",
    "APIService": "apiservices", "Lease": "leases",
    "MutatingWebhookConfiguration": "mutatingwebhookconfigurations",
    "ValidatingWebhookConfiguration": "validatingwebhookconfigurations",
    "VolumeSnapshot": "volumesnapshots", "VolumeSnapshotContent": "volumesnapshotcontents",
    "VolumeSnapshotClass": "volumesnapshotclasses",
    "FlowSchema": "flowschemas", "PriorityLevelConfiguration": "prioritylevelconfigurations",
    "Backup": "backups", "Restore": "restores", "Schedule": "schedules",
    "BackupStorageLocation": "backupstoragelocations",
    "VolumeSnapshotLocation": "volumesnapshotlocations",
    "PodVolumeBackup": "podvolumebackups",
}

# Discovery-like order of group-resources: the order Velero's item collector
# walks them (core group first, then the other groups); unknown ones after,
# alphabetically.
GR_ORDER = [
    "pods", "persistentvolumeclaims", "persistentvolumes", "configmaps", "endpoints",
    "events", "limitranges", "namespaces", "podtemplates", "replicationcontrollers",
    "resourcequotas", "secrets", "serviceaccounts", "services",
    "apiservices.apiregistration.k8s.io",
    "controllerrevisions.apps", "daemonsets.apps", "deployments.apps", "replicasets.apps",
    "statefulsets.apps", "events.events.k8s.io", "horizontalpodautoscalers.autoscaling",
    "cronjobs.batch", "jobs.batch",
    "ingressclasses.networking.k8s.io", "ingresses.networking.k8s.io",
    "networkpolicies.networking.k8s.io", "poddisruptionbudgets.policy",
    "clusterrolebindings.rbac.authorization.k8s.io", "clusterroles.rbac.authorization.k8s.io",
    "rolebindings.rbac.authorization.k8s.io", "roles.rbac.authorization.k8s.io",
    "csidrivers.storage.k8s.io", "csinodes.storage.k8s.io", "storageclasses.storage.k8s.io",
    "volumeattachments.storage.k8s.io",
    "mutatingwebhookconfigurations.admissionregistration.k8s.io",
    "validatingwebhookconfigurations.admissionregistration.k8s.io",
    "customresourcedefinitions.apiextensions.k8s.io", "priorityclasses.scheduling.k8s.io",
    "leases.coordination.k8s.io", "endpointslices.discovery.k8s.io",
    "flowschemas.flowcontrol.apiserver.k8s.io",
    "prioritylevelconfigurations.flowcontrol.apiserver.k8s.io",
]


def _split_api_version(api_version: str) -> tuple[str, str]:
    if "/" in api_version:
        g, v = api_version.split("/", 1)
        return g, v
    return "", api_version


def plural_for(kind: str, plurals: dict | None = None) -> str:
    if plurals and kind in plurals:
        return plurals[kind]
    if kind in KIND_PLURALS:
        return KIND_PLURALS[kind]
    k = kind.lower()  # the RESTMapper's guess (UnsafeGuessKindToResource)
    if k.endswith("s"):
        return k + "es"
    if k.endswith("y"):
        return k[:-1] + "ies"
    return k + "s"


def group_resource(obj: dict, plurals: dict | None = None) -> str:
    """schema.GroupResource.String(): "<plural>.<group>", or "<plural>" for
    the core group.  plurals maps Kind or "group/Kind" -> plural; CRD
    instances get their plural from a CRD in the same object set (see
    _crd_plurals) or from plurals=."""
    g, _ = _split_api_version(obj["apiVersion"])
    kind = obj["kind"]
    p = None
    if plurals:
        p = plurals.get(g + "/" + kind) or plurals.get(kind)
    if p is None:
        p = plural_for(kind)
    return p + "." + g if g else p


def _crd_plurals(objects: Iterable[dict]) -> dict:
    out = {}
    for o in objects:
        if o.get("kind") == "CustomResourceDefinition":
            sp = o.get("spec", {})
            names = sp.get("names", {})
            if "kind" in names and "plural" in names:
                out[sp.get("group", "") + "/" + names["kind"]] = names["plural"]
    return out


def item_member_path(gr: str, namespace: str, name: str, version_dir: str = "") -> str:
    """archive.GetVersionedItemFilePath("", gr, ns, name, versionPath)."""
    parts = ["resources", gr]
    if version_dir:
        parts.append(version_dir)
    if namespace:
        parts += ["namespaces", namespace]
    else:
        parts.append("cluster")
    parts.append(name + ".json")
    return "/".join(parts)


def _gr_key(gr: str) -> tuple:
    return (GR_ORDER.index(gr), "") if gr in GR_ORDER else (len(GR_ORDER), gr)


def _resource_key(obj: dict) -> str:
    """item_backupper.go resourceKey: "<group/version>/<Kind>"."""
    return obj["apiVersion"] + "/" + obj["kind"]


def resource_list(objects: Iterable[dict]) -> dict:
    """backedUpItemsMap.ResourceMap(): {"apps/v1/Deployment": ["ns/name", ...]}
    (values sorted; keys are sorted by the JSON encoder)."""
    m: dict = {}
    for o in objects:
        md = o.get("metadata", {})
        ns = md.get("namespace", "")
        e = ns + "/" + md["name"] if ns else md["name"]
        m.setdefault(_resource_key(o), [])
        if e not in m[_resource_key(o)]:
            m[_resource_key(o)].append(e)
    for v in m.values():
        v.sort()
    return m


# --------------------------------------------------------------------------
# time and ids
# --------------------------------------------------------------------------

UTC = _dt.timezone.utc


def _ts(t) -> _dt.datetime:
    if isinstance(t, _dt.datetime):
        return t if t.tzinfo else t.replace(tzinfo=UTC)
    s = str(t)
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    return _dt.datetime.fromisoformat(s).astimezone(UTC)


def rfc3339(t) -> str:
    return _ts(t).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(t) -> int:
    return int(round(_ts(t).timestamp()))  # archive/tar rounds to whole seconds


def _go_duration(s: str) -> _dt.timedelta:
    """Parse the Duration strings Velero writes ("720h0m0s", "10m0s", "4h")."""
    total = 0.0
    num = ""
    units = {"h": 3600, "m": 60, "s": 1}
    for ch in s:
        if ch.isdigit() or ch == ".":
            num += ch
        else:
            total += float(num) * units[ch]
            num = ""
    return _dt.timedelta(seconds=total)


def stable_uid(*parts: Any) -> str:
    """A UUIDv4-shaped id derived from parts (deterministic)."""
    h = bytearray(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x40
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return "%s-%s-%s-%s-%s" % (x[:8], x[8:12], x[12:16], x[16:20], x[20:])


# --------------------------------------------------------------------------
# logrus text lines
# --------------------------------------------------------------------------

def _logrus_needs_quoting(s: str) -> bool:
    if s == "":
        return True
    for ch in s:
        if not (ch.isascii() and (ch.isalnum() or ch in "-._/@^+")):
            return True
    return False


def logrus_line(t, level: str, msg: str, **fields: str) -> str:
    """One logrus TextFormatter line (DisableColors, FullTimestamp RFC3339):
    time, level, msg, then the other fields sorted, quoted when needed."""
    def kv(k, v):
        v = str(v)
        return "%s=%s" % (k, json.dumps(v, ensure_ascii=False) if _logrus_needs_quoting(v) else v)
    parts = [kv("time", rfc3339(t)), "level=" + level, kv("msg", msg)]
    for k in sorted(fields):
        parts.append(kv(k, fields[k]))
    return " ".join(parts)


def default_logs(name: str, started, completed, objects: list, results: dict,
                 namespaces: list | None = None, velero_ns: str = "velero",
                 fatal: str | None = None) -> list[str]:
    """A believable backup log: what pkg/backup/backup.go logs for a run."""
    b = velero_ns + "/" + name
    t0 = _ts(started)
    t1 = _ts(completed)
    lines = [
        logrus_line(t0, "info", "Setting up backup temp file", backup=b, logSource="pkg/controller/backup_controller.go:694"),
        logrus_line(t0, "info", "Setting up plugin manager", backup=b, logSource="pkg/controller/backup_controller.go:701"),
        logrus_line(t0, "info", "Getting backup item actions", backup=b, logSource="pkg/controller/backup_controller.go:705"),
        logrus_line(t0, "info", "Setting up backup store to check for backup existence", backup=b, logSource="pkg/controller/backup_controller.go:712"),
        logrus_line(t0, "info", "Writing backup version file", backup=b, logSource="pkg/backup/backup.go:227"),
        logrus_line(t0, "info", "Including namespaces: %s" % (", ".join(namespaces) if namespaces else "*"), backup=b, logSource="pkg/backup/backup.go:233"),
        logrus_line(t0, "info", "Excluding namespaces: <none>", backup=b, logSource="pkg/backup/backup.go:234"),
        logrus_line(t0, "info", "Including resources: *", backup=b, logSource="pkg/backup/backup.go:237"),
        logrus_line(t0, "info", "Excluding resources: <none>", backup=b, logSource="pkg/backup/backup.go:238"),
        logrus_line(t0, "info", "Backing up all volumes using pod volume backup: false", backup=b, logSource="pkg/backup/backup.go:239"),
    ]
    total = len(objects)
    for i, o in enumerate(objects, 1):
        md = o["metadata"]
        gr = group_resource(o)
        f = dict(backup=b, name=md["name"], namespace=md.get("namespace", ""), resource=gr)
        lines.append(logrus_line(t0 + _dt.timedelta(seconds=1), "info", "Processing item", logSource="pkg/backup/backup.go:512", progress="", **f))
        lines.append(logrus_line(t0 + _dt.timedelta(seconds=1), "info", "Backing up item", logSource="pkg/backup/item_backupper.go:184", **f))
        lines.append(logrus_line(t0 + _dt.timedelta(seconds=1), "info", "Backed up %d items out of an estimated total of %d (estimate will change throughout the backup)" % (i, total), logSource="pkg/backup/backup.go:472", progress="", **f))
    for lvl, key in (("warning", "warnings"), ("error", "errors")):
        r = (results or {}).get(key) or {}
        for m in r.get("velero", []):
            lines.append(logrus_line(t1, lvl, m, backup=b, logSource="pkg/backup/backup.go:469"))
        for m in r.get("cluster", []):
            lines.append(logrus_line(t1, lvl, m, backup=b, logSource="pkg/backup/item_backupper.go:137"))
        for ns in sorted(r.get("namespaces", {})):
            for m in r["namespaces"][ns]:
                lines.append(logrus_line(t1, lvl, m, backup=b, logSource="pkg/backup/item_backupper.go:137", namespace=ns))
    if fatal:
        lines.append(logrus_line(t1, "error", "backup failed", backup=b, controller="backup", error=fatal, logSource="pkg/controller/backup_controller.go:317"))
    else:
        lines.append(logrus_line(t1, "info", "Backed up a total of %d items" % total, backup=b, logSource="pkg/backup/backup.go:579", progress=""))
    return lines


# --------------------------------------------------------------------------
# velero-backup.json
# --------------------------------------------------------------------------

SPEC_ORDER = [
    "metadata", "includedNamespaces", "excludedNamespaces", "includedResources",
    "excludedResources", "includedClusterScopedResources", "excludedClusterScopedResources",
    "includedNamespaceScopedResources", "excludedNamespaceScopedResources", "labelSelector",
    "orLabelSelectors", "snapshotVolumes", "ttl", "volumeGroupSnapshotLabelKey",
    "includeClusterResources", "hooks", "storageLocation", "volumeSnapshotLocations",
    "defaultVolumesToRestic", "defaultVolumesToFsBackup", "orderedResources",
    "csiSnapshotTimeout", "itemOperationTimeout", "resourcePolicy", "snapshotMoveData",
    "datamover", "uploaderConfig",
]
STATUS_ORDER = [
    "version", "formatVersion", "expiration", "phase", "queuePosition", "validationErrors",
    "startTimestamp", "completionTimestamp", "volumeSnapshotsAttempted",
    "volumeSnapshotsCompleted", "failureReason", "warnings", "errors", "progress",
    "csiVolumeSnapshotsAttempted", "csiVolumeSnapshotsCompleted",
    "backupItemOperationsAttempted", "backupItemOperationsCompleted",
    "backupItemOperationsFailed", "hookStatus",
]
META_ORDER = [
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
    "annotations", "ownerReferences", "finalizers", "managedFields",
]


def _ordered(d: dict, order: list) -> dict:
    out = {k: d[k] for k in order if k in d}
    for k in d:  # unknown fields keep their place at the end
        if k not in out:
            out[k] = d[k]
    return out


def _fields_set(d: dict, top: bool = True) -> dict:
    """managedFields fieldsV1 for a JSON value (keys "f:<name>", "." for maps)."""
    out = {}
    if not top:
        out["."] = {}
    for k in sorted(d):  # the apiserver stores the field set key-sorted
        v = d[k]
        out["f:" + k] = _fields_set(v, False) if isinstance(v, dict) and v else {}
    return out


def _count(r: dict | None) -> int:
    if not r:
        return 0
    n = len(r.get("velero", [])) + len(r.get("cluster", []))
    for v in r.get("namespaces", {}).values():
        n += len(v)
    return n


def backup_object(name: str, *, phase="Completed", started, completed, schedule=None,
                  labels=None, annotations=None, format_version="1.1.0", spec=None,
                  status=None, total_items=0, items_backed_up=None, results=None,
                  velero_namespace="velero", k8s_version="v1.31.4", ttl="720h0m0s",
                  created=None, velero_version="v1.17.2") -> dict:
    """The Backup CR as Velero persists it (Go struct order; see SPEC_ORDER,
    STATUS_ORDER).  spec/status dicts are merged over the defaults."""
    started_t = _ts(started)
    created_t = _ts(created) if created else started_t
    lbl = {}
    if schedule:
        lbl["velero.io/schedule-name"] = schedule
    lbl["velero.io/storage-location"] = "default"
    lbl.update(labels or {})
    lbl = dict(sorted(lbl.items()))
    major, minor = k8s_version.lstrip("v").split(".")[:2]
    ann = {
        "velero.io/resource-timeout": "10m0s",
        "velero.io/source-cluster-k8s-gitversion": k8s_version,
        "velero.io/source-cluster-k8s-major-version": major,
        "velero.io/source-cluster-k8s-minor-version": minor,
    }
    ann.update(annotations or {})
    ann = dict(sorted(ann.items()))

    sp = {
        "metadata": {},
        "snapshotVolumes": True,
        "ttl": ttl,
        "hooks": {},
        "storageLocation": "default",
        "volumeSnapshotLocations": ["default"],
        "defaultVolumesToFsBackup": False,
        "csiSnapshotTimeout": "10m0s",
        "itemOperationTimeout": "4h0m0s",
        "snapshotMoveData": False,
    }
    if schedule:
        sp["includedNamespaces"] = ["*"]
    sp.update(spec or {})
    sp = {k: v for k, v in sp.items() if v is not None}
    sp = _ordered(sp, SPEC_ORDER)

    n_err, n_warn = _count((results or {}).get("errors")), _count((results or {}).get("warnings"))
    st: dict = {}
    if format_version is not None:
        st["version"] = 1
        if format_version == "1.1.0":
            st["formatVersion"] = "1.1.0"
    st["expiration"] = rfc3339(created_t + _go_duration(ttl))
    st["phase"] = phase
    st["startTimestamp"] = rfc3339(started_t)
    if phase in ("Completed", "PartiallyFailed", "Failed"):
        st["completionTimestamp"] = rfc3339(completed)
    if n_warn:
        st["warnings"] = n_warn
    if n_err:
        st["errors"] = n_err
    ibu = total_items if items_backed_up is None else items_backed_up
    prog = {}
    if total_items:
        prog["totalItems"] = total_items
    if ibu:
        prog["itemsBackedUp"] = ibu
    st["progress"] = prog
    st["hookStatus"] = {}
    st.update(status or {})
    st = {k: v for k, v in st.items() if v is not None}
    st = _ordered(st, STATUS_ORDER)

    spec_user = {k: {} for k in sp if k in ("metadata", "hooks", "snapshotVolumes",
                                             "includedNamespaces", "excludedNamespaces",
                                             "includedResources", "excludedResources",
                                             "labelSelector", "snapshotMoveData")}
    fs1 = {"f:spec": dict([(".", {})] + [("f:" + k, {}) for k in sorted(spec_user)]), "f:status": {}}
    if schedule:
        fs1 = {"f:metadata": {"f:labels": {".": {}, "f:velero.io/schedule-name": {}}}, **fs1}
    fs2 = {
        "f:metadata": {
            "f:annotations": dict([(".", {})] + [("f:" + k, {}) for k in sorted(ann)]),
            "f:labels": {"f:velero.io/storage-location": {}} if schedule else
                        {".": {}, "f:velero.io/storage-location": {}},
        },
        "f:spec": {("f:" + k): {} for k in sorted(sp) if k not in spec_user},
        "f:status": _fields_set(st),
    }
    t_done = rfc3339(completed if "completionTimestamp" in st else started)
    meta = {
        "name": name,
        "namespace": velero_namespace,
        "uid": stable_uid("backup", velero_namespace, name),
        "resourceVersion": str(100000 + int(hashlib.sha256(name.encode()).hexdigest()[:6], 16) % 900000),
        "generation": 7 if phase != "Failed" else 4,
        "creationTimestamp": rfc3339(created_t),
        "labels": lbl,
        "annotations": ann,
        "managedFields": [
            {"manager": "velero-server" if schedule else "velero", "operation": "Update",
             "apiVersion": "velero.io/v1", "time": rfc3339(created_t), "fieldsType": "FieldsV1",
             "fieldsV1": fs1},
            {"manager": "velero-server", "operation": "Update", "apiVersion": "velero.io/v1",
             "time": t_done, "fieldsType": "FieldsV1", "fieldsV1": fs2},
        ],
    }
    return {"kind": "Backup", "apiVersion": "velero.io/v1", "metadata": meta, "spec": sp, "status": st}


# --------------------------------------------------------------------------
# write_backup
# --------------------------------------------------------------------------

CORRUPT_MODES = (
    "truncated",            # gzip stream (and tar) cut in the middle of a member
    "truncated-tar",        # valid gzip around a tar cut in the middle of a member
    "garbage",              # <name>.tar.gz is not gzip at all
    "gzip-not-tar",         # valid gzip, content is not a tar
    "bad-crc",              # one byte of the deflate stream flipped; inflates, CRC32 wrong
    "bad-json-member",      # both copies of one item are not JSON
    "escape-member",        # members resources/../../etc/evil.json and /etc/evil.json
    "missing-backup-json",  # no velero-backup.json (not a backup for Velero)
    "malformed-backup-json",  # velero-backup.json cut short
    "empty-tarball",        # <name>.tar.gz has 0 bytes
    "empty-tar",            # valid gzip of an archive with no members (two zero blocks)
)


def _vtuple(v: str) -> tuple:
    v = v.lstrip("v").split("-")[0]
    return tuple(int(x) for x in v.split("."))


def _meta_files(velero_version: str) -> dict:
    """Which optional per-backup objects PutBackup writes in this version."""
    v = _vtuple(velero_version)
    return {
        "volumesnapshots": v >= (0, 10),
        "podvolumebackups": v >= (1, 0, 1),
        "resource-list": v >= (1, 0, 1),
        "itemoperations": v >= (1, 11),
        "results": v >= (1, 11),
        "csi-volumesnapshots": (1, 4) <= v < (1, 17),
        "csi-volumesnapshotcontents": (1, 4) <= v < (1, 17),
        "csi-volumesnapshotclasses": (1, 9) <= v < (1, 18),
        "volumeinfo": v >= (1, 13),
    }


def _object_sort_key(o: dict, gr: str) -> tuple:
    md = o["metadata"]
    return (_gr_key(gr), md.get("namespace", ""), md["name"])


def _normalize_results(results: dict | None) -> dict:
    """map[string]results.Result -> {"errors": {velero, cluster, namespaces}, "warnings": ...}"""
    out = {}
    for k in ("errors", "warnings"):
        r = (results or {}).get(k) or {}
        rr = {}
        for f in ("velero", "cluster"):
            if r.get(f):
                rr[f] = list(r[f])
        if r.get("namespaces"):
            rr["namespaces"] = {ns: list(v) for ns, v in sorted(r["namespaces"].items())}
        out[k] = rr
    return out


def _inflate_ok(raw: bytes) -> bytes | None:
    try:
        d = zlib.decompressobj(-15)
        out = d.decompress(raw) + d.flush()
        return out if d.eof else None
    except zlib.error:
        return None


def write_backup(root, name: str, objects: list, *, prefix: str = "", phase: str = "Completed",
                 started="2026-11-18T02:00:00Z", completed=None, schedule=None, labels=None,
                 format_version: str | None = "1.1.0", tar_format: str = "go",
                 api_versions: dict | None = None, extra_members: list | None = None,
                 logs: list | None = None, results: dict | None = None,
                 volumesnapshots=None, podvolumebackups=None, itemoperations=(),
                 volumeinfo=None, csi: dict | None = None, velero_version: str = "v1.17.2",
                 corrupt: str | None = None, spec: dict | None = None, status: dict | None = None,
                 annotations: dict | None = None, plurals: dict | None = None,
                 pair_order: str = "legacy-first", item_order: str = "discovery",
                 mtime=None, fatal: str | None = None,
                 k8s_version: str = "v1.31.4", ttl: str = "720h0m0s") -> dict:
    """Write backups/<name>/ under root/prefix as Velero would; return a dict
    of what was written: {"dir", "keys": {key: path}, "members": [names],
    "items": n, "backup": <Backup dict>, "tar": <uncompressed tar bytes>}.

    objects       Kubernetes objects (dicts with apiVersion, kind, metadata);
                  the object's apiVersion is the server-preferred version.
    api_versions  {group_resource: {version: [objects]}}: extra copies in
                  non-preferred versions (EnableAPIGroupVersions), written
                  only under resources/<GR>/<version>/...
    format_version "1.1.0" (v1.4+: metadata/version "1.1.0\\n" and the
                  -preferredversion copies), "1" (v0.11-v1.3: "1\\n", legacy
                  paths only), None (Ark: no metadata/version).
    pair_order    "legacy-first" (Velero >= 1.x HEAD code) or
                  "preferred-first" (the 1.5.3 listing).
    item_order    "discovery": group-resources in GR_ORDER, items by
                  namespace/name; "given": the order of objects (extra
                  api_versions copies right after their group-resource).
    itemoperations default () => "[]\\n" as Velero writes; None => "null\\n".
    csi           {"volumesnapshots": [...], "volumesnapshotcontents": [...],
                  "volumesnapshotclasses": [...]}; which files exist depends
                  on velero_version.
    logs          lines (without "\\n"); None => default_logs().
    corrupt       one of CORRUPT_MODES.
    """
    if corrupt is not None and corrupt not in CORRUPT_MODES:
        raise ValueError("corrupt mode %r not in %r" % (corrupt, CORRUPT_MODES))
    if pair_order not in ("legacy-first", "preferred-first"):
        raise ValueError("pair_order")
    started_t = _ts(started)
    completed_t = _ts(completed) if completed is not None else started_t + _dt.timedelta(seconds=42)
    mt = _epoch(mtime) if mtime is not None else _epoch(started_t + _dt.timedelta(seconds=1))
    objects = [copy.deepcopy(o) for o in objects]
    allp = dict(_crd_plurals(objects))
    allp.update(plurals or {})

    # ---- tarball members -------------------------------------------------
    members: list[tuple[str, bytes]] = []
    item_keys: list = []  # parallel to members: (gr, ns, name) of the item, or None
    if format_version is not None:
        members.append(("metadata/version", (format_version + "\n").encode()))
        item_keys.append(None)
    written: list[dict] = []
    by_gr: dict = {}
    for o in objects:
        by_gr.setdefault(group_resource(o, allp), []).append(o)
    extra_by_gr = api_versions or {}
    if item_order == "given":
        gr_seq = list(by_gr) + [gr for gr in extra_by_gr if gr not in by_gr]
        ordered = lambda objs, gr: list(objs)  # noqa: E731
    elif item_order == "discovery":
        gr_seq = sorted(set(by_gr) | set(extra_by_gr), key=_gr_key)
        ordered = lambda objs, gr: sorted(objs, key=lambda o: _object_sort_key(o, gr))  # noqa: E731
    else:
        raise ValueError("item_order")
    for gr in gr_seq:
        for o in ordered(by_gr.get(gr, []), gr):
            md = o["metadata"]
            data = go_marshal(o)
            _, ver = _split_api_version(o["apiVersion"])
            legacy = (item_member_path(gr, md.get("namespace", ""), md["name"]), data)
            if format_version == "1.1.0":
                pref = (item_member_path(gr, md.get("namespace", ""), md["name"], ver + "-preferredversion"), data)
                members += [legacy, pref] if pair_order == "legacy-first" else [pref, legacy]
                item_keys += [(gr, md.get("namespace", ""), md["name"])] * 2
            else:
                members.append(legacy)
                item_keys.append((gr, md.get("namespace", ""), md["name"]))
            written.append(o)
        for ver in sorted(extra_by_gr.get(gr, {})):
            for o in ordered(extra_by_gr[gr][ver], gr):
                md = o["metadata"]
                members.append((item_member_path(gr, md.get("namespace", ""), md["name"], ver), go_marshal(o)))
                item_keys.append((gr + "@" + ver, md.get("namespace", ""), md["name"]))
                written.append(o)
    for n, d in extra_members or []:
        members.append((n, d))
        item_keys.append(None)

    if corrupt == "bad-json-member":
        # both copies of one item (the first ConfigMap, else the first item)
        cands = [k for k in item_keys if k and k[0] == "configmaps"] or [k for k in item_keys if k]
        victim = cands[0]
        bad = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":\x00\xff not json'
        members = [(n, bad if item_keys[i] == victim else d) for i, (n, d) in enumerate(members)]
    if corrupt == "escape-member":
        evil = go_marshal({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "evil", "namespace": "shop"}, "data": {"pwned": "true"}})
        members.append(("resources/../../etc/evil.json", evil))
        members.append(("/etc/evil.json", evil))

    tw = TarWriter(tar_format)
    for n, d in members:
        tw.add(n, d, mt)
    tar = tw.getvalue()
    tarball = go_gzip(tar)

    if corrupt in ("truncated", "truncated-tar"):
        # cut in the middle of the data of the member in the middle of the archive
        mid = tw.index[len(tw.index) // 2]
        cut = mid[2] + max(1, mid[3] // 2)
        if corrupt == "truncated-tar":
            tarball = go_gzip(tar[:cut])
        else:
            co = zlib.compressobj(6, zlib.DEFLATED, -15)
            tarball = GZIP_HEADER + co.compress(tar[:cut]) + co.flush(zlib.Z_SYNC_FLUSH)
    elif corrupt == "garbage":
        rnd = random.Random(name)
        tarball = b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code></Error>\n" + bytes(rnd.getrandbits(8) for _ in range(700))
    elif corrupt == "gzip-not-tar":
        tarball = go_gzip(b"this is not a tar archive\n" * 40)
    elif corrupt == "bad-crc":
        body = bytearray(tarball[10:-8])
        chosen = None
        for i in list(range(len(body) // 2, len(body) - 2)) + list(range(2, len(body) // 2)):
            for mask in (0x01, 0x10, 0x80, 0x04):
                body[i] ^= mask
                out = _inflate_ok(bytes(body))
                if out is not None and zlib.crc32(out) != zlib.crc32(tar):
                    chosen = i
                    break
                body[i] ^= mask
            if chosen is not None:
                break
        if chosen is None:  # fall back: any flip; the stream is then invalid
            body[len(body) // 2] ^= 0xFF
        tarball = tarball[:10] + bytes(body) + tarball[-8:]
    elif corrupt == "empty-tarball":
        tarball = b""
    elif corrupt == "empty-tar":
        tarball = go_gzip(b"\0" * (2 * BLOCK))

    # ---- the Backup object ---------------------------------------------------
    res = _normalize_results(results)
    bk = backup_object(name, phase=phase, started=started_t, completed=completed_t,
                       schedule=schedule, labels=labels, annotations=annotations,
                       format_version=format_version, spec=spec, status=status,
                       total_items=len(written), results=res, k8s_version=k8s_version,
                       ttl=ttl, velero_version=velero_version)
    bjson = go_marshal_indent(bk)
    if corrupt == "malformed-backup-json":
        bjson = bjson[: len(bjson) * 2 // 3]

    # ---- the other objects ---------------------------------------------------
    if logs is None:
        logs = default_logs(name, started_t, completed_t, written, res,
                            namespaces=(spec or {}).get("includedNamespaces"), fatal=fatal)
    files: dict[str, bytes] = {}
    if corrupt != "missing-backup-json":
        files["velero-backup.json"] = bjson
    files[name + ".tar.gz"] = tarball
    files[name + "-logs.gz"] = go_gzip("".join(l + "\n" for l in logs).encode())
    mf = _meta_files(velero_version)
    csi = csi or {}
    plan = [
        ("podvolumebackups", name + "-podvolumebackups.json.gz", podvolumebackups),
        ("volumesnapshots", name + "-volumesnapshots.json.gz", volumesnapshots),
        ("itemoperations", name + "-itemoperations.json.gz", None if itemoperations is None else list(itemoperations)),
        ("csi-volumesnapshots", name + "-csi-volumesnapshots.json.gz", csi.get("volumesnapshots", [])),
        ("csi-volumesnapshotcontents", name + "-csi-volumesnapshotcontents.json.gz", csi.get("volumesnapshotcontents", [])),
        ("csi-volumesnapshotclasses", name + "-csi-volumesnapshotclasses.json.gz", csi.get("volumesnapshotclasses")),
        ("volumeinfo", name + "-volumeinfo.json.gz", volumeinfo),
    ]
    for key, fname, val in plan:
        if mf[key]:
            files[fname] = go_gzip(go_encode(val))
    if mf["resource-list"]:
        files[name + "-resource-list.json.gz"] = go_gzip(go_encode(resource_list(written), sort_keys=True))
    if mf["results"]:
        files[name + "-results.gz"] = go_gzip(go_encode(res))

    bdir = os.path.join(str(root), *[p for p in prefix.strip("/").split("/") if p], "backups", name)
    os.makedirs(bdir, exist_ok=True)
    keys = {}
    stamp = completed_t.timestamp()
    for fname in sorted(files):
        p = os.path.join(bdir, fname)
        with open(p, "wb") as f:
            f.write(files[fname])
        os.utime(p, (stamp, stamp))
        keys[(prefix.strip("/") + "/" if prefix.strip("/") else "") + "backups/" + name + "/" + fname] = p
    return {"dir": bdir, "keys": keys, "members": [n for n, _ in members], "items": len(written),
            "backup": bk, "tar": tar}


# --------------------------------------------------------------------------
# A believable cluster
# --------------------------------------------------------------------------

NGINX_CONF = """\
# nginx front end for the shop
# managed by the platform team; do not edit in the cluster

user  nginx;
worker_processes  auto;

events {
    worker_connections  1024;
}

http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    sendfile        on;
    keepalive_timeout  65;
    client_max_body_size {body};

    upstream api {
        server api.shop.svc.cluster.local:8080;
    }

    server {
        listen       80;
        server_name  shop.example.com;

        location / {
            root   /usr/share/nginx/html;
            index  index.html;
        }

        # API calls go to the api Deployment
        location /api/ {
            proxy_pass http://api;
            proxy_set_header Host $host;
            if ($args ~ "debug=1&trace=1") { return 403; }
        }
    }
}
"""

APP_PROPERTIES = """\
# application settings for api
spring.datasource.url=jdbc:postgresql://db-0.db.shop.svc.cluster.local:5432/shop
spring.datasource.username=shop
server.port=8080
cache.ttl.seconds={ttl}
feature.checkout.v2={checkout}
greeting=Grüße aus dem Shop & willkommen <b>zurück</b>
"""

MAINTENANCE_HTML = """<!doctype html>
<html><head><title>Shop &mdash; maintenance</title></head>
<body><p>We&apos;ll be back soon.</p></body></html>
"""

CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUXq0c3Y7pM3zV8m8kQf1Yl3wqfLwwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMc2hvcC5leGFtcGxlMB4XDTI2MDEwMTAwMDAwMFoXDTI3MDEw
MTAwMDAwMFowFzEVMBMGA1UEAwwMc2hvcC5leGFtcGxlMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEm2bY4y9sT2kqk0Gm0p0cP2u7g1t3bq0x7u1Yb2Vf7Yx0mT8e
-----END CERTIFICATE-----
"""

KEY_PEM = """-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIB3x0fA1dummykeydummykeydummykeydummykeyoAoGCCqGSM49AwEH
oUQDQgAEm2bY4y9sT2kqk0Gm0p0cP2u7g1t3bq0x7u1Yb2Vf7Yx0mT8e
-----END EC PRIVATE KEY-----
"""


def _b64(s: str | bytes) -> str:
    import base64
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


class _Gen:
    def __init__(self, seed: int, variant: int):
        self.seed, self.variant = seed, variant
        self.rnd = random.Random("%s/%s" % (seed, variant))
        self.base = _dt.datetime(2026, 9, 14, 8, 30, 0, tzinfo=UTC)
        self.rv = 48211

    def uid(self, kind, ns, name):
        return stable_uid(self.seed, kind, ns, name)

    def t(self, minutes: int) -> str:
        return rfc3339(self.base + _dt.timedelta(minutes=minutes))

    def rversion(self, kind, ns, name, changed=False):
        h = int(hashlib.sha256(("%s/%s/%s/%s" % (self.seed, kind, ns, name)).encode()).hexdigest()[:6], 16)
        return str(1000 + h % 40000 + (100000 * self.variant if changed else 0))

    def meta(self, kind, name, ns=None, minutes=0, labels=None, annotations=None,
             changed=False, managed=None, extra=None):
        m = {"name": name}
        if ns:
            m["namespace"] = ns
        m["uid"] = self.uid(kind, ns or "", name)
        m["resourceVersion"] = self.rversion(kind, ns or "", name, changed)
        m["creationTimestamp"] = self.t(minutes)
        if labels:
            m["labels"] = labels
        if annotations:
            m["annotations"] = annotations
        if extra:
            m.update(extra)
        if managed:
            m["managedFields"] = managed
        return m

    def mf(self, manager, api, minutes, fields, operation="Update", subresource=None):
        e = {"apiVersion": api, "fieldsType": "FieldsV1", "fieldsV1": fields,
             "manager": manager, "operation": operation, "time": self.t(minutes)}
        if subresource:
            e["subresource"] = subresource
        return e


def _last_applied(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False) + "\n"


def believable_cluster(seed: int = 0, variant: int = 0) -> list[dict]:
    """A realistic object set (see module doc / the brief): namespaces shop and
    ops, workloads, config, RBAC, storage, a CRD with two versions and two
    Widgets, a ConfigMap with a 253-character name and a Role named "a..b".
    Consecutive variants differ like consecutive nightly backups: the web
    image tag, an app.properties line, a ConfigMap that disappears after
    variant 0, a Secret that appears from variant 2, the Job of the day,
    pod names and resourceVersions of what changed."""
    g = _Gen(seed, variant)
    v = variant
    objs: list[dict] = []
    web_tag = "1.4.%d" % (2 + v)
    api_tag = "2.11.0" if v < 2 else "2.11.1"

    # ---- namespaces
    for i, ns in enumerate(["shop", "ops"]):
        objs.append({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": g.meta("Namespace", ns, minutes=i, labels={
                "kubernetes.io/metadata.name": ns, "team": "commerce" if ns == "shop" else "platform"},
                managed=[g.mf("kubectl-create", "v1", i, {"f:metadata": {"f:labels": {".": {}, "f:kubernetes.io/metadata.name": {}, "f:team": {}}}})]),
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        })

    # ---- Deployments web and api
    def deployment(name, image, port, replicas, env, probes_path, minutes, changed):
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "shop", "tier": "frontend" if name == "web" else "backend"}
        container = {
            "env": env,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "livenessProbe": {"failureThreshold": 3, "httpGet": {"path": probes_path, "port": port, "scheme": "HTTP"},
                              "initialDelaySeconds": 10, "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1},
            "name": name,
            "ports": [{"containerPort": port, "name": "http", "protocol": "TCP"}],
            "readinessProbe": {"failureThreshold": 3, "httpGet": {"path": probes_path, "port": port, "scheme": "HTTP"},
                               "periodSeconds": 5, "successThreshold": 1, "timeoutSeconds": 1},
            "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }
        if name == "web":
            container["volumeMounts"] = [{"mountPath": "/etc/nginx/nginx.conf", "name": "nginx-conf", "readOnly": True, "subPath": "nginx.conf"}]
        tmpl_spec = {
            "containers": [container], "dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
            "schedulerName": "default-scheduler", "securityContext": {}, "serviceAccount": "shop",
            "serviceAccountName": "shop", "terminationGracePeriodSeconds": 30,
        }
        if name == "web":
            tmpl_spec["volumes"] = [{"configMap": {"defaultMode": 420, "name": "nginx-conf"}, "name": "nginx-conf"}]
        applied = {"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"annotations": {}, "labels": labels, "name": name, "namespace": "shop"},
                   "spec": {"replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"image": image, "name": name}]}}}}
        gen = 3 + (v if changed else 0)
        return {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": g.meta("Deployment", name, "shop", minutes, labels=labels, changed=changed, annotations={
                "deployment.kubernetes.io/revision": str(gen - 1),
                "kubectl.kubernetes.io/last-applied-configuration": _last_applied(applied)},
                extra={"generation": gen},
                managed=[
                    g.mf("kubectl-client-side-apply", "apps/v1", minutes, {
                        "f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}, "f:labels": {".": {}, "f:app.kubernetes.io/name": {}, "f:app.kubernetes.io/part-of": {}, "f:tier": {}}},
                        "f:spec": {"f:progressDeadlineSeconds": {}, "f:replicas": {}, "f:revisionHistoryLimit": {}, "f:selector": {}, "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}, "f:type": {}},
                                   "f:template": {"f:metadata": {"f:labels": {".": {}, "f:app.kubernetes.io/name": {}}}, "f:spec": {"f:containers": {"k:{\"name\":\"%s\"}" % name: {".": {}, "f:image": {}, "f:name": {}}}}}}}),
                    g.mf("kube-controller-manager", "apps/v1", minutes + 2, {
                        "f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}},
                        "f:status": {"f:availableReplicas": {}, "f:conditions": {".": {}, "k:{\"type\":\"Available\"}": {".": {}, "f:type": {}}}, "f:observedGeneration": {}, "f:readyReplicas": {}, "f:replicas": {}, "f:updatedReplicas": {}}},
                        subresource="status"),
                ]),
            "spec": {
                "progressDeadlineSeconds": 600, "replicas": replicas, "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
                "template": {"metadata": {"creationTimestamp": None, "labels": labels}, "spec": tmpl_spec},
            },
            "status": {
                "availableReplicas": replicas,
                "conditions": [
                    {"lastTransitionTime": g.t(minutes + 1), "lastUpdateTime": g.t(minutes + 1), "message": "Deployment has minimum availability.", "reason": "MinimumReplicasAvailable", "status": "True", "type": "Available"},
                    {"lastTransitionTime": g.t(minutes), "lastUpdateTime": g.t(minutes + 2), "message": "ReplicaSet \"%s-%s\" has successfully progressed." % (name, _rs_hash(name, image)), "reason": "NewReplicaSetAvailable", "status": "True", "type": "Progressing"},
                ],
                "observedGeneration": gen, "readyReplicas": replicas, "replicas": replicas, "updatedReplicas": replicas,
            },
        }

    web_env = [{"name": "NGINX_ENTRYPOINT_QUIET_LOGS", "value": "1"}, {"name": "TZ", "value": "Europe/Berlin"}]
    api_env = [
        {"name": "SPRING_PROFILES_ACTIVE", "value": "prod"},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"key": "password", "name": "db-credentials"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
        {"name": "JAVA_OPTS", "value": "-Xms256m -Xmx512m -Dfile.encoding=UTF-8"},
    ]
    web_image = "registry.example.com/shop/web:" + web_tag
    api_image = "registry.example.com/shop/api:" + api_tag
    objs.append(deployment("web", web_image, 80, 2, web_env, "/healthz", 10, changed=True))
    objs.append(deployment("api", api_image, 8080, 1, api_env, "/actuator/health", 11, changed=v >= 2))

    # ---- ReplicaSets and Pods (they change with every rollout)
    for dname, image, reps, ro in (("web", web_image, 2, v), ("api", api_image, 1, 0 if v < 2 else 2)):
        # ro: the variant in which this Deployment last rolled out
        h = _rs_hash(dname, image)
        rsname = "%s-%s" % (dname, h)
        dep_uid = g.uid("Deployment", "shop", dname)
        objs.append({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": g.meta("ReplicaSet", rsname, "shop", 20 + ro * 1440,
                               labels={"app.kubernetes.io/name": dname, "pod-template-hash": h},
                               annotations={"deployment.kubernetes.io/desired-replicas": str(reps), "deployment.kubernetes.io/max-replicas": str(reps + 1), "deployment.kubernetes.io/revision": "2"},
                               extra={"generation": 1, "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True, "kind": "Deployment", "name": dname, "uid": dep_uid}]}),
            "spec": {"replicas": reps, "selector": {"matchLabels": {"app.kubernetes.io/name": dname, "pod-template-hash": h}},
                     "template": {"metadata": {"creationTimestamp": None, "labels": {"app.kubernetes.io/name": dname, "pod-template-hash": h}},
                                  "spec": {"containers": [{"image": image, "name": dname}], "restartPolicy": "Always"}}},
            "status": {"availableReplicas": reps, "fullyLabeledReplicas": reps, "observedGeneration": 1, "readyReplicas": reps, "replicas": reps},
        })
        for i in range(reps):
            pname = "%s-%s" % (rsname, _pod_suffix(dname, image, i))
            objs.append({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": g.meta("Pod", pname, "shop", 21 + ro * 1440, labels={"app.kubernetes.io/name": dname, "pod-template-hash": h},
                                   extra={"generateName": rsname + "-", "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True, "kind": "ReplicaSet", "name": rsname, "uid": g.uid("ReplicaSet", "shop", rsname)}]}),
                "spec": {"containers": [{"image": image, "imagePullPolicy": "IfNotPresent", "name": dname,
                                         "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}}],
                         "nodeName": "aks-nodepool1-31718369-vmss00000%d" % (i % 3), "restartPolicy": "Always",
                         "serviceAccountName": "shop", "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300}]},
                "status": {"phase": "Running", "podIP": "10.244.%d.%d" % (i, 20 + i + 3 * ro), "qosClass": "Burstable", "startTime": g.t(21 + ro * 1440)},
            })

    # ---- StatefulSet db
    objs.append({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": g.meta("StatefulSet", "db", "shop", 12, labels={"app.kubernetes.io/name": "db"}, extra={"generation": 1}),
        "spec": {
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "podManagementPolicy": "OrderedReady", "replicas": 1, "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "db"}}, "serviceName": "db",
            "template": {"metadata": {"creationTimestamp": None, "labels": {"app.kubernetes.io/name": "db"}},
                         "spec": {"containers": [{"env": [{"name": "POSTGRES_DB", "value": "shop"}, {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
                                                          {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"key": "password", "name": "db-credentials"}}}],
                                                  "image": "docker.io/library/postgres:16.4", "name": "postgres",
                                                  "ports": [{"containerPort": 5432, "name": "pg", "protocol": "TCP"}],
                                                  "volumeMounts": [{"mountPath": "/var/lib/postgresql/data", "name": "data"}]}],
                                  "terminationGracePeriodSeconds": 60}},
            "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
            "volumeClaimTemplates": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                      "metadata": {"creationTimestamp": None, "name": "data"},
                                      "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}},
                                               "storageClassName": "managed-csi", "volumeMode": "Filesystem"},
                                      "status": {"phase": "Pending"}}],
        },
        "status": {"availableReplicas": 1, "collisionCount": 0, "currentReplicas": 1, "currentRevision": "db-7c9d8b6f5d",
                   "observedGeneration": 1, "readyReplicas": 1, "replicas": 1, "updateRevision": "db-7c9d8b6f5d", "updatedReplicas": 1},
    })
    objs.append({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": g.meta("Pod", "db-0", "shop", 13, labels={"app.kubernetes.io/name": "db", "apps.kubernetes.io/pod-index": "0", "controller-revision-hash": "db-7c9d8b6f5d", "statefulset.kubernetes.io/pod-name": "db-0"},
                           annotations={"backup.velero.io/backup-volumes": "data"},
                           extra={"generateName": "db-", "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True, "kind": "StatefulSet", "name": "db", "uid": g.uid("StatefulSet", "shop", "db")}]}),
        "spec": {"containers": [{"image": "docker.io/library/postgres:16.4", "name": "postgres", "volumeMounts": [{"mountPath": "/var/lib/postgresql/data", "name": "data"}]}],
                 "hostname": "db-0", "nodeName": "aks-nodepool1-31718369-vmss000001", "subdomain": "db",
                 "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}]},
        "status": {"phase": "Running", "podIP": "10.244.1.17", "qosClass": "BestEffort", "startTime": g.t(13)},
    })

    # ---- Services
    def service(name, spec, minutes):
        return {"apiVersion": "v1", "kind": "Service",
                "metadata": g.meta("Service", name, "shop", minutes, labels={"app.kubernetes.io/name": name.split("-")[0]}),
                "spec": spec, "status": {"loadBalancer": {}}}
    objs.append(service("web", {"clusterIP": "10.0.114.27", "clusterIPs": ["10.0.114.27"], "externalTrafficPolicy": "Cluster",
                                "internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                                "ports": [{"name": "http", "nodePort": 30080, "port": 80, "protocol": "TCP", "targetPort": "http"}],
                                "selector": {"app.kubernetes.io/name": "web"}, "sessionAffinity": "None", "type": "NodePort"}, 14))
    objs.append(service("api", {"clusterIP": "10.0.201.5", "clusterIPs": ["10.0.201.5"], "internalTrafficPolicy": "Cluster",
                                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                                "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "targetPort": 8080}],
                                "selector": {"app.kubernetes.io/name": "api"}, "sessionAffinity": "None", "type": "ClusterIP"}, 14))
    objs.append(service("db", {"clusterIP": "None", "clusterIPs": ["None"], "internalTrafficPolicy": "Cluster",
                               "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "publishNotReadyAddresses": True,
                               "ports": [{"name": "pg", "port": 5432, "protocol": "TCP", "targetPort": 5432}],
                               "selector": {"app.kubernetes.io/name": "db"}, "sessionAffinity": "None", "type": "ClusterIP"}, 14))
    objs.append({"apiVersion": "v1", "kind": "Endpoints",
                 "metadata": g.meta("Endpoints", "db", "shop", 14, labels={"app.kubernetes.io/name": "db", "service.kubernetes.io/headless": ""}),
                 "subsets": [{"addresses": [{"hostname": "db-0", "ip": "10.244.1.17", "nodeName": "aks-nodepool1-31718369-vmss000001",
                                             "targetRef": {"kind": "Pod", "name": "db-0", "namespace": "shop", "uid": g.uid("Pod", "shop", "db-0")}}],
                              "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}]})

    # ---- ConfigMaps
    def cm(name, data, ns="shop", minutes=15, changed=False, labels=None, binary=None):
        o = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": g.meta("ConfigMap", name, ns, minutes, labels=labels, changed=changed),
             "data": data}
        if binary:
            o["binaryData"] = binary
        return o
    objs.append(cm("nginx-conf", {"nginx.conf": NGINX_CONF.replace("{body}", "10m" if v < 2 else "25m")}, changed=v >= 2,
                   labels={"app.kubernetes.io/name": "web"}))
    objs.append(cm("api-config", {
        "app.properties": APP_PROPERTIES.format(ttl=300 if v % 2 == 0 else 600, checkout="false" if v < 1 else "true"),
        "config.json": json.dumps({"payment": {"provider": "stripe", "timeoutMs": 2500, "retries": 3},
                                   "features": ["search", "wishlist"], "limits": {"ratio": 0.75, "epsilon": 1.5e-07}}, indent=2) + "\n",
        "enabled": "yes", "mode": "0755", "replicas-hint": "1e3", "empty": "", "null-ish": "null",
        "motd": "Willkommen im Shop \u2028 ようこそ \u2029 – 50% off <today> & tomorrow",
    }, changed=v >= 1))
    objs.append(cm("maintenance-page", {"index.html": MAINTENANCE_HTML}, minutes=16))
    if v == 0:
        objs.append(cm("promo-banner", {"text": "Black Friday: 30% off everything\n"}, minutes=17))
    objs.append(cm("kube-root-ca.crt", {"ca.crt": CA_PEM}, minutes=0))
    long_name = ("shop-" + "-".join(["release-notes-archive-2026"] * 9) + "-0123456789abcdef")
    long_name = (long_name + "x" * 253)[:253]
    assert len(long_name) == 253
    objs.append(cm(long_name, {"README": "A ConfigMap whose name is exactly 253 characters long.\n"}, minutes=18))

    # ---- Secrets
    objs.append({"apiVersion": "v1", "kind": "Secret",
                 "metadata": g.meta("Secret", "db-credentials", "shop", 15),
                 "data": {"password": _b64("s3cr3t-Pa55w0rd!"), "username": _b64("shop")}, "type": "Opaque"})
    objs.append({"apiVersion": "v1", "kind": "Secret",
                 "metadata": g.meta("Secret", "shop-tls", "shop", 15, annotations={"cert-manager.io/issuer-name": "letsencrypt-prod"}),
                 "data": {"tls.crt": _b64(CA_PEM), "tls.key": _b64(KEY_PEM)}, "type": "kubernetes.io/tls"})
    if v >= 2:
        objs.append({"apiVersion": "v1", "kind": "Secret",
                     "metadata": g.meta("Secret", "payment-gateway", "shop", 2 * 1440),
                     "data": {"api-key": _b64("pk_live_%08x" % g.rnd.getrandbits(32))}, "type": "Opaque"})

    # ---- ServiceAccount, Role, RoleBinding
    objs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": g.meta("ServiceAccount", "shop", "shop", 9),
                 "automountServiceAccountToken": False})
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                 "metadata": g.meta("Role", "config-reader", "shop", 9),
                 "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]})
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                 "metadata": g.meta("Role", "a..b", "shop", 9),
                 "rules": [{"apiGroups": [""], "resourceNames": ["a..b"], "resources": ["secrets"], "verbs": ["get"]}]})
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": g.meta("RoleBinding", "shop-config-reader", "shop", 9),
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "config-reader"},
                 "subjects": [{"kind": "ServiceAccount", "name": "shop", "namespace": "shop"}]})

    # ---- PVC + PV + StorageClass
    pv_name = "pvc-" + g.uid("PersistentVolumeClaim", "shop", "data-db-0")
    objs.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                 "metadata": g.meta("PersistentVolumeClaim", "data-db-0", "shop", 12, labels={"app.kubernetes.io/name": "db"},
                                    annotations={"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
                                                 "volume.beta.kubernetes.io/storage-provisioner": "disk.csi.azure.com",
                                                 "volume.kubernetes.io/selected-node": "aks-nodepool1-31718369-vmss000001",
                                                 "volume.kubernetes.io/storage-provisioner": "disk.csi.azure.com"},
                                    extra={"finalizers": ["kubernetes.io/pvc-protection"]}),
                 "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}},
                          "storageClassName": "managed-csi", "volumeMode": "Filesystem", "volumeName": pv_name},
                 "status": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"}, "phase": "Bound"}})
    objs.append({"apiVersion": "v1", "kind": "PersistentVolume",
                 "metadata": g.meta("PersistentVolume", pv_name, None, 12,
                                    annotations={"pv.kubernetes.io/provisioned-by": "disk.csi.azure.com", "volume.kubernetes.io/provisioner-deletion-secret-name": "", "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""},
                                    extra={"finalizers": ["external-provisioner.volume.kubernetes.io/finalizer", "kubernetes.io/pv-protection"]}),
                 "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"},
                          "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": "data-db-0", "namespace": "shop",
                                       "resourceVersion": g.rversion("PersistentVolumeClaim", "shop", "data-db-0"), "uid": g.uid("PersistentVolumeClaim", "shop", "data-db-0")},
                          "csi": {"driver": "disk.csi.azure.com", "fsType": "ext4",
                                  "volumeAttributes": {"csi.storage.k8s.io/pv/name": pv_name, "csi.storage.k8s.io/pvc/name": "data-db-0",
                                                       "csi.storage.k8s.io/pvc/namespace": "shop", "requestedsizegib": "10", "skuname": "StandardSSD_LRS"},
                                  "volumeHandle": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/mc_shop/providers/Microsoft.Compute/disks/" + pv_name},
                          "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.disk.csi.azure.com/zone", "operator": "In", "values": [""]}]}]}},
                          "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "managed-csi", "volumeMode": "Filesystem"},
                 "status": {"lastPhaseTransitionTime": g.t(12), "phase": "Bound"}})
    objs.append({"allowVolumeExpansion": True, "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                 "metadata": g.meta("StorageClass", "managed-csi", None, -60 * 24 * 30,
                                    labels={"addonmanager.kubernetes.io/mode": "EnsureExists", "kubernetes.io/cluster-service": "true"},
                                    managed=[g.mf("kubectl-create", "storage.k8s.io/v1", -60 * 24 * 30, {"f:allowVolumeExpansion": {}, "f:metadata": {"f:labels": {".": {}, "f:addonmanager.kubernetes.io/mode": {}, "f:kubernetes.io/cluster-service": {}}}, "f:parameters": {".": {}, "f:skuname": {}}, "f:provisioner": {}, "f:reclaimPolicy": {}, "f:volumeBindingMode": {}})]),
                 "parameters": {"skuname": "StandardSSD_LRS"}, "provisioner": "disk.csi.azure.com",
                 "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"})

    # ---- ops: CronJob, Job of the day, ConfigMap app.config
    objs.append({"apiVersion": "batch/v1", "kind": "CronJob",
                 "metadata": g.meta("CronJob", "nightly-report", "ops", 30, extra={"generation": 1}),
                 "spec": {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": 1, "schedule": "30 1 * * *",
                          "successfulJobsHistoryLimit": 1, "suspend": False, "timeZone": "Etc/UTC",
                          "jobTemplate": {"metadata": {"creationTimestamp": None},
                                          "spec": {"backoffLimit": 2, "template": {"metadata": {"creationTimestamp": None},
                                                   "spec": {"containers": [{"args": ["--since=24h", "--format=csv"], "command": ["/bin/report"],
                                                                            "image": "registry.example.com/ops/report:0.9.1", "name": "report"}],
                                                            "restartPolicy": "OnFailure"}}}}},
                 "status": {"lastScheduleTime": rfc3339(_dt.datetime(2026, 11, 18 + v, 1, 30, tzinfo=UTC)),
                            "lastSuccessfulTime": rfc3339(_dt.datetime(2026, 11, 18 + v, 1, 31, 12, tzinfo=UTC))}})
    job_minute = int(_dt.datetime(2026, 11, 18 + v, 1, 30, tzinfo=UTC).timestamp() // 60)
    jname = "nightly-report-%d" % job_minute
    objs.append({"apiVersion": "batch/v1", "kind": "Job",
                 "metadata": g.meta("Job", jname, "ops", 0, labels={"batch.kubernetes.io/job-name": jname, "job-name": jname},
                                    extra={"creationTimestamp": rfc3339(_dt.datetime(2026, 11, 18 + v, 1, 30, tzinfo=UTC)), "generation": 1,
                                           "ownerReferences": [{"apiVersion": "batch/v1", "blockOwnerDeletion": True, "controller": True, "kind": "CronJob", "name": "nightly-report", "uid": g.uid("CronJob", "ops", "nightly-report")}]}),
                 "spec": {"backoffLimit": 2, "completionMode": "NonIndexed", "completions": 1, "parallelism": 1,
                          "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": g.uid("Job", "ops", jname)}},
                          "template": {"metadata": {"creationTimestamp": None, "labels": {"batch.kubernetes.io/controller-uid": g.uid("Job", "ops", jname), "job-name": jname}},
                                       "spec": {"containers": [{"image": "registry.example.com/ops/report:0.9.1", "name": "report"}], "restartPolicy": "OnFailure"}}},
                 "status": {"completionTime": rfc3339(_dt.datetime(2026, 11, 18 + v, 1, 31, 12, tzinfo=UTC)), "ready": 0, "succeeded": 1,
                            "startTime": rfc3339(_dt.datetime(2026, 11, 18 + v, 1, 30, tzinfo=UTC))}})
    objs.append(cm("app.config", {"log.level": "info" if v < 1 else "debug", "retention.days": "14"}, ns="ops", minutes=31, changed=v >= 1))

    # ---- cluster RBAC
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                 "metadata": g.meta("ClusterRole", "system:shop:reader", None, 8, labels={"rbac.example.com/aggregate-to-view": "true"}),
                 "rules": [{"apiGroups": ["", "apps"], "resources": ["configmaps", "deployments", "services"], "verbs": ["get", "list", "watch"]},
                           {"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get", "list"]},
                           {"nonResourceURLs": ["/healthz", "/version"], "verbs": ["get"]}]})
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                 "metadata": g.meta("ClusterRoleBinding", "system:shop:reader", None, 8),
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:shop:reader"},
                 "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "shop-auditors"},
                              {"kind": "ServiceAccount", "name": "shop", "namespace": "shop"}]})

    # ---- CRD with two versions, and Widgets
    schema = {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"color": {"type": "string", "enum": ["blue", "green", "red"]},
                                                  "size": {"type": "integer", "minimum": 1, "maximum": 100},
                                                  "weight": {"type": "number"}}},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}
    objs.append({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                 "metadata": g.meta("CustomResourceDefinition", "widgets.example.com", None, 5, extra={"generation": 2}),
                 "spec": {"conversion": {"strategy": "None"}, "group": "example.com",
                          "names": {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "shortNames": ["wg"], "singular": "widget"},
                          "scope": "Namespaced",
                          "versions": [
                              {"name": "v1", "schema": schema, "served": True, "storage": True, "subresources": {"status": {}},
                               "additionalPrinterColumns": [{"jsonPath": ".spec.color", "name": "Color", "type": "string"}]},
                              {"name": "v1beta1", "schema": schema, "served": True, "storage": False, "deprecated": True,
                               "deprecationWarning": "example.com/v1beta1 Widget is deprecated; use example.com/v1"}]},
                 "status": {"acceptedNames": {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "shortNames": ["wg"], "singular": "widget"},
                            "conditions": [{"lastTransitionTime": g.t(5), "message": "no conflicts found", "reason": "NoConflicts", "status": "True", "type": "NamesAccepted"},
                                           {"lastTransitionTime": g.t(5), "message": "the initial names have been accepted", "reason": "InitialNamesAccepted", "status": "True", "type": "Established"}],
                            "storedVersions": ["v1beta1", "v1"]}})
    for i, (wname, color, size, weight) in enumerate((("blue", "blue", 3, 0.25), ("green", "green", 12 + v, 1.5))):
        objs.append({"apiVersion": "example.com/v1", "kind": "Widget",
                     "metadata": g.meta("Widget", wname, "shop", 6 + i, extra={"generation": 1}, changed=(wname == "green" and v > 0)),
                     "spec": {"color": color, "size": size, "weight": weight},
                     "status": {"observedGeneration": 1, "ready": True}})
    return objs


def _rs_hash(name: str, image: str) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    h = int(hashlib.sha256((name + "@" + image).encode()).hexdigest(), 16)
    s = ""
    for _ in range(10):
        s += alphabet[h % len(alphabet)]
        h //= len(alphabet)
    return s


def _pod_suffix(name: str, image: str, i: int) -> str:
    return _rs_hash(name + str(i), image)[:5]


def widget_as_v1beta1(objs: list[dict]) -> list[dict]:
    """The Widgets as the v1beta1 endpoint serves them (for api_versions=)."""
    out = []
    for o in objs:
        if o.get("kind") == "Widget":
            c = copy.deepcopy(o)
            c["apiVersion"] = "example.com/v1beta1"
            out.append(c)
    return out


def filter_namespaces(objects: list[dict], namespaces: list[str]) -> list[dict]:
    """What a backup with includedNamespaces=namespaces holds: the namespaced
    items of those namespaces, their Namespace objects, PVs bound to their
    PVCs (the PVC backup item action) and the CRDs of their custom
    resources (backupCRD)."""
    ns = set(namespaces)
    keep = [o for o in objects if o["metadata"].get("namespace") in ns]
    keep += [o for o in objects if o["kind"] == "Namespace" and o["metadata"]["name"] in ns]
    pvs = {o["spec"].get("volumeName") for o in keep if o["kind"] == "PersistentVolumeClaim"}
    keep += [o for o in objects if o["kind"] == "PersistentVolume" and o["metadata"]["name"] in pvs]
    groups = {(_split_api_version(o["apiVersion"])[0], o["kind"]) for o in keep}
    keep += [o for o in objects if o["kind"] == "CustomResourceDefinition"
             and (o["spec"]["group"], o["spec"]["names"]["kind"]) in groups]
    return keep


# --------------------------------------------------------------------------
# per-backup metadata objects (Go struct field order)
# --------------------------------------------------------------------------

def pod_volume_backup(backup: str, pod: dict, volume: str, *, started, completed,
                      total_bytes: int = 734003200, snapshot_id: str | None = None,
                      uploader: str = "kopia", velero_namespace: str = "velero") -> dict:
    """One velero.io/v1 PodVolumeBackup as -podvolumebackups.json.gz holds it."""
    md = pod["metadata"]
    ns, pname = md["namespace"], md["name"]
    buid = stable_uid("backup", velero_namespace, backup)
    name = "%s-%s" % (backup, hashlib.sha256((backup + pname + volume).encode()).hexdigest()[:5])
    return {
        "kind": "PodVolumeBackup", "apiVersion": "velero.io/v1",
        "metadata": {
            "name": name, "generateName": backup + "-", "namespace": velero_namespace,
            "uid": stable_uid("pvb", backup, pname, volume),
            "resourceVersion": str(200000 + int(hashlib.sha256(name.encode()).hexdigest()[:5], 16) % 99999),
            "generation": 4, "creationTimestamp": rfc3339(started),
            "labels": {"velero.io/backup-name": backup, "velero.io/backup-uid": buid,
                       "velero.io/pvc-uid": stable_uid("pvc", ns, pname, volume)},
            "annotations": {"velero.io/pvc-name": "data-" + pname},
            "ownerReferences": [{"apiVersion": "velero.io/v1", "kind": "Backup", "name": backup,
                                 "uid": buid, "controller": True}],
        },
        "spec": {
            "node": pod["spec"].get("nodeName", ""),
            "pod": {"kind": "Pod", "namespace": ns, "name": pname, "uid": md["uid"]},
            "volume": volume, "backupStorageLocation": "default",
            "repoIdentifier": "", "uploaderType": uploader,
            "tags": {"backup": backup, "backup-uid": buid, "ns": ns, "pod": pname,
                     "pod-uid": md["uid"], "pvc-uid": stable_uid("pvc", ns, pname, volume), "volume": volume},
        },
        "status": {
            "phase": "Completed",
            "path": "/host_pods/%s/volumes/kubernetes.io~csi/pvc-%s/mount" % (md["uid"], stable_uid("pvc", ns, pname, volume)),
            "snapshotID": snapshot_id or hashlib.sha256((backup + volume).encode()).hexdigest()[:32],
            "startTimestamp": rfc3339(started), "completionTimestamp": rfc3339(completed),
            "progress": {"totalBytes": total_bytes, "bytesDone": total_bytes},
        },
    }


def volume_info_pvb(pvb: dict, pvc: dict, pv: dict) -> dict:
    """One BackupVolumeInfo (internal/volume/volumes_information.go) for a
    pod volume backup."""
    return {
        "pvcName": pvc["metadata"]["name"], "pvcNamespace": pvc["metadata"]["namespace"],
        "pvName": pv["metadata"]["name"], "backupMethod": "PodVolumeBackup",
        "snapshotDataMoved": False, "preserveLocalSnapshot": False, "skipped": False,
        "startTimestamp": pvb["status"]["startTimestamp"],
        "completionTimestamp": pvb["status"]["completionTimestamp"],
        "result": "succeeded",
        "pvbInfo": {"snapshotHandle": pvb["status"]["snapshotID"], "size": pvb["status"]["progress"]["totalBytes"],
                    "uploaderType": pvb["spec"]["uploaderType"], "volumeName": pvb["spec"]["volume"],
                    "podName": pvb["spec"]["pod"]["name"], "podNamespace": pvb["spec"]["pod"]["namespace"],
                    "nodeName": pvb["spec"]["node"]},
        "pvInfo": {"reclaimPolicy": pv["spec"]["persistentVolumeReclaimPolicy"], "labels": pv["metadata"].get("labels", {})},
    }
