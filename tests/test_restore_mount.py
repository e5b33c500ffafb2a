"""The restore/ spool end to end: the real binary mounted with a real
kube-apiserver as the restore target (tests/servers), every result read
back through the API server.

    restore/                 files copied here keep their own namespace
    restore/namespaces/<ns>/ files copied here go into namespace <ns>
    restore/jobs/<id>.txt    one report per job; jobs/latest -> the newest

A copied file becomes a job at close(); a malformed one makes close() fail.
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

FINAL_RE = re.compile(r"^state (done|failed|rejected)$", re.M)
SHOP = "backups/latest/namespaces/shop"


def unique_ns(prefix="t"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def restore_mount(mount, vault, kube, tmp_path, *opts, context=None, json_view=True,
                  state=None, mnt=None, allow_errors=False):
    """A mount whose restore target is the test kube-apiserver. The JSON
    view by default: files are the backup's own bytes, easy to compare."""
    state = state or tmp_path / ("state-" + uuid.uuid4().hex[:6])
    args = ["--kubeconfig", str(kube.kubeconfig), "--restore-state", str(state)]
    if context:
        args += ["--context", context]
    for o in opts:
        args += ["-o", o]
    m = mount(vault, json=json_view, args=args, mnt=mnt, allow_errors=allow_errors)
    m.state = state
    assert (m / "restore").is_dir(), "no restore/ with --kubeconfig"
    return m


def cp(*argv, check=True, user=None):
    cmd = ["cp", *map(str, argv)]
    if user:
        cmd = ["su", user, "-s", "/bin/sh", "-c", " ".join("'%s'" % a for a in cmd)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if check:
        assert r.returncode == 0, "%s: %s" % (cmd, r.stderr)
    return r


def latest(m):
    return os.readlink(m / "restore/jobs/latest")


def job_files(m):
    return sorted(n for n in os.listdir(m / "restore/jobs") if n.endswith(".txt"))


def read_report(m, name):
    """A report read whole, and checked against the size stat gives at the
    same time (retried while the job changes it)."""
    p = m / "restore/jobs" / name
    for _ in range(50):
        a = p.read_bytes()
        st = os.stat(p)
        b = p.read_bytes()
        if a == b:
            assert st.st_size == len(a), "stat says %d bytes, read gives %d" % (st.st_size, len(a))
            return a.decode()
        time.sleep(0.05)
    return b.decode()


def read_direct(p):
    """The file as the daemon serves it now, past the kernel's page cache."""
    fd = os.open(p, os.O_RDONLY | os.O_DIRECT)
    try:
        out = b""
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                return out
            out += b
    finally:
        os.close(fd)


def check_fresh(p):
    """A plain read (what cat sees) gives what the daemon serves, not a
    page the kernel kept from an earlier version of the same size."""
    for _ in range(20):
        a = read_direct(p)
        plain = pathlib.Path(p).read_bytes()
        b = read_direct(p)
        if a == b:
            assert plain == a, "stale read:\n%s\nserved:\n%s" % (plain.decode(), a.decode())
            return
    # changing too fast to tell; fine


def wait_job(m, name=None, timeout=90):
    """Waits until a job is done, failed or rejected; returns its report."""
    name = name or latest(m)
    deadline = time.monotonic() + timeout
    while True:
        text = read_report(m, name)
        if FINAL_RE.search(text):
            return text
        if time.monotonic() > deadline:
            pytest.fail("job %s not finished after %ds:\n%s" % (name, timeout, text))
        time.sleep(0.2)


def wait_all(m, timeout=150):
    return {n: wait_job(m, n, timeout) for n in job_files(m)}


def api_path(f, obj, ns=None):
    """The API path of the object backed up in file f (its directory is
    <resource>[.<group>]); ns: where it was restored."""
    group, _, version = obj["apiVersion"].rpartition("/")
    plural = pathlib.Path(f).parent.name.split(".")[0]
    base = "/apis/%s/%s" % (group, version) if group else "/api/%s" % version
    ns = ns or obj["metadata"].get("namespace")
    if ns:
        base += "/namespaces/" + ns
    return "%s/%s/%s" % (base, plural, obj["metadata"]["name"])


def get(kube, path):
    status, body = kube.request("GET", path)
    return body if status == 200 else None


def ensure_crds(m, kube):
    """The example backup's CRDs (for widgets.example.com), restored
    through the spool itself."""
    src = m / "backups/latest/cluster/customresourcedefinitions.apiextensions.k8s.io"
    for f in sorted(src.iterdir()):
        obj = json.loads(f.read_bytes())
        if get(kube, api_path(f, obj)) is None:
            cp(f, m / "restore")
            wait_job(m)


# ---------------------------------------------------------------------------


def test_layout(mount, shop_vault, kube, tmp_path):
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    r = m / "restore"
    assert "restore" in os.listdir(m)
    assert sorted(os.listdir(r)) == ["jobs", "namespaces", "status"]
    st = os.stat(r)
    assert oct(st.st_mode & 0o7777) == "0o700" and st.st_uid == os.getuid()
    assert oct(os.stat(r / "namespaces").st_mode & 0o7777) == "0o755"
    assert oct(os.stat(r / "jobs").st_mode & 0o7777) == "0o555"
    assert os.listdir(r / "jobs") == []  # no latest without a job
    assert not os.path.lexists(r / "jobs/latest")


def test_single_deployment(mount, shop_vault, kube, tmp_path):
    """cp of one Deployment into restore/: restored into its own namespace,
    cleaned, labelled with the backup and the job."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    src = m / SHOP / "deployments.apps/web.json"
    backed = json.loads(src.read_bytes())
    cp(src, m / "restore/")
    assert "web.json" not in os.listdir(m / "restore")  # it is a job now
    job = latest(m)
    assert job.endswith(".txt") and job in job_files(m)
    report = wait_job(m)
    assert "state done" in report, report
    assert re.search(r"^created .*web", report, re.M), report

    d = get(kube, "/apis/apps/v1/namespaces/shop/deployments/web")
    assert d is not None, report
    labels = d["metadata"]["labels"]
    assert labels["velero.io/backup-name"] == os.readlink(m / "backups/latest")
    assert labels["velero.io/restore-name"] == job[:-len(".txt")]
    for k, v in backed["metadata"]["labels"].items():
        assert labels[k] == v
    assert d["metadata"]["uid"] != backed["metadata"]["uid"]
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == \
        backed["spec"]["template"]["spec"]["containers"][0]["image"]
    assert d["spec"]["replicas"] == backed["spec"]["replicas"]


def test_namespace_copy(mount, shop_vault, kube, tmp_path):
    """cp -r of a backup's namespace into restore/namespaces/<new>: every
    item in the new namespace, which is created."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    ensure_crds(m, kube)
    ns = unique_ns("shop-copy")
    cp("-r", m / SHOP, m / "restore/namespaces" / ns)
    # the tree cp made stays; the files in it are jobs now
    assert os.path.isdir(m / "restore/namespaces" / ns / "configmaps")
    left = [p for p in (m / "restore/namespaces" / ns).rglob("*") if p.is_file()]
    assert left == []
    reports = wait_all(m)
    assert get(kube, "/api/v1/namespaces/" + ns) is not None
    text = "\n".join(reports.values())
    assert "rejected" not in text, text
    missing = []
    for f in sorted((m / SHOP).rglob("*.json")):
        obj = json.loads(f.read_bytes())
        got = get(kube, api_path(f, obj, ns))
        name = "%s/%s" % (f.parent.name, obj["metadata"]["name"])
        if got is None:
            # only what the report explains (Velero skips some kinds)
            if not re.search(r"^(skipped|failed) .*%s" % re.escape(obj["metadata"]["name"]), text, re.M):
                missing.append(name)
            continue
        assert got["metadata"]["namespace"] == ns
        assert got["metadata"]["labels"]["velero.io/backup-name"] == os.readlink(m / "backups/latest")
        if obj["kind"] == "ConfigMap":
            assert got.get("data") == obj.get("data"), name
    assert not missing, "not restored and not reported: %s\n%s" % (missing, text)
    for path in ("/apis/apps/v1/namespaces/%s/deployments/web" % ns,
                 "/apis/apps/v1/namespaces/%s/deployments/api" % ns,
                 "/api/v1/namespaces/%s/configmaps/api-config" % ns):
        assert get(kube, path) is not None, path
    # emptied directories can go
    subprocess.run(["rm", "-r", str(m / "restore/namespaces" / ns)], check=True)
    assert os.listdir(m / "restore/namespaces") == []


def test_cp_r_keeps_own_namespace(mount, shop_vault, kube, tmp_path):
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    cp("-r", m / SHOP / "configmaps", m / "restore/")
    assert os.path.isdir(m / "restore/configmaps")
    reports = wait_all(m)
    text = "\n".join(reports.values())
    assert "failed" not in text and "rejected" not in text, text
    for f in (m / SHOP / "configmaps").iterdir():
        obj = json.loads(f.read_bytes())
        assert get(kube, api_path(f, obj)) is not None, f.name  # in shop itself
    for r in reports.values():
        assert "\nnamespace " not in r  # no target namespace


def test_malformed_input(mount, shop_vault, kube, tmp_path):
    """A malformed file fails at close() (cp says so, naming the file), the
    report says why, and nothing of it is applied, not even its valid
    first document."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    ns = unique_ns("bad")
    os.mkdir(m / "restore/namespaces" / ns)
    bad = tmp_path / "broken-input.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\ndata:\n  a: b\n"
                   "---\napiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n  name: x\n")
    r = cp(bad, m / "restore/namespaces" / ns, check=False)
    assert r.returncode != 0
    assert "broken-input.yaml" in r.stderr and "Invalid argument" in r.stderr, r.stderr
    assert os.listdir(m / "restore/namespaces" / ns) == []
    report = wait_job(m)
    assert "state rejected" in report, report
    assert "broken-input.yaml" in report and "nothing was applied" in report, report
    time.sleep(1)
    assert get(kube, "/api/v1/namespaces/%s/configmaps/first" % ns) is None
    # a file that is not Kubernetes at all, and one that is not YAML
    for name, text in (("notes.yaml", "just: a map\n"), ("junk.json", "{\"a\": ")):
        (tmp_path / name).write_text(text)
        r = cp(tmp_path / name, m / "restore", check=False)
        assert r.returncode != 0 and name in r.stderr, r.stderr
        assert "state rejected" in wait_job(m)


def test_existing_skip_then_update(mount, shop_vault, kube, tmp_path):
    ns = unique_ns("exist")
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    kube.apply({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "api-config", "namespace": ns},
                "data": {"changed": "by hand"}})
    path = "/api/v1/namespaces/%s/configmaps/api-config" % ns

    m = restore_mount(mount, shop_vault, kube, tmp_path)  # existing=skip
    src = m / SHOP / "configmaps/api-config.json"
    backed = json.loads(src.read_bytes())
    os.mkdir(m / "restore/namespaces" / ns)
    cp(src, m / "restore/namespaces" / ns)
    report = wait_job(m)
    assert re.search(r"^skipped .*api-config", report, re.M), report
    assert get(kube, path)["data"] == {"changed": "by hand"}

    m2 = restore_mount(mount, shop_vault, kube, tmp_path, "existing=update")
    os.mkdir(m2 / "restore/namespaces" / ns)
    cp(src, m2 / "restore/namespaces" / ns)
    report = wait_job(m2)
    assert re.search(r"^updated .*api-config", report, re.M), report
    assert get(kube, path)["data"] == backed["data"]

    # the same again: identical now
    cp(src, m2 / "restore/namespaces" / ns)
    report = wait_job(m2)
    assert re.search(r"^(unchanged|updated) .*api-config", report, re.M), report


def test_dry_run(mount, shop_vault, kube, tmp_path):
    m = restore_mount(mount, shop_vault, kube, tmp_path, "dry_run")
    ns = unique_ns("dry")
    os.mkdir(m / "restore/namespaces" / ns)
    cp(m / SHOP / "deployments.apps/web.json", m / "restore/namespaces" / ns)
    report = wait_job(m)
    assert "dry run" in report and re.search(r"^would create .*web", report, re.M), report
    assert "state done" in report, report
    assert get(kube, "/apis/apps/v1/namespaces/%s/deployments/web" % ns) is None
    assert get(kube, "/api/v1/namespaces/" + ns) is None


def test_only_owner_writes(mount, shop_vault, kube, tmp_path):
    """Under allow_other another user reads the mount but cannot write into
    restore/ (EACCES), nor make directories there."""
    top = pathlib.Path(tempfile.mkdtemp(prefix="velerofs-owner-", dir="/tmp"))
    try:
        os.chmod(top, 0o755)
        m = restore_mount(mount, shop_vault, kube, tmp_path, "allow_other", mnt=top / "mnt")
        src = m / SHOP / "deployments.apps/web.json"
        ok = subprocess.run(["su", "nobody", "-s", "/bin/sh", "-c", "cat '%s'" % src],
                            capture_output=True, text=True)
        assert ok.returncode == 0 and ok.stdout, ok.stderr  # the mount is reachable
        r = cp(src, m / "restore/x.json", check=False, user="nobody")
        assert r.returncode != 0 and "Permission denied" in r.stderr, r.stderr
        r = subprocess.run(["su", "nobody", "-s", "/bin/sh", "-c",
                            "mkdir '%s'" % (m / "restore/namespaces/evil")],
                           capture_output=True, text=True)
        assert r.returncode != 0 and "Permission denied" in r.stderr, r.stderr
        assert sorted(os.listdir(m / "restore")) == ["jobs", "namespaces", "status"]
        assert os.listdir(m / "restore/namespaces") == []
        assert job_files(m) == []
        # the owner can
        ns = unique_ns("owner")
        os.mkdir(m / "restore/namespaces" / ns)
        cp(src, m / "restore/namespaces" / ns)
        assert "state done" in wait_job(m)
    finally:
        subprocess.run(["fusermount3", "-u", "-z", str(top / "mnt")], capture_output=True)
        shutil.rmtree(top, ignore_errors=True)


def configmap_list(n, prefix):
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "%s-%04d" % (prefix, i)},
         "data": {"i": str(i)}} for i in range(n)]})


def test_kill9_resumes(mount, shop_vault, kube, tmp_path):
    """The daemon killed mid-restore finishes the job when mounted again on
    the same --restore-state, and applies nothing twice."""
    n = 300
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    ns = unique_ns("kill")
    big = tmp_path / "many.json"
    big.write_text(configmap_list(n, "cm"))
    os.mkdir(m / "restore/namespaces" / ns)
    cp(big, m / "restore/namespaces" / ns)  # committed (journaled) at close
    job = latest(m)
    time.sleep(0.3)
    m.restart()  # kill -9, mount again on the same state dir
    assert job in job_files(m)
    report = wait_job(m, job, timeout=180)
    assert "state done" in report, report
    assert "failed" not in report, report
    status, body = kube.request("GET", "/api/v1/namespaces/%s/configmaps?labelSelector=%s"
                                % (ns, "velero.io/restore-name=" + job[:-4]))
    assert status == 200
    names = sorted(i["metadata"]["name"] for i in body["items"])
    assert names == ["cm-%04d" % i for i in range(n)]
    assert re.search(r"^items %d:" % n, report, re.M), report
    # every item once: created or, when the kill hit after its request,
    # recognised as already applied -- never a second create
    assert len(re.findall(r"^(created|unchanged|skipped) configmaps ", report, re.M)) == n, report


def test_token_never_in_mount(mount, shop_vault, kube, tmp_path):
    token = kube.tokens["token-admin"]
    m = restore_mount(mount, shop_vault, kube, tmp_path, context="token-admin")
    ns = unique_ns("tok")
    os.mkdir(m / "restore/namespaces" / ns)
    cp(m / SHOP / "secrets", m / "restore/namespaces" / ns, "-r")
    cp(m / SHOP / "deployments.apps/web.json", m / "restore/namespaces" / ns)
    wait_all(m)
    assert get(kube, "/apis/apps/v1/namespaces/%s/deployments/web" % ns) is not None
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [\n")
    cp(bad, m / "restore", check=False)
    wait_job(m)
    r = subprocess.run(["grep", "-r", "-l", "-F", token, str(m / "restore")],
                       capture_output=True, text=True)
    assert r.returncode == 1, "token found in the mount: %s" % r.stdout
    r = subprocess.run(["grep", "-r", "-l", "-F", token, str(m.state)],
                       capture_output=True, text=True)
    assert r.returncode == 1, "token found in the job records: %s" % r.stdout
    assert token not in m.stderr(all_runs=True)


def test_reports_and_latest(mount, shop_vault, kube, tmp_path):
    """Reports are sized exactly as they read, while a job runs and after;
    jobs/latest follows the newest job."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    ns = unique_ns("rep")
    os.mkdir(m / "restore/namespaces" / ns)
    big = tmp_path / "many.json"
    big.write_text(configmap_list(150, "r"))
    cp(big, m / "restore/namespaces" / ns)
    first = latest(m)
    seen = set()
    deadline = time.monotonic() + 120
    while True:
        text = read_report(m, first)  # asserts stat size == bytes read
        check_fresh(m / "restore/jobs" / first)
        seen.add(re.search(r"^state (\w+)", text, re.M).group(1))
        if FINAL_RE.search(text) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert "done" in seen, seen
    # `cat` of the link and of the file agree
    out = subprocess.run(["cat", str(m / "restore/jobs/latest")], capture_output=True, text=True)
    assert out.stdout == read_report(m, first)
    cp(m / SHOP / "deployments.apps/web.json", m / "restore/namespaces" / ns)
    second = latest(m)
    assert second != first and job_files(m) == sorted([first, second])
    assert "state done" in wait_job(m, second)
    assert os.stat(m / "restore/jobs" / first).st_mode & 0o777 == 0o444
    with pytest.raises(OSError):
        open(m / "restore/jobs" / first, "w")
    # a finished job is dismissed by removing its report; latest can't be
    with pytest.raises(OSError) as ei:
        os.unlink(m / "restore/jobs/latest")
    assert ei.value.errno == errno.EPERM
    os.unlink(m / "restore/jobs" / first)
    assert job_files(m) == [second]
    assert not any(first[:-4] in d for d in os.listdir(m.state))
    assert first[:-4] not in (m / "restore/status").read_text()


def test_spool_as_a_filesystem(mount, shop_vault, kube, tmp_path):
    """What tools do in restore/ besides cp: directories, chmod/utime,
    truncation, unlink of a file being written, rename, a shell redirect."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    r = m / "restore"
    ns = unique_ns("fs")
    with pytest.raises(OSError):  # not a namespace name
        os.mkdir(r / "namespaces/Not_A_Namespace")
    with pytest.raises(OSError):  # namespaces/ holds directories only
        open(r / "namespaces/x.yaml", "w")
    with pytest.raises(OSError):
        os.mkdir(r / "jobs/x")
    os.makedirs(r / "namespaces" / ns / "a/b")
    os.chmod(r / "namespaces" / ns / "a", 0o700)  # accepted, ignored
    os.utime(r / "namespaces" / ns / "a", (0, 0))
    assert os.listdir(r / "namespaces" / ns) == ["a"]
    with pytest.raises(OSError):
        os.rmdir(r / "namespaces" / ns)  # not empty
    # a file being written: write-only, listed, removable
    with open(r / "namespaces" / ns / "a/b/draft.yaml", "w") as f:
        f.write("kind: ")
        f.flush()
        assert os.stat(r / "namespaces" / ns / "a/b/draft.yaml").st_size == 6
        os.unlink(r / "namespaces" / ns / "a/b/draft.yaml")
    assert job_files(m) == []
    # an empty file is a job too (rejected: nothing in it), gone from
    # restore/; cp -p's chmod/utime
    (r / "empty.yaml").touch()
    deadline = time.monotonic() + 30  # the kernel sends release after close returns
    while "empty.yaml" in os.listdir(r) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "empty.yaml" not in os.listdir(r)
    src = m / SHOP / "configmaps/api-config.json"
    subprocess.run(["sh", "-c", "cat '%s' > '%s'" % (src, r / "empty.yaml")], check=True)
    assert "empty.yaml" not in os.listdir(r)
    cp("-p", src, r / "namespaces" / ns / "a/b")
    with pytest.raises(OSError):
        os.rename(r / "namespaces" / ns / "a", r / "namespaces" / ns / "c")
    # a shell group writes one input, though its commands (not builtins)
    # close their copies of the file before the shell does
    doc = "apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: %s\\ndata:\\n  k: v\\n"
    subprocess.run(["sh", "-c", "{ /usr/bin/printf '%s'; /bin/echo ---; /usr/bin/printf '%s'; } > '%s'"
                    % (doc % "one", doc % "two", r / "namespaces" / ns / "two.yaml")], check=True)
    reports = wait_all(m)
    # the touched file: a report of its own saying it was empty
    empty = [t for t in reports.values() if "empty file" in t]
    assert len(empty) == 1 and "state rejected" in empty[0], reports
    # the three files: done, in one job or several (files closed close
    # together are gathered), the shell group's as one input of 2 items
    rest = [t for t in reports.values() if "empty file" not in t]
    assert rest and all("state done" in t for t in rest), reports
    text = "\n".join(rest)
    assert re.search(r"^(file restore/namespaces/%s/two.yaml: 2 items|source restore/namespaces/%s/two.yaml)$"
                     % (ns, ns), text, re.M), reports
    assert len(re.findall(r"^created configmaps %s/" % ns, text, re.M)) == 3, reports
    for name in ("one", "two"):
        assert get(kube, "/api/v1/namespaces/%s/configmaps/%s" % (ns, name)) is not None
    subprocess.run(["rm", "-r", str(r / "namespaces" / ns)], check=True)
    assert os.listdir(r / "namespaces") == []


def test_restore_cli_status_and_wait(velerofs, mount, shop_vault, kube, tmp_path):
    """`velerofs restore wait/status`: the same reports as restore/jobs/."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    cp(m / SHOP / "configmaps/api-config.json", m / "restore/")
    r = subprocess.run([str(velerofs), "restore", "wait", "--timeout", "90", str(m)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    job = latest(m)
    assert r.stdout == read_report(m, job)
    assert "state done" in r.stdout
    s = subprocess.run([str(velerofs), "restore", "status", str(m), job[:-4]],
                       capture_output=True, text=True)
    assert s.returncode == 0 and s.stdout == r.stdout
    # a malformed file: wait reports it and fails
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: ConfigMap\nmetadata: [unclosed\n")
    cp(bad, m / "restore/", check=False)
    r = subprocess.run([str(velerofs), "restore", "wait", str(m)], capture_output=True, text=True)
    assert r.returncode == 1 and "rejected" in r.stdout
    r = subprocess.run([str(velerofs), "restore", "status", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 1 and "restore/jobs" in r.stderr


def test_status_table(velerofs, mount, shop_vault, kube, tmp_path):
    """restore/status: one line per job with its state and item counts;
    `velerofs restore status --json` gives the same as JSON."""
    m = restore_mount(mount, shop_vault, kube, tmp_path)
    lines = (m / "restore/status").read_text().splitlines()
    assert lines[0].split()[:3] == ["JOB", "STATE", "ITEMS"] and len(lines) == 1
    cp(m / SHOP / "configmaps/api-config.json", m / "restore/")
    wait_job(m)
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [\n")
    cp(bad, m / "restore/", check=False)
    rows = (m / "restore/status").read_text().splitlines()[1:]
    assert len(rows) == 2
    assert rows[0].split()[1] == "done" and re.search(r"1: 1 (created|unchanged)", rows[0]) and "api-config.json" in rows[0]
    assert rows[1].split()[1] == "rejected" and "bad.yaml" in rows[1]
    r = subprocess.run([str(velerofs), "restore", "status", "--json", str(m)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    jobs = json.loads(r.stdout)
    assert [j["state"] for j in jobs] == ["done", "rejected"]
    assert all(j["report"] == read_report(m, j["job"] + ".txt") for j in jobs)


def test_cp_r_asks_the_daemon_little_and_lists_fresh(mount, shop_vault, kube, tmp_path):
    """A cp -r into restore/: the kernel keeps the target directory's
    attributes (7 GETATTRs per file before, 5 of them the directory's),
    and still lists it right: every file leaves its directory at its
    close, which the daemon tells the kernel."""
    n = 60
    ns = unique_ns("few")
    src = tmp_path / "src"
    src.mkdir()
    for i in range(n):
        (src / ("cm-%02d.json" % i)).write_text(json.dumps(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-%02d" % i},
             "data": {"i": str(i)}}))
    state = tmp_path / "state"
    m = mount(shop_vault, json=True, args=["--kubeconfig", str(kube.kubeconfig),
                                           "--restore-state", str(state), "--log-level", "info"])
    target = m / "restore" / "namespaces" / ns
    target.mkdir()
    assert os.listdir(target) == []
    cp("-r", str(src) + "/.", target)
    # each file left at its close: the kernel's cached listing says so
    assert os.listdir(target) == []
    assert sorted(os.listdir(m / "restore" / "namespaces")) == [ns]
    # the same name again: a new file, not the one committed
    cp(src / "cm-00.json", target / "again.json")
    assert os.listdir(target) == []
    reports = wait_all(m)
    assert reports and all("state done" in t for t in reports.values()), reports
    assert len(re.findall(r"^created configmaps %s/cm-" % ns, "\n".join(reports.values()), re.M)) == n
    m.stop()
    lines = [ln for ln in m.stderr().splitlines() if "requests: lookup" in ln]
    assert lines, m.stderr()[-2000:]
    c = {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", lines[-1])}
    # per file: two LOOKUPs (cp's stat of the name, then its O_EXCL
    # create, for which the kernel looks again) and at most two GETATTRs
    # (the directory once the create made it stale, the file; 7 before);
    # the rest is reading the reports
    assert c["lookup"] <= 2 * n + 40, c
    assert c["getattr"] <= 2 * n + 40, c
