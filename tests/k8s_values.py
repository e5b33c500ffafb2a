"""What kube-apiserver stores, next to what it serves: the exactness oracle of
etcd/k8s.c (k8s_value_to_json()).

populate(kube) creates a broad set of objects through kubectl (every built-in kind
the harness's apiserver serves that can be created without controllers, with as
many field shapes as they take: quantities, int-or-strings, times, micro-times,
durations, raw extensions, byte slices, maps of messages, CRDs with big schemas and
their custom resources); the apiserver adds its own (bootstrap RBAC, flow control,
APIServices, leases, ...). pairs(etcd, kube) then reads every stored value from etcd
(its JSON gateway) and GETs the same object at the stored apiVersion from the
apiserver: (key, mod_revision, value bytes, served JSON).

Used by tests/fixtures/regen-k8s-values.py (the committed fixtures under
tests/data/k8s/) and tests/test_k8s_values.py (the same, live).
"""

from __future__ import annotations

import base64
import glob
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

NS = "velerofs-k8s"

def csr_pem() -> bytes:
    """A certificate signing request of a throwaway key (the apiserver parses it)."""
    return subprocess.run(
        ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-subj", "/CN=velerofs", "-keyout", "/dev/null"],
        check=True, capture_output=True).stdout

def _pod_spec(extra: dict | None = None) -> dict:
    spec = {
        "initContainers": [{"name": "init", "image": "busybox:1.36", "command": ["true"],
                            "restartPolicy": "Always"}],
        "containers": [{
            "name": "app", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
            "args": ["-g", "daemon off;"], "workingDir": "/srv",
            "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"},
                      {"containerPort": 53, "protocol": "UDP", "hostPort": 5353, "hostIP": "127.0.0.1"}],
            "env": [
                {"name": "PLAIN", "value": "x=\"quoted\" \u00e9\u4e2d\U0001f600 <&>"},
                {"name": "EMPTY", "value": ""},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "MEM", "valueFrom": {"resourceFieldRef": {"containerName": "app",
                                                                  "resource": "limits.memory",
                                                                  "divisor": "1Mi"}}},
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password",
                                                             "optional": True}}},
            ],
            "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "app-config", "optional": False}}],
            "resources": {"limits": {"cpu": "1500m", "memory": "1Gi", "ephemeral-storage": "2G"},
                          "requests": {"cpu": "0.25", "memory": "128974848"}},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP",
                                          "httpHeaders": [{"name": "X-Probe", "value": "1"}]},
                              "initialDelaySeconds": 3, "periodSeconds": 7, "failureThreshold": 4,
                              "terminationGracePeriodSeconds": 11},
            "readinessProbe": {"tcpSocket": {"port": 80}, "timeoutSeconds": 2, "successThreshold": 1},
            "startupProbe": {"grpc": {"port": 9090, "service": "health"}},
            "lifecycle": {"preStop": {"sleep": {"seconds": 5}},
                          "postStart": {"exec": {"command": ["sh", "-c", "echo started"]}}},
            "securityContext": {"runAsUser": 1000, "runAsGroup": 0, "runAsNonRoot": True,
                                "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/app", "readOnly": True},
                             {"name": "scratch", "mountPath": "/tmp", "subPathExpr": "$(NODE)"}],
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "stdin": False, "tty": False,
        }],
        "volumes": [
            {"name": "cfg", "configMap": {"name": "app-config", "defaultMode": 0o440,
                                          "items": [{"key": "a", "path": "a.txt", "mode": 0o400}]}},
            {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
            {"name": "sec", "secret": {"secretName": "db", "optional": True}},
            {"name": "proj", "projected": {"sources": [
                {"serviceAccountToken": {"audience": "vault", "expirationSeconds": 3600, "path": "token"}},
                {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
            ]}},
            {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
            {"name": "claim", "persistentVolumeClaim": {"claimName": "data", "readOnly": False}},
            {"name": "eph", "ephemeral": {"volumeClaimTemplate": {
                "metadata": {"labels": {"k": "v"}},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}},
        ],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]},
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 10, "preference": {"matchFields": [
                        {"key": "metadata.name", "operator": "NotIn", "values": ["bad"]}]}}]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {
                    "labelSelector": {"matchLabels": {"app": "web"}},
                    "topologyKey": "kubernetes.io/hostname", "matchLabelKeys": ["pod-template-hash"]}}]},
        },
        "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                         "effect": "NoExecute", "tolerationSeconds": 300},
                        {"operator": "Exists"}],
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone",
                                       "whenUnsatisfiable": "DoNotSchedule",
                                       "labelSelector": {"matchExpressions": [
                                           {"key": "app", "operator": "Exists"}]},
                                       "minDomains": 2}],
        "dnsPolicy": "None",
        "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": ["svc.local"],
                      "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]},
        "hostAliases": [{"ip": "10.1.2.3", "hostnames": ["a.local", "b.local"]}],
        "readinessGates": [{"conditionType": "example.com/ready"}],
        "nodeSelector": {"disk": "ssd"},
        "terminationGracePeriodSeconds": 45, "activeDeadlineSeconds": 600,
        "enableServiceLinks": False, "automountServiceAccountToken": False,
        "securityContext": {"fsGroup": 2000, "supplementalGroups": [4, 5],
                            "sysctls": [{"name": "net.core.somaxconn", "value": "1024"}],
                            "fsGroupChangePolicy": "OnRootMismatch"},
        "priority": 0, "shareProcessNamespace": True, "hostname": "web-0", "subdomain": "web",
        "os": {"name": "linux"}, "serviceAccountName": "builder",
    }
    spec.update(extra or {})
    return spec


def manifests(crd_files: list[Path]) -> list[list[dict]]:
    """Objects to create, in rounds (a round waits for the ones before it)."""
    ns = NS
    meta = lambda name, **kw: {"name": name, "namespace": ns, **kw}  # noqa: E731
    labels = {"app": "web", "velerofs.test/empty": ""}
    ann = {"note": "multi\nline \"text\"", "unicode": "\u00fcber \u2028 \t tab"}
    tmpl = {"metadata": {"labels": {"app": "web"}}, "spec": _pod_spec({"priority": None})}
    tmpl["spec"].pop("priority")
    tmpl["spec"].pop("activeDeadlineSeconds")
    first = [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": ns, "labels": {"team": "velerofs"}, "annotations": ann}},
    ]
    crds = [json.loads(json.dumps(_load_yaml(p))) for p in crd_files]
    crds.append(_big_crd())
    objs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("app-config", labels=labels, annotations=ann),
         "data": {"a": "1", "b.yaml": "x: 1\ny: [2, 3]\n", "empty": ""},
         "binaryData": {"bin": base64.b64encode(bytes(range(256))).decode(), "nothing": ""}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("immutable"), "immutable": True},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("empty")},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": meta("finalized", finalizers=["velerofs.test/hold"],
                          ownerReferences=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "app-config",
                                            "uid": "6c3e4f1a-0000-4000-8000-000000000001",
                                            "controller": True, "blockOwnerDeletion": False}],
                          generateName="gen-")},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("db"), "type": "Opaque",
         "data": {"password": base64.b64encode(b"s3cr3t\x00\xff").decode(), "empty": ""},
         "stringData": {"user": "admin"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("tls"), "type": "kubernetes.io/tls",
         "data": {"tls.crt": base64.b64encode(b"crt").decode(), "tls.key": base64.b64encode(b"key").decode()},
         "immutable": False},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("builder"),
         "secrets": [{"name": "db"}], "imagePullSecrets": [{"name": "tls"}],
         "automountServiceAccountToken": False},
        {"apiVersion": "v1", "kind": "Pod", "metadata": meta("web-0", labels=labels, annotations=ann),
         "spec": _pod_spec()},
        {"apiVersion": "v1", "kind": "Pod", "metadata": meta("minimal"),
         "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
        {"apiVersion": "v1", "kind": "PodTemplate", "metadata": meta("tmpl"), "template": tmpl},
        {"apiVersion": "v1", "kind": "ReplicationController", "metadata": meta("rc"),
         "spec": {"replicas": 0, "selector": {"app": "web"}, "template": tmpl, "minReadySeconds": 5}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web", labels=labels),
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": tmpl,
                  "strategy": {"type": "RollingUpdate",
                               "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                  "revisionHistoryLimit": 4, "progressDeadlineSeconds": 120, "paused": True}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("recreate"),
         "spec": {"selector": {"matchLabels": {"app": "r"}}, "strategy": {"type": "Recreate"},
                  "template": {"metadata": {"labels": {"app": "r"}},
                               "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("db"),
         "spec": {"serviceName": "db", "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                  "template": tmpl, "podManagementPolicy": "Parallel",
                  "updateStrategy": {"type": "RollingUpdate",
                                     "rollingUpdate": {"partition": 1, "maxUnavailable": "50%"}},
                  "ordinals": {"start": 3},
                  "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
                  "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                            "spec": {"accessModes": ["ReadWriteOnce"],
                                                     "resources": {"requests": {"storage": "10Gi"}}}}]}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta("agent"),
         "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": tmpl,
                  "updateStrategy": {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "10%"}}}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta("rs"),
         "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}}, "template": tmpl}},
        {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta("rev-1"),
         "revision": 7, "data": {"spec": {"template": {"$patch": "replace", "x": [1, 2.5, None, True]}}}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta("once"),
         "spec": {"suspend": True, "completions": 3, "parallelism": 2, "backoffLimit": 1,
                  "ttlSecondsAfterFinished": 100, "completionMode": "Indexed",
                  "podFailurePolicy": {"rules": [{"action": "FailJob", "onExitCodes": {
                      "operator": "In", "values": [42, 43]}}]},
                  "template": {"spec": {"restartPolicy": "Never",
                                        "containers": [{"name": "c", "image": "busybox"}]}}}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("nightly"),
         "spec": {"schedule": "0 3 * * *", "timeZone": "Europe/Zurich", "suspend": True,
                  "concurrencyPolicy": "Forbid", "startingDeadlineSeconds": 60,
                  "successfulJobsHistoryLimit": 1,
                  "jobTemplate": {"spec": {"template": {"spec": {
                      "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("web"),
         "spec": {"selector": {"app": "web"}, "ports": [
             {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
             {"name": "metrics", "port": 9090, "targetPort": 9091, "appProtocol": "http"}],
             "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}},
             "ipFamilyPolicy": "SingleStack"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("db"),
         "spec": {"clusterIP": "None", "selector": {"app": "db"}, "publishNotReadyAddresses": True,
                  "ports": [{"port": 5432}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("np"),
         "spec": {"type": "NodePort", "externalTrafficPolicy": "Local", "selector": {"app": "web"},
                  "ports": [{"port": 443, "nodePort": 30443}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("lb"),
         "spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False,
                  "loadBalancerSourceRanges": ["10.0.0.0/8"], "ports": [{"port": 8443}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("ext"),
         "spec": {"type": "ExternalName", "externalName": "example.com"}},
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta("manual"),
         "subsets": [{"addresses": [{"ip": "10.1.0.1", "hostname": "a",
                                     "targetRef": {"kind": "Pod", "name": "web-0", "namespace": ns}}],
                      "notReadyAddresses": [{"ip": "10.1.0.2"}],
                      "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}]},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta("manual-abc"),
         "addressType": "IPv4",
         "endpoints": [{"addresses": ["10.1.0.1"], "conditions": {"ready": True, "serving": True},
                        "nodeName": "n1", "zone": "z1", "hints": {"forZones": [{"name": "z1"}]}}],
         "ports": [{"name": "http", "port": 80, "protocol": "TCP", "appProtocol": "http"}]},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("data"),
         "spec": {"accessModes": ["ReadWriteOnce", "ReadOnlyMany"], "storageClassName": "fast",
                  "volumeMode": "Filesystem", "resources": {"requests": {"storage": "5Gi"},
                                                            "limits": {"storage": "10Gi"}},
                  "selector": {"matchLabels": {"tier": "gold"}}}},
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": meta("quota"),
         "spec": {"hard": {"pods": "10", "requests.cpu": "4", "requests.memory": "8Gi",
                           "count/configmaps": "100k"},
                  "scopeSelector": {"matchExpressions": [{"operator": "In", "scopeName": "PriorityClass",
                                                          "values": ["high"]}]}}},
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": meta("limits"),
         "spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"cpu": "10m"},
                              "default": {"memory": "512Mi"}, "defaultRequest": {"memory": "256Mi"},
                              "maxLimitRequestRatio": {"cpu": "10"}}]}},
        {"apiVersion": "v1", "kind": "Event", "metadata": meta("web-0.17f"),
         "involvedObject": {"kind": "Pod", "namespace": ns, "name": "web-0", "apiVersion": "v1",
                            "fieldPath": "spec.containers{app}"},
         "reason": "Pulled", "message": "Container image \"nginx\" already present", "type": "Normal",
         "source": {"component": "kubelet", "host": "n1"}, "count": 3,
         "firstTimestamp": "2026-11-30T10:00:00Z", "lastTimestamp": "2026-11-30T10:05:00Z"},
        {"apiVersion": "v1", "kind": "Event", "metadata": meta("web-0.180"),
         "involvedObject": {"kind": "Pod", "namespace": ns, "name": "web-0"},
         "reason": "Scheduled", "type": "Normal", "eventTime": "2026-11-30T10:00:00.123456Z",
         "reportingComponent": "default-scheduler", "reportingInstance": "sched-1", "action": "Binding",
         "series": {"count": 2, "lastObservedTime": "2026-11-30T10:01:00.000001Z"}},
        {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": meta("web-0.181"),
         "eventTime": "2026-11-30T11:00:00.654321Z", "reportingController": "velerofs.test/ctl",
         "reportingInstance": "ctl-1", "action": "Sync", "reason": "Synced", "type": "Warning",
         "regarding": {"kind": "Pod", "namespace": ns, "name": "web-0"}, "note": "a note",
         "deprecatedCount": 0},
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta("leader"),
         "spec": {"holderIdentity": "pod-1", "leaseDurationSeconds": 15,
                  "acquireTime": "2026-11-30T10:00:00.000000Z", "renewTime": "2026-11-30T10:00:14.999999Z",
                  "leaseTransitions": 4}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta("reader"),
         "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
                   {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"],
                    "verbs": ["*"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta("reader"),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "builder", "namespace": ns},
                      {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "velerofs-aggregate"},
         "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"velerofs.test/agg": "true"}}]}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "velerofs-nonresource", "labels": {"velerofs.test/agg": "true"}},
         "rules": [{"nonResourceURLs": ["/healthz", "/metrics"], "verbs": ["get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "velerofs-crb"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "velerofs-nonresource"},
         "subjects": [{"kind": "Group", "name": "devs", "apiGroup": "rbac.authorization.k8s.io"}]},
        {"apiVersion": "v1", "kind": "Node",
         "metadata": {"name": "velerofs-node-1", "labels": {"kubernetes.io/os": "linux", "zone": "z1"}},
         "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"], "providerID": "kind://n1",
                  "unschedulable": True,
                  "taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"},
                             {"key": "gone", "effect": "NoExecute", "timeAdded": "2026-11-30T10:00:00Z"}]}},
        {"apiVersion": "v1", "kind": "PersistentVolume",
         "metadata": {"name": "velerofs-pv", "labels": {"tier": "gold"}},
         "spec": {"capacity": {"storage": "100Gi"}, "accessModes": ["ReadWriteOnce"],
                  "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "fast",
                  "mountOptions": ["noatime"], "volumeMode": "Block",
                  "csi": {"driver": "csi.example.com", "volumeHandle": "vol-1", "fsType": "ext4",
                          "volumeAttributes": {"a": "1"}, "readOnly": False},
                  "claimRef": {"namespace": ns, "name": "data", "kind": "PersistentVolumeClaim"},
                  "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                      {"key": "zone", "operator": "In", "values": ["z1", "z2"]}]}]}}}},
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "velerofs-pv-host"},
         "spec": {"capacity": {"storage": "1.5Gi"}, "accessModes": ["ReadWriteMany"],
                  "hostPath": {"path": "/data"}}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast",
         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
         "provisioner": "csi.example.com", "parameters": {"type": "ssd", "iops": "3000"},
         "reclaimPolicy": "Delete", "allowVolumeExpansion": True, "mountOptions": ["discard"],
         "volumeBindingMode": "WaitForFirstConsumer",
         "allowedTopologies": [{"matchLabelExpressions": [{"key": "zone", "values": ["z1"]}]}]},
        {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": "csi.example.com"},
         "spec": {"attachRequired": True, "podInfoOnMount": True, "fsGroupPolicy": "File",
                  "volumeLifecycleModes": ["Persistent", "Ephemeral"],
                  "tokenRequests": [{"audience": "vault", "expirationSeconds": 3600}],
                  "requiresRepublish": False, "storageCapacity": True}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "CSINode", "metadata": {"name": "velerofs-node-1"},
         "spec": {"drivers": [{"name": "csi.example.com", "nodeID": "n1", "topologyKeys": ["zone"],
                               "allocatable": {"count": 10}}]}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttachment", "metadata": {"name": "velerofs-va"},
         "spec": {"attacher": "csi.example.com", "nodeName": "velerofs-node-1",
                  "source": {"persistentVolumeName": "velerofs-pv"}}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "CSIStorageCapacity", "metadata": meta("cap"),
         "storageClassName": "fast", "capacity": "1Ti", "maximumVolumeSize": "500Gi",
         "nodeTopology": {"matchLabels": {"zone": "z1"}}},
        {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "velerofs-high"},
         "value": 1000000, "globalDefault": False, "preemptionPolicy": "Never", "description": "high"},
        {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "velerofs-gvisor"},
         "handler": "runsc", "overhead": {"podFixed": {"cpu": "250m", "memory": "120Mi"}},
         "scheduling": {"nodeSelector": {"sandbox": "true"},
                        "tolerations": [{"key": "sandbox", "operator": "Exists"}]}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta("web"),
         "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}},
                  "unhealthyPodEvictionPolicy": "AlwaysAllow"}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta("db"),
         "spec": {"maxUnavailable": 1}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("deny"),
         "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress", "Egress"],
                  "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                                        {"namespaceSelector": {}}],
                               "ports": [{"protocol": "TCP", "port": "http"},
                                         {"port": 8000, "endPort": 9000}]}],
                  "egress": [{}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "velerofs-nginx"},
         "spec": {"controller": "k8s.io/ingress-nginx",
                  "parameters": {"apiGroup": "k8s.example.com", "kind": "Params", "name": "p",
                                 "scope": "Namespace", "namespace": ns}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("web"),
         "spec": {"ingressClassName": "velerofs-nginx",
                  "tls": [{"hosts": ["a.example.com"], "secretName": "tls"}],
                  "defaultBackend": {"service": {"name": "web", "port": {"name": "http"}}},
                  "rules": [{"host": "a.example.com", "http": {"paths": [
                      {"path": "/", "pathType": "Prefix",
                       "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("web"),
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                  "minReplicas": 2, "maxReplicas": 10,
                  "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                      "type": "Utilization", "averageUtilization": 70}}},
                      {"type": "Pods", "pods": {"metric": {"name": "rps"},
                                                "target": {"type": "AverageValue", "averageValue": "100m"}}}],
                  "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Min",
                                             "policies": [{"type": "Percent", "value": 10,
                                                           "periodSeconds": 60}]}}}},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
         "metadata": {"name": "velerofs-vwc"},
         "webhooks": [{"name": "check.velerofs.test", "admissionReviewVersions": ["v1"],
                       "sideEffects": "None", "failurePolicy": "Ignore", "timeoutSeconds": 5,
                       "clientConfig": {"url": "https://127.0.0.1:1/check",
                                        "caBundle": base64.b64encode(b"-----BEGIN CERT-----").decode()},
                       "rules": [{"apiGroups": ["velerofs.test"], "apiVersions": ["*"],
                                  "operations": ["CREATE"], "resources": ["nothing"],
                                  "scope": "Namespaced"}],
                       "matchConditions": [{"name": "never", "expression": "false"}]}]},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
         "metadata": {"name": "velerofs-mwc"},
         "webhooks": [{"name": "mutate.velerofs.test", "admissionReviewVersions": ["v1", "v1beta1"],
                       "sideEffects": "NoneOnDryRun", "reinvocationPolicy": "IfNeeded",
                       "clientConfig": {"service": {"namespace": ns, "name": "web", "port": 8443,
                                                    "path": "/mutate"}},
                       "rules": [{"apiGroups": ["velerofs.test"], "apiVersions": ["v1"],
                                  "operations": ["*"], "resources": ["nothing/*"]}],
                       "namespaceSelector": {"matchLabels": {"inject": "yes"}}}]},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
         "metadata": {"name": "velerofs-vap"},
         "spec": {"failurePolicy": "Fail",
                  "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                                                          "operations": ["CREATE", "UPDATE"],
                                                          "resources": ["deployments"]}]},
                  "validations": [{"expression": "object.spec.replicas <= 5", "message": "too many",
                                   "reason": "Invalid"}],
                  "variables": [{"name": "r", "expression": "object.spec.replicas"}]}},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
         "metadata": {"name": "velerofs-vapb"},
         "spec": {"policyName": "velerofs-vap", "validationActions": ["Warn", "Audit"],
                  "matchResources": {"namespaceSelector": {"matchLabels": {"team": "nobody"}}}}},
        {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
         "metadata": {"name": "velerofs-csr"},
         "spec": {"request": base64.b64encode(csr_pem()).decode(),
                  "signerName": "example.com/velerofs", "expirationSeconds": 86400,
                  "usages": ["digital signature", "key encipherment", "client auth"]}},
        {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
         "metadata": {"name": "v1.velerofs-agg.test"},
         "spec": {"group": "velerofs-agg.test", "version": "v1", "groupPriorityMinimum": 1000,
                  "versionPriority": 15, "caBundle": base64.b64encode(b"not really a CA").decode(),
                  "service": {"namespace": ns, "name": "web", "port": 443}}},
        {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "velerofs-gpu"},
         "spec": {"selectors": [{"cel": {"expression": "device.driver == \"gpu.example.com\""}}],
                  "config": [{"opaque": {"driver": "gpu.example.com",
                                         "parameters": {"mode": "shared", "n": 2}}}]}},
        {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate", "metadata": meta("gpu-tmpl"),
         "spec": {"metadata": {"labels": {"a": "b"}},
                  "spec": {"devices": {"requests": [{"name": "g", "exactly": {
                      "deviceClassName": "velerofs-gpu", "allocationMode": "All"}}],
                      "constraints": [{"requests": ["g"], "matchAttribute": "gpu.example.com/model"}]}}}},
        {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": "velerofs-slice"},
         "spec": {"driver": "gpu.example.com", "nodeName": "velerofs-node-1",
                  "pool": {"name": "p", "generation": 3, "resourceSliceCount": 1},
                  "devices": [{"name": "gpu-0",
                               "attributes": {"model": {"string": "a100"}, "cores": {"int": 6912},
                                              "ecc": {"bool": True}, "driverVersion": {"version": "1.2.3"}},
                               "capacity": {"memory": {"value": "40Gi"}}}]}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttributesClass",
         "metadata": {"name": "velerofs-gold"}, "driverName": "csi.example.com",
         "parameters": {"iops": "5000", "throughput": "50"}},
        {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": meta("gpu"),
         "spec": {"devices": {"requests": [{"name": "g", "exactly": {
             "deviceClassName": "velerofs-gpu", "allocationMode": "ExactCount", "count": 2}}]}}},
    ]
    return [first, crds, objs]


def _big_crd() -> dict:
    """A CRD whose schema has every JSONSchemaProps shape (floats, defaults, enums,
    int-or-string, additionalProperties bool and schema, validations, ...)."""
    leaf = {"type": "number", "minimum": 0.5, "maximum": 1e21, "exclusiveMaximum": True,
            "multipleOf": 1e-7, "default": 0.75, "example": 1.0}
    schema = {
        "type": "object", "description": "Widget \u2014 with \"quotes\"",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
            "spec": {
                "type": "object", "required": ["size"],
                "x-kubernetes-validations": [
                    {"rule": "self.size != 'never'", "message": "no", "reason": "FieldValueInvalid",
                     "fieldPath": ".size"},
                    {"rule": "!oldSelf.hasValue() || self.size == oldSelf.value().size",
                     "optionalOldSelf": True, "messageExpression": "'was ' + self.size"}],
                "properties": {
                    "size": {"type": "string", "enum": ["small", "large", "never"], "default": "small",
                             "maxLength": 16, "minLength": 1, "pattern": "^[a-z]+$"},
                    "count": {"type": "integer", "format": "int64", "minimum": -3, "maximum": 9007199254740993,
                              "nullable": True},
                    "ratio": leaf,
                    "tiny": {"type": "number", "minimum": 1e-10, "maximum": 123456789.125},
                    "port": {"x-kubernetes-int-or-string": True,
                             "anyOf": [{"type": "integer"}, {"type": "string"}]},
                    "tags": {"type": "array", "maxItems": 10, "minItems": 0, "uniqueItems": False,
                             "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                    "pairs": {"type": "array", "x-kubernetes-list-type": "map",
                              "x-kubernetes-list-map-keys": ["name"],
                              "items": {"type": "object", "required": ["name"],
                                        "properties": {"name": {"type": "string"},
                                                       "value": {"type": "string", "default": ""}}}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"},
                               "maxProperties": 5, "minProperties": 1, "x-kubernetes-map-type": "granular"},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "embedded": {"type": "object", "x-kubernetes-embedded-resource": True,
                                 "x-kubernetes-preserve-unknown-fields": True},
                    "choice": {"type": "object", "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
                               "not": {"required": ["c"]},
                               "allOf": [{"properties": {"a": {"minLength": 1}}}],
                               "properties": {"a": {"type": "string"}, "b": {"type": "string"},
                                              "c": {"type": "string"}}},
                    "obj": {"type": "object", "default": {"a": [1, "two", None, {"x": False}]},
                            "properties": {"a": {"type": "array", "items": {
                                "x-kubernetes-preserve-unknown-fields": True}}}},
                    "closed": {"type": "object", "additionalProperties": False},
                    "mixed": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                },
            },
            "status": {"type": "object", "properties": {
                "replicas": {"type": "integer", "format": "int32"},
                "selector": {"type": "string"},
                "conditions": {"type": "array", "items": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}},
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.velerofs.test"},
        "spec": {
            "group": "velerofs.test", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList",
                      "shortNames": ["wg"], "categories": ["all", "velerofs"]},
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema},
                 "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.count",
                                                          "statusReplicasPath": ".status.replicas",
                                                          "labelSelectorPath": ".status.selector"}},
                 "additionalPrinterColumns": [
                     {"name": "Size", "type": "string", "jsonPath": ".spec.size", "priority": 0},
                     {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
                      "description": "age", "format": ""}]},
                {"name": "v1alpha1", "served": True, "storage": False, "deprecated": True,
                 "deprecationWarning": "use v1", "schema": {"openAPIV3Schema": {
                     "type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
            ],
            "conversion": {"strategy": "None"},
        },
    }


def custom_resources() -> list[dict]:
    return [{"apiVersion": "velerofs.test/v1", "kind": "Widget",
             "metadata": {"name": "w1", "namespace": NS, "labels": {"a": "b"}},
             "spec": {"size": "large", "count": 3, "ratio": 0.8, "port": "http",
                      "tags": ["x", "y"], "pairs": [{"name": "a"}], "labels": {"k": "v"},
                      "free": {"anything": [1, 2.5, {"deep": None}]},
                      "embedded": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "e"}},
                      "choice": {"a": "1"}}}]


def _load_yaml(path: Path) -> dict:
    import yaml  # PyYAML, as the other tests use it
    return yaml.safe_load(path.read_text())


def real_crds() -> list[Path]:
    """Big schemas from a real project: Velero's own CRDs from the Go module cache
    (build.sh put them there), when present."""
    cache = Path(os.environ.get("VELEROFS_TEST_CACHE") or Path.home() / ".cache" / "velerofs-test")
    hits = sorted(glob.glob(str(cache / "go/mod/github.com/vmware-tanzu/velero@v1.17.*/config/crd/v1/bases")))
    if not hits:
        return []
    base = Path(hits[-1])
    return [base / "velero.io_backups.yaml", base / "velero.io_restores.yaml",
            base / "velero.io_podvolumebackups.yaml"]


def populate(kube) -> None:
    rounds = manifests(real_crds())
    failed = []
    for objs in rounds:
        for o in objs:
            r = kube.kubectl("create", "-f", "-", input=json.dumps(o), check=False)
            if r.returncode:
                failed.append(f"{o['kind']} {o['metadata']['name']}: {r.stderr.strip()}")
    if failed:
        raise RuntimeError("kubectl create failed:\n" + "\n".join(failed))
    kube.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                 "crd/widgets.velerofs.test")
    for attempt in range(30):
        r = kube.kubectl("create", "-f", "-", check=False,
                         input=json.dumps({"apiVersion": "v1", "kind": "List",
                                           "items": custom_resources()}))
        if r.returncode == 0:
            break
        time.sleep(1)
    else:
        raise RuntimeError(f"custom resources: {r.stderr}")
    # a deletionTimestamp: the finalizer keeps the object
    cms = json.loads(kube.kubectl("get", "cm", "-n", NS, "-o", "json").stdout)["items"]
    for cm in cms:
        if cm["metadata"]["name"].startswith("gen-"):
            kube.kubectl("delete", "cm", "-n", NS, cm["metadata"]["name"], "--wait=false")
    # an update: a second managedFields entry, a status subresource write
    kube.kubectl("label", "deploy", "-n", NS, "web", "updated=yes")
    kube.kubectl("patch", "widget", "-n", NS, "w1", "--subresource=status", "--type=merge",
                 "-p", json.dumps({"status": {"replicas": 3, "selector": "a=b"}}))


# ---- reading back -------------------------------------------------------------------------

def _pb_fields(buf: bytes):
    """(number, wire, value) of a protobuf message: enough to find TypeMeta and ObjectMeta."""
    i, n = 0, len(buf)

    def varint():
        nonlocal i
        v = s = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << s
            s += 7
            if not b & 0x80:
                return v
    while i < n:
        tag = varint()
        num, wire = tag >> 3, tag & 7
        if wire == 0:
            yield num, wire, varint()
        elif wire == 2:
            ln = varint()
            yield num, wire, buf[i:i + ln]
            i += ln
        elif wire == 1:
            yield num, wire, buf[i:i + 8]
            i += 8
        elif wire == 5:
            yield num, wire, buf[i:i + 4]
            i += 4
        else:
            raise ValueError("bad wire type")


def identify(value: bytes):
    """(apiVersion, kind, namespace, name) of a stored value, None if not an object."""
    if value[:1] == b"{":
        o = json.loads(value)
        m = o.get("metadata") or {}
        return o.get("apiVersion"), o.get("kind"), m.get("namespace", ""), m.get("name")
    if value[:4] != b"k8s\x00":
        return None
    av = kind = raw = None
    for num, wire, v in _pb_fields(value[4:]):
        if num == 1 and wire == 2:
            for n2, w2, v2 in _pb_fields(v):
                if n2 == 1 and w2 == 2:
                    av = v2.decode()
                elif n2 == 2 and w2 == 2:
                    kind = v2.decode()
        elif num == 2 and wire == 2:
            raw = v
    name = ns = ""
    for num, wire, v in _pb_fields(raw or b""):
        if num == 1 and wire == 2:  # ObjectMeta is field 1 of every object
            for n2, w2, v2 in _pb_fields(v):
                if n2 == 1 and w2 == 2:
                    name = v2.decode()
                elif n2 == 3 and w2 == 2:
                    ns = v2.decode()
            break
    return av, kind, ns, name


def etcd_range(etcd_url: str, prefix: str) -> list[dict]:
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    body = json.dumps({"key": base64.b64encode(prefix.encode()).decode(),
                       "range_end": base64.b64encode(end.encode()).decode()}).encode()
    req = urllib.request.Request(etcd_url + "/v3/kv/range", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        out = json.loads(r.read())
    return [{"key": base64.b64decode(kv["key"]).decode(errors="replace"),
             "mod_revision": int(kv.get("mod_revision", 0)),
             "value": base64.b64decode(kv.get("value", ""))} for kv in out.get("kvs", [])]


class Resources:
    """(apiVersion, kind) -> (resource, namespaced), from the apiserver's discovery."""

    def __init__(self, kube):
        self.kube = kube
        self.map: dict[tuple[str, str], tuple[str, bool]] = {}
        self.done: set[str] = set()

    def get(self, av: str, kind: str):
        if av not in self.done:
            self.done.add(av)
            path = "/api/v1" if av == "v1" else f"/apis/{av}"
            st, body = self.kube.request("GET", path)
            if st == 200 and isinstance(body, dict):
                for r in body.get("resources", []):
                    if "/" not in r["name"]:
                        self.map.setdefault((av, r["kind"]), (r["name"], r["namespaced"]))
        return self.map.get((av, kind))


def pairs(etcd, kube, tries: int = 5):
    """Every stored object with the JSON the apiserver serves for it at the stored
    version: dicts key, mod_revision, value (bytes), api_version, kind, served (dict),
    or skip (a reason) when there is nothing to compare with."""
    res = Resources(kube)
    prefix = kube.etcd_prefix + "/"
    out = []
    for kv in etcd_range(kube.etcd.url, prefix):
        ident = identify(kv["value"])
        item = dict(kv)
        if not ident or not ident[0] or not ident[1]:
            item["skip"] = "not an object"
            out.append(item)
            continue
        av, kind, ns, name = ident
        item.update(api_version=av, kind=kind)
        r = res.get(av, kind)
        if not r and "/" in av:
            # stored in a version the apiserver does not serve (CRDs in
            # apiextensions.k8s.io/v1beta1, DRA in resource.k8s.io/v1beta2):
            # kubectl shows the group's preferred version
            st, g = kube.request("GET", "/apis/" + av.split("/")[0])
            if st == 200 and isinstance(g, dict):
                av = g["preferredVersion"]["groupVersion"]
                r = res.get(av, kind)
        if not r:
            item["skip"] = f"{av} {kind} is not served"
            out.append(item)
            continue
        item["served_version"] = av
        resource, namespaced = r
        base = "/api/v1" if av == "v1" else f"/apis/{av}"
        path = f"{base}/namespaces/{ns}/{resource}/{name}" if namespaced else f"{base}/{resource}/{name}"
        for attempt in range(tries):
            st, body = kube.request("GET", urllib.request.quote(path))
            if st != 200:
                item["skip"] = f"GET {path}: HTTP {st}"
                break
            rv = int(body.get("metadata", {}).get("resourceVersion", "0"))
            if rv == kv["mod_revision"]:
                item["served"] = body
                break
            # it changed since the range read (a controller of the apiserver): read again
            fresh = [x for x in etcd_range(kube.etcd.url, kv["key"]) if x["key"] == kv["key"]]
            if not fresh:
                item["skip"] = "deleted meanwhile"
                break
            item.update(fresh[0])
        else:
            item["skip"] = "kept changing"
        out.append(item)
    return out
