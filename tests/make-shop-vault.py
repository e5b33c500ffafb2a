#!/usr/bin/env python3
"""Write tests/data/shop-vault/: a synthetic Velero backup storage location
that the tests browse (the example vault the README mounts, tests/data/shop-vault,
is real Velero output: tests/fixtures/velero-v1.17.2).

    python3 tests/make-shop-vault.py [OUTDIR]      (default: tests/data/shop-vault)

The output is deterministic (same bytes on every run) and committed.  It
covers what real backups from the test harness can't: a Failed backup, an
older Velero's objects, every tar format.  It uses
tests/vaultgen.py, which writes keys, tarballs and JSON exactly as Velero
v1.17 does (see that file and shared/research/velero-format.md).

Backups (one cluster, "shop" and "ops" namespaces, evolving day by day):

  daily-20261118020000   schedule "daily", Completed, variant 0, FSB of db-0
  daily-20261119020000   schedule "daily", Completed, variant 1
  daily-20261120020000   schedule "daily", Completed, variant 2
  before-upgrade         manual full backup, Completed, written by Velero
                         v1.16.1 (so it also has the -csi-* objects)
  shop-only              includedNamespaces [shop], Completed, CSI snapshot
                         data movement (an item operation, volume info)
  all-versions-20261119  EnableAPIGroupVersions layout: widgets.example.com
                         also under v1beta1/
  nightly-failed         schedule "nightly", Failed: tarball with fewer items,
                         errors in results, an error line in the log
  partial-20261120       PartiallyFailed with warnings and errors; it is the
                         newest backup, so backups/latest must skip it
"""

import datetime as dt
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import vaultgen as vg  # noqa: E402


def T(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def find(objs, kind, name):
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def fsb_meta(backup, objs, started, completed):
    """podvolumebackups + volumeinfo for the opt-in FSB of db-0's volume."""
    pod = find(objs, "Pod", "db-0")
    pvc = find(objs, "PersistentVolumeClaim", "data-db-0")
    pv = next(o for o in objs if o["kind"] == "PersistentVolume")
    pvb = vg.pod_volume_backup(backup, pod, "data", started=started + dt.timedelta(seconds=3),
                               completed=completed - dt.timedelta(seconds=4))
    return [pvb], [vg.volume_info_pvb(pvb, pvc, pv)]


def main(out):
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)

    # ---- the daily schedule: three consecutive, realistically different days
    for day, variant in ((18, 0), (19, 1), (20, 2)):
        name = "daily-202611%02d020000" % day
        objs = vg.believable_cluster(seed=7, variant=variant)
        started = T("2026-11-%02dT02:00:00Z" % day)
        completed = started + dt.timedelta(seconds=47 + variant)
        pvbs, vinfo = fsb_meta(name, objs, started, completed)
        vg.write_backup(out, name, objs, schedule="daily", started=started, completed=completed,
                        podvolumebackups=pvbs, volumeinfo=vinfo)

    # ---- a manual full backup taken with the previous Velero release
    objs = vg.believable_cluster(seed=7, variant=1)
    started = T("2026-11-19T14:05:12Z")
    completed = started + dt.timedelta(seconds=51)
    pvbs, vinfo = fsb_meta("before-upgrade", objs, started, completed)
    vg.write_backup(out, "before-upgrade", objs, started=started, completed=completed,
                    velero_version="v1.16.1", podvolumebackups=pvbs, volumeinfo=vinfo,
                    annotations={"velero.io/resource-timeout": "10m0s"},
                    csi={"volumesnapshots": [], "volumesnapshotcontents": [], "volumesnapshotclasses": None})

    # ---- namespace-filtered backup with CSI snapshot data movement
    objs = vg.filter_namespaces(vg.believable_cluster(seed=7, variant=1), ["shop"])
    started = T("2026-11-19T16:20:00Z")
    completed = started + dt.timedelta(seconds=95)
    pvc = find(objs, "PersistentVolumeClaim", "data-db-0")
    pv = next(o for o in objs if o["kind"] == "PersistentVolume")
    buid = vg.stable_uid("backup", "velero", "shop-only")
    du = "shop-only-" + vg.stable_uid("du", "shop-only")[:5]
    op = {
        "spec": {
            "backupName": "shop-only", "backupUID": buid,
            "backupItemAction": "velero.io/csi-pvc-backupper",
            "resourceIdentifier": {"Group": "", "Resource": "persistentvolumeclaims",
                                   "Namespace": "shop", "Name": "data-db-0"},
            "operationID": "du-%s.%s" % (buid, pvc["metadata"]["uid"][:8]),
            "postOperationItems": None,
        },
        "status": {
            "phase": "Completed", "nCompleted": 1073741824, "nTotal": 1073741824,
            "operationUnits": "Bytes", "description": "Completed",
            "created": vg.rfc3339(started + dt.timedelta(seconds=4)),
            "started": vg.rfc3339(started + dt.timedelta(seconds=9)),
            "updated": vg.rfc3339(completed - dt.timedelta(seconds=2)),
        },
    }
    vinfo = [{
        "pvcName": "data-db-0", "pvcNamespace": "shop", "pvName": pv["metadata"]["name"],
        "backupMethod": "CSISnapshot", "snapshotDataMoved": True, "preserveLocalSnapshot": False,
        "skipped": False, "startTimestamp": vg.rfc3339(started + dt.timedelta(seconds=4)),
        "completionTimestamp": vg.rfc3339(completed - dt.timedelta(seconds=2)), "result": "succeeded",
        "csiSnapshotInfo": {"snapshotHandle": "", "size": 10737418240, "driver": "disk.csi.azure.com",
                            "vscName": "", "operationID": op["spec"]["operationID"]},
        "snapshotDataMovementInfo": {"dataMover": "velero", "uploaderType": "kopia",
                                     "retainedSnapshot": "velero-data-db-0-" + du[-5:],
                                     "snapshotHandle": "9e3b1f07c5d14a2b8f6e0d9c7a5b3e1f",
                                     "operationID": op["spec"]["operationID"], "size": 1073741824},
        "pvInfo": {"reclaimPolicy": "Delete", "labels": {}},
    }]
    vg.write_backup(out, "shop-only", objs, started=started, completed=completed,
                    spec={"includedNamespaces": ["shop"], "snapshotMoveData": True},
                    status={"backupItemOperationsAttempted": 1, "backupItemOperationsCompleted": 1},
                    itemoperations=[op], volumeinfo=vinfo)

    # ---- EnableAPIGroupVersions: Widgets also served as example.com/v1beta1
    objs = vg.believable_cluster(seed=7, variant=1)
    started = T("2026-11-19T12:00:00Z")
    completed = started + dt.timedelta(seconds=49)
    extra = {"widgets.example.com": {"v1beta1": vg.widget_as_v1beta1(objs)}}
    written = objs + extra["widgets.example.com"]["v1beta1"]
    logs = vg.default_logs("all-versions-20261119", started, completed, written, {})
    logs.insert(10, vg.logrus_line(started + dt.timedelta(seconds=1), "info",
                                   "The 'EnableAPIGroupVersions' feature flag was specified, using all API group versions.",
                                   backup="velero/all-versions-20261119", cmd="/velero",
                                   logSource="pkg/discovery/helper.go:172", pluginName="velero"))
    vg.write_backup(out, "all-versions-20261119", objs, started=started, completed=completed,
                    api_versions=extra, logs=logs)

    # ---- a failed scheduled run: the tarball holds what was written before the fatal error
    objs = vg.believable_cluster(seed=7, variant=0)
    started = T("2026-11-17T01:00:00Z")
    completed = started + dt.timedelta(minutes=10, seconds=3)
    fatal = ("rpc error: code = Unavailable desc = error reading from server: EOF")
    msg = ("error executing custom action (groupResource=pods, namespace=shop, name=db-0): %s" % fatal)
    part = objs[: len(objs) * 2 // 5]
    results = {"errors": {"velero": ["error backing up items: " + fatal],
                          "namespaces": {"shop": [msg]}}}
    vg.write_backup(out, "nightly-failed", part, phase="Failed", schedule="nightly",
                    started=started, completed=completed, results=results, fatal=fatal,
                    status={"progress": {"totalItems": len(objs), "itemsBackedUp": len(part)}})

    # ---- PartiallyFailed, the newest backup of all
    objs = vg.believable_cluster(seed=7, variant=2)
    started = T("2026-11-20T03:00:00Z")
    completed = started + dt.timedelta(seconds=71)
    pv = next(o for o in objs if o["kind"] == "PersistentVolume")
    results = {
        "errors": {"namespaces": {"shop": [
            "error executing custom action (groupResource=pods, namespace=shop, name=db-0): rpc error: "
            "code = Unknown desc = pod volume backup failed: data path backup failed: Failed to run kopia "
            "backup: unable to get local block device entry: resolveSymlink: lstat /host_pods/%s/volumes: "
            "no such file or directory" % find(objs, "Pod", "db-0")["metadata"]["uid"]]}},
        "warnings": {
            "cluster": ["Volume %s is not backed up: no VolumeSnapshotLocation for provider disk.csi.azure.com"
                        % pv["metadata"]["name"]],
            "namespaces": {"ops": ["Skipping Job ops/nightly-report: the owning CronJob restores it"],
                           "shop": ["Pod shop/db-0 has volume data without a matching PodVolumeBackup"]},
        },
    }
    vg.write_backup(out, "partial-20261120", objs, phase="PartiallyFailed", started=started,
                    completed=completed, results=results,
                    spec={"includedNamespaces": ["*"], "defaultVolumesToFsBackup": True})


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "data", "shop-vault"))
