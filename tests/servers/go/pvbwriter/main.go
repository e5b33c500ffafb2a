// pvbwriter: writes a pod volume's file-system backup into a backup storage location the way
// Velero v1.17's node-agent does, with Velero's own code, for velerofs's tests (issue 15).
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
//
// With -data-upload it writes what Velero v1.17's CSI snapshot data mover writes for one PVC instead
// (velerofs issue 15):
//
//	pvbwriter -data-upload -endpoint ... -backup B -backup-uid UID -namespace shop -pvc data \
//	    -pvc-uid UID -source DIR -du-out du.json
//
// The repository is the same kopia/<PVC namespace>/ (pkg/datamover/backup_micro_service.go: Init with
// SourceNamespace du.Spec.SourceNamespace, RepositoryType kopia; pkg/datapath/file_system.go's
// EnsureRepo); the source is backed up through the same uploader path (kopiaProvider.RunBackup of
// pkg/uploader/provider/kopia.go, which datapath's StartBackup calls) with the requestor
// "snapshot-data-upload-download", the real source GetRealSource(namespace, pvc) of pkg/datamover/util.go
// and the tag velero.io/async-operation-id. provider.NewKopiaUploaderProvider itself can't be called from
// here: its credentials getter is velero's internal/credentials. The DataUpload is shaped as
// pkg/backup/actions/csi/pvc_action.go's newDataUpload makes it and completed as
// pkg/controller/data_upload_controller.go's OnDataUploadCompleted completes it; it is written (as JSON,
// as the API server returns it) to -du-out, for the caller to put into the backup's tarball at
// resources/datauploads.velero.io/namespaces/<velero namespace>/<name>.json, where the backup finalizer
// puts it (pkg/backup/backup.go FinalizeBackup: the operations' PostOperationItems).
//
// With -block too, -source is a block device (a loop device: Velero's getLocalBlockEntry refuses
// anything else) and the PVC is backed up as a block-mode PVC is: kopia.Backup with volume mode
// uploader.PersistentVolumeBlock, as datapath's StartBackup passes the exposer's AccessModeBlock
// (pkg/uploader/kopia/block_backup.go: one streaming file named after the device path, in a static
// directory of the same name). In the data mover pod that path is "/<DataUpload uid>"
// (pkg/util/kube MakePodPVCAttachment's DevicePath); here it is whatever -source is.
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
	velerov2alpha1api "github.com/vmware-tanzu/velero/pkg/apis/velero/v2alpha1"
	"github.com/vmware-tanzu/velero/pkg/datamover"
	"github.com/vmware-tanzu/velero/pkg/label"
	"github.com/vmware-tanzu/velero/pkg/repository/udmrepo"
	"github.com/vmware-tanzu/velero/pkg/repository/udmrepo/service"
	"github.com/vmware-tanzu/velero/pkg/uploader"
	"github.com/vmware-tanzu/velero/pkg/uploader/kopia"
	"github.com/vmware-tanzu/velero/pkg/util/encode"

	"github.com/kopia/kopia/snapshot/upload"
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
	dataUpload := flag.Bool("data-upload", false, "write a CSI snapshot data mover's upload of -pvc (a DataUpload) instead")
	pvcUID := flag.String("pvc-uid", "", "PVC uid (-data-upload)")
	duOut := flag.String("du-out", "", "where to write the DataUpload (-data-upload)")
	duName := flag.String("du-name", "", "the DataUpload's name (default: <backup>-<5 letters>, as generateName makes it)")
	duUID := flag.String("du-uid", "9c1f6f1e-0000-4000-8000-0000000000d0", "the DataUpload's uid")
	storageClass := flag.String("storage-class", "csi-hostpath-sc", "the PVC's storage class (-data-upload)")
	snapClass := flag.String("snapshot-class", "csi-hostpath-snapclass", "the VolumeSnapshotClass (-data-upload)")
	driver := flag.String("driver", "hostpath.csi.k8s.io", "the CSI driver (-data-upload)")
	block := flag.Bool("block", false, "-source is a block device: back it up as a block-mode PVC (-data-upload)")
	flag.Parse()
	if *dataUpload {
		if *endpoint == "" || *backup == "" || *backupUID == "" || *ns == "" || *pvc == "" || *pvcUID == "" || *source == "" {
			die("-data-upload: -endpoint, -backup, -backup-uid, -namespace, -pvc, -pvc-uid and -source are required")
		}
	} else if *block {
		die("-block needs -data-upload")
	} else if *endpoint == "" || *backup == "" || *ns == "" || *pod == "" || *volume == "" || *source == "" {
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
	kpUploader := upload.NewUploader(repoWriter)
	kpUploader.FailFast = true
	tags := map[string]string{}
	realSource := fmt.Sprintf("%s/%s/%s", *ns, *pod, *volume) // GetRealSource
	if *pvc != "" {
		realSource = fmt.Sprintf("%s/%s/%s", *ns, *pod, *pvc)
	}
	var opID string
	if *dataUpload {
		// pkg/controller/data_upload_controller.go dataUploadDownloadRequestor; the operation id of
		// pvc_action.go (label.GetValidName of "du-" + backup uid + "." + pvc uid); the tags and the
		// real source of backup_micro_service.go's StartBackup
		requestor = "snapshot-data-upload-download"
		opID = label.GetValidName(string(velerov1api.AsyncOperationIDPrefixDataUpload) + *backupUID + "." + *pvcUID)
		tags[velerov1api.AsyncOperationIDLabel] = opID
		realSource = datamover.GetRealSource(*ns, *pvc)
	}
	// kopiaProvider.RunBackup
	tags[uploader.SnapshotRequesterTag] = requestor
	tags[uploader.SnapshotUploaderTag] = uploader.KopiaType
	realSource = fmt.Sprintf("%s/%s/%s", requestor, uploader.KopiaType, realSource)
	var uploaderCfg map[string]string
	if bkRepo.GetAdvancedFeatures().MultiPartBackup {
		uploaderCfg = map[string]string{kopia.UploaderConfigMultipartKey: "true"}
	}
	start := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	volMode := uploader.PersistentVolumeFilesystem
	if *block {
		volMode = uploader.PersistentVolumeBlock
	}
	info, _, err := kopia.Backup(ctx, kpUploader, repoWriter, *source, realSource, false, "", volMode, uploaderCfg, tags, log)
	if err != nil {
		die("backup: %v", err)
	}
	if err := bkRepo.Close(ctx); err != nil {
		die("close: %v", err)
	}
	done := metav1.NewTime(time.Now().UTC().Truncate(time.Second))

	if *dataUpload {
		writeDataUpload(duArgs{
			veleroNS: *veleroNS, backup: *backup, backupUID: *backupUID, bsl: *bsl,
			ns: *ns, pvc: *pvc, pvcUID: *pvcUID, name: *duName, uid: *duUID, opID: opID,
			storageClass: *storageClass, snapClass: *snapClass, driver: *driver,
			snapshotID: info.ID, size: info.Size, start: start, done: done, out: *duOut,
		})
		fmt.Println(info.ID)
		return
	}

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

type duArgs struct {
	veleroNS, backup, backupUID, bsl, ns, pvc, pvcUID, name, uid, opID string
	storageClass, snapClass, driver, snapshotID, out                   string
	size                                                               int64
	start, done                                                        metav1.Time
}

// writeDataUpload: the DataUpload of pvc_action.go's newDataUpload (the backup's spec defaults:
// data mover "" i.e. velero's built-in, csiSnapshotTimeout 10m), its VolumeSnapshot named as Velero's
// CSI PVC action names it ("velero-<pvc>-" + 5 letters), taken through Accepted/Prepared/InProgress by
// the node's DataUpload controller (Node, NodeOS, AcceptedByNode, StartTimestamp) and completed by
// OnDataUploadCompleted (Path: the exposed snapshot's mount /<du uid>, SnapshotID, the progress
// RunBackup reported, CompletionTimestamp; the expose label deleted).
func writeDataUpload(a duArgs) {
	name := a.name
	if name == "" {
		name = a.backup + "-" + "x7k2q"
	}
	node := "node-1"
	du := velerov2alpha1api.DataUpload{
		TypeMeta: metav1.TypeMeta{APIVersion: velerov2alpha1api.SchemeGroupVersion.String(), Kind: "DataUpload"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace:         a.veleroNS,
			Name:              name,
			GenerateName:      a.backup + "-",
			UID:               types.UID(a.uid),
			ResourceVersion:   "4711",
			Generation:        5,
			CreationTimestamp: a.start,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: velerov1api.SchemeGroupVersion.String(), Kind: "Backup",
				Name: a.backup, UID: types.UID(a.backupUID), Controller: ptr(true),
			}},
			Labels: map[string]string{
				velerov1api.BackupNameLabel:       label.GetValidName(a.backup),
				velerov1api.BackupUIDLabel:        a.backupUID,
				velerov1api.PVCUIDLabel:           a.pvcUID,
				velerov1api.AsyncOperationIDLabel: a.opID,
			},
		},
		Spec: velerov2alpha1api.DataUploadSpec{
			SnapshotType: velerov2alpha1api.SnapshotTypeCSI,
			CSISnapshot: &velerov2alpha1api.CSISnapshotSpec{
				VolumeSnapshot: "velero-" + a.pvc + "-" + "p4w8n",
				StorageClass:   a.storageClass,
				SnapshotClass:  a.snapClass,
				Driver:         a.driver,
			},
			SourcePVC:             a.pvc,
			DataMover:             "",
			BackupStorageLocation: a.bsl,
			SourceNamespace:       a.ns,
			OperationTimeout:      metav1.Duration{Duration: 10 * time.Minute},
		},
		Status: velerov2alpha1api.DataUploadStatus{
			Phase:               velerov2alpha1api.DataUploadPhaseCompleted,
			Path:                "/" + a.uid,
			SnapshotID:          a.snapshotID,
			StartTimestamp:      &a.start,
			CompletionTimestamp: &a.done,
			Node:                node,
			NodeOS:              velerov2alpha1api.NodeOSLinux,
			AcceptedByNode:      node,
			AcceptedTimestamp:   &a.start,
		},
	}
	du.Status.Progress.TotalBytes = a.size
	du.Status.Progress.BytesDone = a.size
	buf, err := json.Marshal(du)
	if err != nil {
		die("%v", err)
	}
	if a.out != "" {
		if err := os.WriteFile(a.out, buf, 0o644); err != nil {
			die("%v", err)
		}
	}
}
