"""Helpers for the mount-level tests: the daemon under test, reading what a
vault holds with Python's own tarfile/gzip (the reference the mount is
compared with), and the mapping from tarball members to tree paths.

Nothing here imports FUSE bindings; the daemon is the real binary."""

from __future__ import annotations

import datetime as _dt
import gzip
import io
import json
import math
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "velero-samples"
SHOP_VAULT = REPO / "tests" / "data" / "shop-vault"

if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import vaultgen  # noqa: E402

# What the daemon must never write to stderr.  SANITIZER always fails a
# test; GENERIC fails it unless the test expects error logs (allow_errors).
SANITIZER_RE = re.compile(r"ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ThreadSanitizer")
GENERIC_RE = re.compile(r"error:")

READY_TIMEOUT = 60.0  # a deadline polled for, not a sleep: generous under load and ASan
REAP_TIMEOUT = 30.0


def build_dir() -> pathlib.Path:
    b = pathlib.Path(os.environ.get("VELEROFS_BUILD", str(REPO / "build")))
    return b if b.is_absolute() else REPO / b


def velerofs_binary() -> pathlib.Path:
    return build_dir() / "velerofs"


def fusermount() -> str:
    return shutil.which("fusermount3") or shutil.which("fusermount") or "fusermount3"


def run(cmd, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 60)
    return subprocess.run([str(c) for c in cmd], **kw)


def mount_ids(path) -> list[bytes]:
    """The ids of the mounts on path, bottom first, dead or alive (a dead
    FUSE mount fails stat with ENOTCONN or answers from the kernel's cache,
    so os.path.ismount() cannot tell; /proc/self/mountinfo lists it)."""
    p = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(path))),
                     os.path.basename(os.path.abspath(path)))
    ids = []
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            fields = line.split(b" ")
            mp = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), fields[4])
            if mp == os.fsencode(p):
                ids.append(fields[0])
    return ids


def in_mountinfo(path) -> bool:
    return bool(mount_ids(path))


def live_mount(path) -> bool:
    """A mount on path whose daemon answers: statfs always reaches the
    daemon (a dead mount fails it with ENOTCONN, even when stat is answered
    from the kernel's cache)."""
    try:
        os.statvfs(path)
    except OSError:
        return False
    return os.path.ismount(path)


def unmount(path, lazy_ok: bool = True) -> None:
    """fusermount3 -u; when busy (or the daemon is dead), -u -z."""
    path = str(path)
    for _ in range(20):
        if not in_mountinfo(path):
            return
        r = subprocess.run([fusermount(), "-u", path], capture_output=True)
        if r.returncode == 0:
            return
        if lazy_ok:
            subprocess.run([fusermount(), "-u", "-z", path], capture_output=True)
            if not in_mountinfo(path):
                return
        time.sleep(0.1)


def wait_for(pred, timeout: float, ignore: tuple = ()) -> bool:
    """Polls pred() until it is true (True) or timeout seconds have passed
    (False); an exception of a type in ignore counts as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return True
        except ignore:
            pass
        time.sleep(0.2)
    return False


def scan_stderr(text: str, allow_errors: bool) -> list[str]:
    """The lines of a daemon's stderr that make the test fail."""
    bad = []
    for line in text.splitlines():
        if SANITIZER_RE.search(line) or (not allow_errors and GENERIC_RE.search(line)):
            bad.append(line)
    return bad


class Mount(os.PathLike):
    """One `velerofs mount -f` daemon.  os.fspath(m) is the mount point;
    `m / "backups"` is a pathlib.Path inside it."""

    def __init__(self, binary, vault, mnt, cache, *, json_view=False, args=(),
                 allow_errors=False, stderr_dir=None):
        self.binary = pathlib.Path(binary)
        self.vault = str(vault)
        self.path = pathlib.Path(mnt)
        self.cache = pathlib.Path(cache)
        self.json_view = json_view
        self.args = list(args)
        self.allow_errors = allow_errors
        self.stderr_dir = pathlib.Path(stderr_dir or self.path.parent)
        self.proc: subprocess.Popen | None = None
        self.generation = 0
        self.stderr_files: list[pathlib.Path] = []
        self.exit_problems: list[str] = []
        self.path.mkdir(parents=True, exist_ok=True)
        self.cache.mkdir(parents=True, exist_ok=True)

    # os.PathLike
    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __truediv__(self, other) -> pathlib.Path:
        return self.path / other

    @property
    def ext(self) -> str:
        return ".json" if self.json_view else ".yaml"

    def cmdline(self) -> list[str]:
        cmd = [str(self.binary), "mount", "-f", "--cache", str(self.cache)]
        if self.json_view:
            cmd += ["-o", "json"]
        cmd += self.args
        cmd += [self.vault, str(self.path)]
        return cmd

    def start(self) -> "Mount":
        self.generation += 1
        errf = self.stderr_dir / ("velerofs-%s-%d.stderr" % (self.path.name, self.generation))
        self.stderr_files.append(errf)
        with open(errf, "wb") as err:
            self.proc = subprocess.Popen(self.cmdline(), stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)
        deadline = time.monotonic() + READY_TIMEOUT
        while not live_mount(self.path):
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                raise MountError("velerofs mount exited with %d before the mount was ready:\n%s"
                                 % (rc, self.stderr()))
            if time.monotonic() > deadline:
                self._kill()
                unmount(self.path)
                raise MountError("velerofs mount not ready after %.0f s:\n%s"
                                 % (READY_TIMEOUT, self.stderr()))
            time.sleep(0.02)
        return self

    def stderr(self, all_runs: bool = False) -> str:
        files = self.stderr_files if all_runs else self.stderr_files[-1:]
        out = []
        for f in files:
            try:
                out.append(f.read_text(errors="replace"))
            except FileNotFoundError:
                pass
        return "".join(out)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(REAP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass

    def stop(self) -> int | None:
        """Unmount and reap; returns the daemon's exit status (None if it
        had to be killed)."""
        unmount(self.path)
        rc = None
        if self.proc is not None:
            if self.proc.returncode is not None:
                rc = self.proc.returncode
                if rc != 0:  # it died before we unmounted it
                    self.exit_problems.append("daemon %d had exited with status %d before unmount"
                                              % (self.proc.pid, rc))
                self.proc = None
                return rc
            try:
                rc = self.proc.wait(REAP_TIMEOUT)
                if rc != 0:
                    self.exit_problems.append("daemon %d exited with status %d after unmount"
                                              % (self.proc.pid, rc))
            except subprocess.TimeoutExpired:
                self._kill()
                self.exit_problems.append("daemon %d did not exit within %.0f s of unmount; killed"
                                          % (self.proc.pid, REAP_TIMEOUT))
                rc = None
            self.proc = None
        return rc

    def kill9(self) -> None:
        """SIGKILL the daemon (as a crash would) and clear the dead mount."""
        assert self.proc is not None and self.proc.poll() is None, "daemon not running"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(REAP_TIMEOUT)
        self.proc = None
        unmount(self.path)

    def restart(self, kill: bool = True) -> "Mount":
        """kill -9 (or cleanly unmount) and mount again on the same cache."""
        if kill:
            self.kill9()
        else:
            self.stop()
        return self.start()

    def problems(self) -> list[str]:
        return self.exit_problems + scan_stderr(self.stderr(all_runs=True), self.allow_errors)


class MountError(Exception):
    pass


# --------------------------------------------------------------------------
# names, members and the tree


def fnv1a(b: bytes) -> int:
    h = 2166136261
    for c in b:
        h ^= c
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def component_name(name: str, ext: str = "") -> str:
    """The file name the tree shows for name + ext: names whose "<name><ext>"
    would exceed 255 bytes are cut (at a UTF-8 boundary) and get
    "~<8 hex of FNV-1a of the full name>" before the extension."""
    b = name.encode("utf-8")
    e = ext.encode("utf-8")
    if len(b) + len(e) <= 255:
        return name + ext
    keep = 255 - len(e) - 9
    while keep > 0 and (b[keep] & 0xC0) == 0x80:
        keep -= 1
    return (b[:keep].decode("utf-8") + "~%08x" % fnv1a(b)) + ext


VERSION_DIR_RE = re.compile(r"^v\d+((alpha|beta)\d+)?(-preferredversion)?$")


def member_tree_path(member: str, ext: str = ".yaml") -> str | None:
    """Where the item stored at a tarball member shows up in a backup dir,
    or None for members that are not items (metadata/version, junk)."""
    parts = member.split("/")
    if len(parts) < 4 or parts[0] != "resources" or not parts[-1].endswith(".json"):
        return None
    gr = parts[1]
    rest = parts[2:]
    name = component_name(rest[-1][: -len(".json")], ext)
    if VERSION_DIR_RE.match(rest[0]) and len(rest) >= 3:
        ver = rest[0]
        scope = rest[1:-1]
        return "/".join(["apiversions", gr, ver] + scope + [name])
    scope = rest[:-1]
    if scope[0] == "namespaces" and len(scope) == 2:
        return "/".join(["namespaces", scope[1], gr, name])
    if scope == ["cluster"]:
        return "/".join(["cluster", gr, name])
    return None


def version_links(members: dict, ext: str = ".yaml") -> dict[str, str]:
    """{tree path: symlink target} of the item copies under apiversions/
    that are links: a version directory's copy with the very bytes of the
    item namespaces/ or cluster/ shows (the legacy member, else the
    preferred version's) is a link to it, so that grep -r and find see
    each item once. members: {tarball member: bytes}."""
    shown = {}  # default path -> (rank, bytes): the legacy copy wins
    copies = {}  # apiversions path -> (default path, bytes)
    for member, data in members.items():
        p = member_tree_path(member, ext)
        if p is None:
            continue
        parts = p.split("/")
        if parts[0] != "apiversions":
            shown[p] = (0, data)
            continue
        gr, ver, scope, name = parts[1], parts[2], parts[3:-1], parts[-1]
        d = "/".join((["namespaces", scope[1], gr] if scope[0] == "namespaces" else ["cluster", gr]) + [name])
        copies[p] = (d, data)
        rank = 1 if ver.endswith("-preferredversion") else 2
        if d not in shown or shown[d][0] > rank:
            shown[d] = (rank, data)
    out = {}
    for p, (d, data) in copies.items():
        try:
            json.loads(data)
        except ValueError:
            continue  # a broken copy stays a file that reads as EIO
        if shown[d][1] == data:
            out[p] = "../" * (p.count("/")) + d
    return out


def tar_members(tarball) -> dict[str, bytes]:
    """Regular-file members of a .tar.gz, by name (Python's tarfile: it
    understands USTAR prefixes, PAX path records and GNU long names)."""
    out = {}
    with tarfile.open(tarball, "r:gz") as tf:
        for ti in tf:
            if ti.isreg():
                out[ti.name] = tf.extractfile(ti).read()
    return out


def item_members(tarball) -> dict[str, bytes]:
    return {k: v for k, v in tar_members(tarball).items() if member_tree_path(k) is not None}


# The server-set metadata that the clean view (-o clean) and `velerofs diff`
# drop, and kubectl's annotation they drop with it.
CLEAN_NOISE = ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def clean_object(o) -> dict:
    """A deep copy of the object o as the clean view shows it: no status, no
    CLEAN_NOISE metadata, no last-applied annotation (and no annotations
    left when that was the only one)."""
    o = json.loads(json.dumps(o))
    o.pop("status", None)
    md = o.get("metadata", {})
    for k in CLEAN_NOISE:
        md.pop(k, None)
    ann = md.get("annotations")
    if isinstance(ann, dict):
        ann.pop(LAST_APPLIED, None)
        if not ann:
            md.pop("annotations")
    return o


def backup_names(vault) -> list[str]:
    d = pathlib.Path(vault) / "backups"
    return sorted(p.name for p in d.iterdir() if (p / "velero-backup.json").is_file())


def backup_json(vault, name) -> dict:
    return json.loads((pathlib.Path(vault) / "backups" / name / "velero-backup.json").read_bytes())


def parse_time(s: str) -> float:
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    return _dt.datetime.fromisoformat(s).timestamp()


def completion_time(vault, name) -> float:
    st = backup_json(vault, name)["status"]
    return parse_time(st.get("completionTimestamp") or st["startTimestamp"])


def meta_objects(vault, name) -> dict[str, bytes]:
    """{meta name: decompressed bytes} for every per-backup object except
    the tarball, the logs and velero-backup.json."""
    d = pathlib.Path(vault) / "backups" / name
    out = {}
    for p in d.iterdir():
        f = p.name
        if f in ("velero-backup.json", name + ".tar.gz", name + "-logs.gz"):
            continue
        if not f.startswith(name + "-"):
            continue
        obj = f[len(name) + 1:]
        for suf in (".json.gz", ".gz"):
            if obj.endswith(suf):
                out[obj[: -len(suf)]] = gzip.decompress(p.read_bytes())
                break
    return out


def newest_completed(vault) -> str:
    best = None
    for n in backup_names(vault):
        b = backup_json(vault, n)
        if b["status"].get("phase") != "Completed":
            continue
        t = completion_time(vault, n)
        if best is None or (t, n) > best:
            best = (t, n)
    return best[1]


# --------------------------------------------------------------------------
# strict value comparison (bool is not int, int is not float)


def same(a, b, path="$"):
    """None when a and b are the same JSON value, else a description."""
    if type(a) is not type(b):
        return "%s: %s %.80r != %s %.80r" % (path, type(a).__name__, a, type(b).__name__, b)
    if isinstance(a, dict):
        if list(a) != list(b) and set(a) != set(b):
            return "%s: keys %r != %r" % (path, sorted(a), sorted(b))
        for k in a:
            r = same(a[k], b[k], "%s.%s" % (path, k))
            if r:
                return r
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: len %d != %d" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            r = same(x, y, "%s[%d]" % (path, i))
            if r:
                return r
        return None
    if isinstance(a, float):
        if math.isnan(a) and math.isnan(b):
            return None
        if a != b or math.copysign(1, a) != math.copysign(1, b):
            return "%s: %r != %r" % (path, a, b)
        return None
    if a != b:
        return "%s: %.80r != %.80r" % (path, a, b)
    return None


def ruamel_loader():
    from ruamel.yaml import YAML
    y = YAML(typ="safe", pure=True)
    return y


def ruamel_load(text: str):
    return ruamel_loader().load(io.StringIO(text))


# --------------------------------------------------------------------------
# vaults for tests


def daily_vault(root, *, tar_format="go", format_version="1.1.0", days=3, seed=3,
                extra=True) -> pathlib.Path:
    """A vault like the example one: a "daily" schedule of consecutive
    Completed backups, a Failed and a PartiallyFailed one newer than them,
    and (extra) a backup with an EnableAPIGroupVersions layout."""
    root = pathlib.Path(root)
    T = lambda s: _dt.datetime.fromisoformat(s)  # noqa: E731
    for i in range(days):
        objs = vaultgen.believable_cluster(seed=seed, variant=i)
        started = T("2026-11-%02dT02:00:00+00:00" % (10 + i))
        vaultgen.write_backup(root, "daily-%d" % i, objs, schedule="daily", started=started,
                              completed=started + _dt.timedelta(seconds=40 + i),
                              tar_format=tar_format, format_version=format_version)
    if extra:
        objs = vaultgen.believable_cluster(seed=seed, variant=days - 1)
        started = T("2026-11-%02dT05:00:00+00:00" % (10 + days))
        vaultgen.write_backup(root, "broke-failed", objs[:10], schedule="daily", phase="Failed",
                              started=started, completed=started + _dt.timedelta(minutes=3),
                              fatal="rpc error: code = Unavailable", tar_format=tar_format,
                              format_version=format_version,
                              results={"errors": {"velero": ["error backing up items"]}})
        started = T("2026-11-%02dT06:00:00+00:00" % (10 + days))
        vaultgen.write_backup(root, "partly", objs, phase="PartiallyFailed",
                              started=started, completed=started + _dt.timedelta(minutes=1),
                              tar_format=tar_format, format_version=format_version,
                              results={"errors": {"namespaces": {"shop": ["pod shop/db-0: volume failed"]}},
                                       "warnings": {"cluster": ["something odd"]}})
        if format_version == "1.1.0":
            started = T("2026-11-%02dT04:00:00+00:00" % (10 + days))
            vaultgen.write_backup(root, "versions", objs, started=started,
                                  tar_format=tar_format, format_version=format_version,
                                  api_versions={"widgets.example.com": {
                                      "v1beta1": vaultgen.widget_as_v1beta1(objs)}})
    return root
