// pvbwriter (Velero v1.12.3): writes a pod volume's file-system backup into a backup storage
// location the way Velero v1.12's node-agent does, with Velero's own code, for velerofs's tests of
// repositories older Velero releases wrote (issue 15). The same program as go/pvbwriter/main.go
// (Velero v1.17.2) with v1.12.3's API: snapshotfs.NewUploader and kopia.Backup without an
// uploader configuration (Velero v1.12 has no multipart option); the kopia is Velero v1.12.3's
// fork of kopia v0.13.0.
//
//	pvbwriter -endpoint http://127.0.0.1:9000 -bucket velero -access-key K -secret-key S \
//	    -backup ns-shop -backup-uid UID -namespace shop -pod db-0 -pod-uid UID -volume data \
//	    -source DIR -pvb-out ns-shop-podvolumebackups.json.gz [-pvb-in old.json.gz] [-password P]
//
// The repository kopia/<namespace>/ is initialised (or connected to) by udmrepo/service (Velero's
// unified repository service over kopialib, as the repository manager's PrepareRepo does), with the
// store options that pkg/repository/provider's getStorageVariables/getStorageCredentials compute for
// an "aws" BackupStorageLocation with s3Url; the directory is backed up by pkg/uploader/kopia.Backup
// through the shim repository and kopia's uploader with the tags and source name that
// pkg/uploader/provider/kopia.go's RunBackup and the PodVolumeBackup controller give it. The
// PodVolumeBackup object is shaped as pkg/podvolume/backupper.go builds it, completed as the node-agent
// completes it. The snapshot id is printed on stdout.
package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	corev1api "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	velerov1api "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/repository/udmrepo"
	"github.com/vmware-tanzu/velero/pkg/repository/udmrepo/service"
	"github.com/vmware-tanzu/velero/pkg/uploader"
	"github.com/vmware-tanzu/velero/pkg/uploader/kopia"
	"github.com/vmware-tanzu/velero/pkg/util/encode"

	"github.com/kopia/kopia/snapshot/snapshotfs"
)

// velero's pkg/repository/keys: the password of the velero-repo-credentials secret it creates
const defaultRepoPassword = "static-passw0rd"

type opts struct {
	store    map[string]string
	password string
}

func (o opts) GetPassword(any) (string, error)                { return o.password, nil }
func (o opts) GetStoreType(any) (string, error)               { return udmrepo.StorageTypeS3, nil }
func (o opts) GetStoreOptions(any) (map[string]string, error) { return o.store, nil }

func die(f string, a ...any) { fmt.Fprintf(os.Stderr, "pvbwriter: "+f+"\n", a...); os.Exit(1) }

func main() {
	endpoint := flag.String("endpoint", "", "s3Url of the BSL (http://host:port)")
	bucket := flag.String("bucket", "velero", "bucket")
	prefix := flag.String("prefix", "", "BSL prefix")
	region := flag.String("region", "us-east-1", "region")
	ak := flag.String("access-key", "", "access key id")
	sk := flag.String("secret-key", "", "secret access key")
	password := flag.String("password", defaultRepoPassword, "repository password")
	bsl := flag.String("bsl", "default", "BSL name")
	veleroNS := flag.String("velero-namespace", "velero", "velero's namespace")
	backup := flag.String("backup", "", "backup name")
	backupUID := flag.String("backup-uid", "", "backup uid")
	ns := flag.String("namespace", "", "pod namespace")
	pod := flag.String("pod", "", "pod name")
	podUID := flag.String("pod-uid", "", "pod uid")
	volume := flag.String("volume", "", "volume name")
	pvc := flag.String("pvc", "", "PVC name (annotation; the snapshot source is named after it)")
	source := flag.String("source", "", "directory to back up")
	pvbIn := flag.String("pvb-in", "", "existing <backup>-podvolumebackups.json.gz to append to")
	pvbOut := flag.String("pvb-out", "", "where to write <backup>-podvolumebackups.json.gz")
	workdir := flag.String("workdir", "", "kopia config/cache directory (default: a temp dir)")
	flag.Parse()
	if *endpoint == "" || *backup == "" || *ns == "" || *pod == "" || *volume == "" || *source == "" {
		die("-endpoint, -backup, -namespace, -pod, -volume and -source are required")
	}
	ctx := context.Background()
	log := logrus.New()
	log.SetOutput(os.Stderr)
	log.SetLevel(logrus.WarnLevel)

	wd := *workdir
	if wd == "" {
		var err error
		if wd, err = os.MkdirTemp("", "pvbwriter"); err != nil {
			die("%v", err)
		}
		defer os.RemoveAll(wd)
	}
	os.Setenv("HOME", wd) // kopia's cache and logs go under the user's dirs

	// getStorageVariables + getStorageCredentials for provider "aws" with s3Url
	host := strings.TrimPrefix(strings.TrimPrefix(*endpoint, "http://"), "https://")
	store := map[string]string{
		udmrepo.StoreOptionS3Endpoint:         strings.Trim(host, "/"),
		udmrepo.StoreOptionS3DisableTLSVerify: "",
		udmrepo.StoreOptionS3DisableTLS:       fmt.Sprint(strings.HasPrefix(*endpoint, "http://")),
		udmrepo.StoreOptionOssBucket:          *bucket,
		udmrepo.StoreOptionPrefix:             path.Join(strings.Trim(*prefix, "/"), "kopia", *ns) + "/",
		udmrepo.StoreOptionOssRegion:          *region,
		udmrepo.StoreOptionFsPath:             "",
		udmrepo.StoreOptionS3KeyID:            *ak,
		udmrepo.StoreOptionS3Provider:         "SharedCredentialsProvider",
		udmrepo.StoreOptionS3SecretKey:        *sk,
		udmrepo.StoreOptionS3Token:            "",
	}
	o := opts{store: store, password: *password}
	repoUID := fmt.Sprintf("%s-%s-kopia", *ns, *bsl)
	repoOpt, err := udmrepo.NewRepoOptions(
		udmrepo.WithPassword(o, nil),
		udmrepo.WithConfigFile(wd, repoUID),
		udmrepo.WithGenOptions(map[string]string{
			udmrepo.GenOptionOwnerName:   udmrepo.GetRepoUser(),
			udmrepo.GenOptionOwnerDomain: udmrepo.GetRepoDomain(),
		}),
		udmrepo.WithStoreOptions(o, nil),
		udmrepo.WithDescription("repo connect"),
	)
	if err != nil {
		die("repo options: %v", err)
	}
	svc := service.Create(log)
	// PrepareRepo: connect, and create when not initialised yet
	if err := svc.Init(ctx, *repoOpt, false); err != nil {
		if err := svc.Init(ctx, *repoOpt, true); err != nil {
			die("init repository: %v", err)
		}
	}

	// kopiaProvider: open with the config file, then RunBackup
	openOpt, err := udmrepo.NewRepoOptions(
		udmrepo.WithPassword(o, nil),
		udmrepo.WithConfigFile(wd, repoUID),
		udmrepo.WithDescription("Initial kopia uploader provider"),
	)
	if err != nil {
		die("repo options: %v", err)
	}
	bkRepo, err := svc.Open(ctx, *openOpt)
	if err != nil {
		die("open repository: %v", err)
	}
	requestor := "snapshot-pod-volume" // podvolume's podVolumeRequestor
	repoWriter := kopia.NewShimRepo(bkRepo)
	kpUploader := snapshotfs.NewUploader(repoWriter)
	kpUploader.FailFast = true
	tags := map[string]string{
		uploader.SnapshotRequesterTag: requestor,
		uploader.SnapshotUploaderTag:  uploader.KopiaType,
	}
	realSource := fmt.Sprintf("%s/%s/%s", *ns, *pod, *volume) // GetRealSource
	if *pvc != "" {
		realSource = fmt.Sprintf("%s/%s/%s", *ns, *pod, *pvc)
	}
	realSource = fmt.Sprintf("%s/%s/%s", requestor, uploader.KopiaType, realSource)
	start := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	info, _, err := kopia.Backup(ctx, kpUploader, repoWriter, *source, realSource, false, "", uploader.PersistentVolumeFilesystem, tags, log)
	if err != nil {
		die("backup: %v", err)
	}
	if err := bkRepo.Close(ctx); err != nil {
		die("close: %v", err)
	}
	done := metav1.NewTime(time.Now().UTC().Truncate(time.Second))

	// pkg/podvolume/backupper.go newPodVolumeBackup, completed by the node-agent
	pvb := velerov1api.PodVolumeBackup{
		TypeMeta: metav1.TypeMeta{APIVersion: velerov1api.SchemeGroupVersion.String(), Kind: "PodVolumeBackup"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: *veleroNS,
			Name:      fmt.Sprintf("%s-%s", *backup, strings.ToLower(strings.ReplaceAll(*volume, "_", "-"))),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: velerov1api.SchemeGroupVersion.String(), Kind: "Backup",
				Name: *backup, UID: types.UID(*backupUID), Controller: ptr(true),
			}},
			Labels: map[string]string{
				velerov1api.BackupNameLabel: *backup,
				velerov1api.BackupUIDLabel:  *backupUID,
			},
		},
		Spec: velerov1api.PodVolumeBackupSpec{
			Node:   "node-1",
			Pod:    corev1api.ObjectReference{Kind: "Pod", Namespace: *ns, Name: *pod, UID: types.UID(*podUID)},
			Volume: *volume,
			Tags: map[string]string{
				"backup": *backup, "backup-uid": *backupUID, "pod": *pod, "pod-uid": *podUID,
				"ns": *ns, "volume": *volume,
			},
			BackupStorageLocation: *bsl,
			RepoIdentifier:        "",
			UploaderType:          uploader.KopiaType,
		},
		Status: velerov1api.PodVolumeBackupStatus{
			Phase:               velerov1api.PodVolumeBackupPhaseCompleted,
			Path:                "/host_pods/" + *podUID + "/volumes/kubernetes.io~empty-dir/" + *volume,
			SnapshotID:          info.ID,
			StartTimestamp:      &start,
			CompletionTimestamp: &done,
		},
	}
	pvb.Status.Progress.TotalBytes = info.Size
	pvb.Status.Progress.BytesDone = info.Size
	if *pvc != "" {
		pvb.Annotations = map[string]string{"velero.io/pvc-name": *pvc}
	}

	if *pvbOut != "" {
		var list []velerov1api.PodVolumeBackup
		if *pvbIn != "" {
			if f, err := os.Open(*pvbIn); err == nil {
				zr, err := gzip.NewReader(f)
				if err != nil {
					die("%s: %v", *pvbIn, err)
				}
				if err := json.NewDecoder(zr).Decode(&list); err != nil {
					die("%s: %v", *pvbIn, err)
				}
				f.Close()
			} else if !os.IsNotExist(err) {
				die("%v", err)
			}
		}
		list = append(list, pvb)
		// the backup controller's persistBackup: encode.ToJSONGzip(backup.PodVolumeBackups, ...)
		buf, errs := encode.ToJSONGzip(list, "pod volume backups list")
		if len(errs) > 0 {
			die("%v", errs)
		}
		if err := os.WriteFile(*pvbOut, buf.Bytes(), 0o644); err != nil {
			die("%v", err)
		}
	}
	fmt.Println(info.ID)
}

func ptr[T any](v T) *T { return &v }
