package main

// -bench-objects FILE -n N: N objects of a realistic cluster as
// kube-apiserver stores them in etcd, for bench/run's etcd scenario
// (issue 12): Pods, Events, ConfigMaps, Secrets, Services and Deployments
// in the proportions and sizes of a busy cluster, each encoded by the
// apiserver's protobuf serializer (the "k8s\0" envelope, the same code path
// as -samples), under the key kube-apiserver uses. FILE holds one record per
// object: a 4-byte big-endian key length, the key, a 4-byte value length,
// the value. Deterministic for a given N and -seed. bench/run loads the
// records into the harness's etcd in transactions and saves a snapshot.

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

type benchGen struct {
	r   *rand.Rand
	t0  time.Time
	ser runtime.Serializer
	w   *bufio.Writer
}

func (g *benchGen) uid() types.UID {
	b := make([]byte, 16)
	g.r.Read(b)
	return types.UID(fmt.Sprintf("%x-%x-%x-%x-%x", b[:4], b[4:6], b[6:8], b[8:10], b[10:]))
}

func (g *benchGen) ts(i int) metav1.Time {
	return metav1.NewTime(g.t0.Add(time.Duration(i) * time.Second))
}

func (g *benchGen) word(n int) string {
	const a = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = a[g.r.Intn(len(a))]
	}
	return string(b)
}

// managedFields as kubectl apply and the controllers leave them: the
// FieldsV1 blobs are a large share of a stored object
func (g *benchGen) managed(i int, manager string, fields string) []metav1.ManagedFieldsEntry {
	t := g.ts(i)
	return []metav1.ManagedFieldsEntry{{
		Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", Time: &t,
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)},
	}}
}

func (g *benchGen) meta(i int, ns, name, app string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: name, Namespace: ns, UID: g.uid(), CreationTimestamp: g.ts(i),
		Labels: map[string]string{"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "shop",
			"tier": []string{"frontend", "backend", "cache"}[i%3]},
	}
}

func (g *benchGen) put(key string, obj runtime.Object) error {
	var buf strings.Builder
	if err := g.ser.Encode(obj, &buf); err != nil {
		return err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(key)))
	g.w.Write(n[:])
	g.w.WriteString(key)
	binary.BigEndian.PutUint32(n[:], uint32(buf.Len()))
	g.w.Write(n[:])
	_, err := g.w.WriteString(buf.String())
	return err
}

func (g *benchGen) container(app string, k int) corev1.Container {
	env := []corev1.EnvVar{}
	for e := 0; e < 6+g.r.Intn(10); e++ {
		env = append(env, corev1.EnvVar{Name: fmt.Sprintf("%s_SETTING_%d", strings.ToUpper(g.word(6)), e),
			Value: g.word(10 + g.r.Intn(40))})
	}
	env = append(env, corev1.EnvVar{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}})
	return corev1.Container{
		Name: fmt.Sprintf("%s-%d", app, k), Image: fmt.Sprintf("registry.example.com/shop/%s:v1.%d.%d", app, k, g.r.Intn(40)),
		Args:  []string{"--port=8080", "--log-level=info", "--config=/etc/" + app + "/config.yaml"},
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
		Env:   env,
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/" + app},
			{Name: "kube-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
		LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: "/healthz", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP}},
			InitialDelaySeconds: 10, TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3},
		TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		ImagePullPolicy: corev1.PullIfNotPresent,
	}
}

func (g *benchGen) pod(i int, ns, app string) error {
	name := fmt.Sprintf("%s-%s-%s", app, g.word(10), g.word(5))
	m := g.meta(i, ns, name, app)
	m.GenerateName = name[:len(name)-5]
	m.Labels["pod-template-hash"] = g.word(10)
	ctl := true
	m.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: app + "-" + m.Labels["pod-template-hash"],
		UID: g.uid(), Controller: &ctl, BlockOwnerDeletion: &ctl}}
	m.ManagedFields = append(g.managed(i, "kube-controller-manager",
		`{"f:metadata":{"f:generateName":{},"f:labels":{".":{},"f:app.kubernetes.io/name":{},"f:pod-template-hash":{},"f:tier":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\"`+string(m.OwnerReferences[0].UID)+`\"}":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"`+app+`-0\"}":{".":{},"f:args":{},"f:env":{".":{}},"f:image":{},"f:imagePullPolicy":{},"f:livenessProbe":{".":{},"f:failureThreshold":{},"f:httpGet":{".":{},"f:path":{},"f:port":{},"f:scheme":{}}},"f:name":{},"f:ports":{},"f:resources":{},"f:volumeMounts":{}}},"f:dnsPolicy":{},"f:enableServiceLinks":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{},"f:volumes":{}}}`),
		g.managed(i, "kubelet", `{"f:status":{"f:conditions":{"k:{\"type\":\"ContainersReady\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}},"k:{\"type\":\"Initialized\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}},"k:{\"type\":\"Ready\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}}},"f:containerStatuses":{},"f:hostIP":{},"f:phase":{},"f:podIP":{},"f:podIPs":{".":{},"k:{\"ip\":\"10.244.1.7\"}":{".":{},"f:ip":{}}},"f:startTime":{}}}`)[0])
	grace := int64(30)
	exp := int64(3607)
	mode := int32(420)
	cs := []corev1.Container{g.container(app, 0)}
	if i%3 == 0 {
		cs = append(cs, g.container(app+"-sidecar", 1))
	}
	st := g.ts(i + 5)
	p := &corev1.Pod{ObjectMeta: m, Spec: corev1.PodSpec{
		Containers: cs, RestartPolicy: corev1.RestartPolicyAlways, TerminationGracePeriodSeconds: &grace,
		DNSPolicy: corev1.DNSClusterFirst, ServiceAccountName: "default", DeprecatedServiceAccount: "default",
		NodeName: fmt.Sprintf("node-%03d", i%300), SecurityContext: &corev1.PodSecurityContext{}, SchedulerName: "default-scheduler",
		Tolerations: []corev1.Toleration{
			{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &grace},
			{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &grace}},
		Volumes: []corev1.Volume{
			{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: app + "-config"}, DefaultMode: &mode}}},
			{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{DefaultMode: &mode,
				Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: &exp, Path: "token"}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
						Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace",
						FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}}}}}}},
	}, Status: corev1.PodStatus{Phase: corev1.PodRunning, HostIP: fmt.Sprintf("10.0.%d.%d", i%300/250, i%250),
		PodIP: fmt.Sprintf("10.244.%d.%d", i/250%250, i%250), StartTime: &st, QOSClass: corev1.PodQOSBurstable,
		PodIPs: []corev1.PodIP{{IP: fmt.Sprintf("10.244.%d.%d", i/250%250, i%250)}}}}
	for _, c := range []corev1.PodConditionType{corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled} {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue, LastTransitionTime: st})
	}
	for _, c := range cs {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: st}}, Image: c.Image,
			ImageID: c.Image + "@sha256:" + g.word(64), ContainerID: "containerd://" + g.word(64)})
	}
	p.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Pod"))
	return g.put("/registry/pods/"+ns+"/"+name, p)
}

func (g *benchGen) event(i int, ns, app string) error {
	name := fmt.Sprintf("%s-%s.%x", app, g.word(10), g.r.Int63())
	m := metav1.ObjectMeta{Name: name, Namespace: ns, UID: g.uid(), CreationTimestamp: g.ts(i)}
	reasons := []string{"Scheduled", "Pulled", "Created", "Started", "Killing", "BackOff", "Unhealthy"}
	r := reasons[i%len(reasons)]
	e := &corev1.Event{ObjectMeta: m, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns,
		Name: app + "-" + g.word(10), UID: g.uid(), APIVersion: "v1", ResourceVersion: fmt.Sprint(1000 + i), FieldPath: "spec.containers{" + app + "}"},
		Reason: r, Message: fmt.Sprintf("%s: container image \"registry.example.com/shop/%s:v1.0.%d\" already present on machine", r, app, i%40),
		Source:         corev1.EventSource{Component: "kubelet", Host: fmt.Sprintf("node-%03d", i%300)},
		FirstTimestamp: g.ts(i), LastTimestamp: g.ts(i + 60), Count: int32(1 + i%9), Type: corev1.EventTypeNormal,
		ReportingController: "kubelet", ReportingInstance: fmt.Sprintf("node-%03d", i%300)}
	e.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Event"))
	return g.put("/registry/events/"+ns+"/"+name, e)
}

func (g *benchGen) configMap(i int, ns, app string) error {
	name := fmt.Sprintf("%s-config-%d", app, i)
	m := g.meta(i, ns, name, app)
	m.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `","namespace":"` + ns + `"}}`}
	data := map[string]string{}
	fields := []string{}
	for k := 0; k < 1+i%6; k++ {
		key := fmt.Sprintf("setting-%d", k)
		data[key] = g.word(20 + g.r.Intn(400))
		fields = append(fields, `"f:`+key+`":{}`)
	}
	data["config.yaml"] = "server:\n  port: 8080\n  proxy_read_timeout: 42s\n  upstream: " + g.word(200) + "\n"
	fields = append(fields, `"f:config.yaml":{}`)
	m.ManagedFields = g.managed(i, "kubectl-client-side-apply", `{"f:data":{".":{},`+strings.Join(fields, ",")+`},"f:metadata":{"f:annotations":{".":{},"f:kubectl.kubernetes.io/last-applied-configuration":{}},"f:labels":{}}}`)
	c := &corev1.ConfigMap{ObjectMeta: m, Data: data}
	c.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	return g.put("/registry/configmaps/"+ns+"/"+name, c)
}

func (g *benchGen) secret(i int, ns, app string) error {
	name := fmt.Sprintf("%s-secret-%d", app, i)
	m := g.meta(i, ns, name, app)
	data := map[string][]byte{}
	for k := 0; k < 1+i%4; k++ {
		b := make([]byte, 16+g.r.Intn(1500))
		g.r.Read(b)
		data[fmt.Sprintf("key-%d", k)] = b
	}
	m.ManagedFields = g.managed(i, "kubectl-create", `{"f:data":{".":{},"f:key-0":{}},"f:type":{}}`)
	s := &corev1.Secret{ObjectMeta: m, Data: data, Type: corev1.SecretTypeOpaque}
	if i%5 == 0 {
		s.Type = corev1.SecretTypeTLS
	}
	s.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return g.put("/registry/secrets/"+ns+"/"+name, s)
}

func (g *benchGen) service(i int, ns, app string) error {
	name := fmt.Sprintf("%s-%d", app, i)
	m := g.meta(i, ns, name, app)
	m.ManagedFields = g.managed(i, "kubectl-client-side-apply", `{"f:spec":{"f:internalTrafficPolicy":{},"f:ports":{".":{},"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:name":{},"f:port":{},"f:protocol":{},"f:targetPort":{}}},"f:selector":{},"f:sessionAffinity":{},"f:type":{}}}`)
	ip := fmt.Sprintf("10.96.%d.%d", i/250%250, i%250)
	fam := corev1.IPFamilyPolicySingleStack
	itp := corev1.ServiceInternalTrafficPolicyCluster
	s := &corev1.Service{ObjectMeta: m, Spec: corev1.ServiceSpec{
		Ports:    []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
		Selector: map[string]string{"app.kubernetes.io/name": app}, ClusterIP: ip, ClusterIPs: []string{ip},
		Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityNone,
		IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol}, IPFamilyPolicy: &fam, InternalTrafficPolicy: &itp}}
	s.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Service"))
	return g.put("/registry/services/specs/"+ns+"/"+name, s)
}

func (g *benchGen) deployment(i int, ns, app string) error {
	name := fmt.Sprintf("%s-%d", app, i)
	m := g.meta(i, ns, name, app)
	m.Generation = int64(1 + i%7)
	m.Annotations = map[string]string{"deployment.kubernetes.io/revision": fmt.Sprint(1 + i%7)}
	m.ManagedFields = g.managed(i, "kubectl-client-side-apply", `{"f:spec":{"f:progressDeadlineSeconds":{},"f:replicas":{},"f:revisionHistoryLimit":{},"f:selector":{},"f:strategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{},"f:maxUnavailable":{}},"f:type":{}},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app.kubernetes.io/name":{}}},"f:spec":{"f:containers":{}}}}}`)
	rep, rhl, pds := int32(1+i%5), int32(10), int32(600)
	mu, ms := intstr.FromString("25%"), intstr.FromString("25%")
	grace := int64(30)
	d := &appsv1.Deployment{ObjectMeta: m, Spec: appsv1.DeploymentSpec{Replicas: &rep, RevisionHistoryLimit: &rhl, ProgressDeadlineSeconds: &pds,
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": app}},
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &mu, MaxSurge: &ms}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/name": app}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{g.container(app, 0)}, RestartPolicy: corev1.RestartPolicyAlways,
				TerminationGracePeriodSeconds: &grace, DNSPolicy: corev1.DNSClusterFirst, SchedulerName: "default-scheduler",
				SecurityContext: &corev1.PodSecurityContext{}}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: m.Generation, Replicas: rep, UpdatedReplicas: rep, ReadyReplicas: rep, AvailableReplicas: rep,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, LastUpdateTime: g.ts(i), LastTransitionTime: g.ts(i),
					Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability."},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, LastUpdateTime: g.ts(i), LastTransitionTime: g.ts(i),
					Reason: "NewReplicaSetAvailable", Message: fmt.Sprintf("ReplicaSet \"%s-%s\" has successfully progressed.", name, g.word(10))}}}}
	d.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("Deployment"))
	return g.put("/registry/deployments/"+ns+"/"+name, d)
}

// writeBenchObjects writes n objects: per 100, 30 Pods, 25 Events, 15
// ConfigMaps, 15 Secrets, 7 Services, 8 Deployments, over 200 namespaces
func writeBenchObjects(path string, n int, seed int64, sch *runtime.Scheme) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	g := &benchGen{r: rand.New(rand.NewSource(seed)), t0: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		ser: protobuf.NewSerializer(sch, sch), w: bufio.NewWriterSize(f, 1<<20)}
	for i := 0; i < n; i++ {
		ns := fmt.Sprintf("team-%03d", i%200)
		app := []string{"cart", "checkout", "catalog", "payments", "search", "frontend", "recommend", "shipping"}[i/200%8]
		var err error
		switch j := i % 100; {
		case j < 30:
			err = g.pod(i, ns, app)
		case j < 55:
			err = g.event(i, ns, app)
		case j < 70:
			err = g.configMap(i, ns, app)
		case j < 85:
			err = g.secret(i, ns, app)
		case j < 92:
			err = g.service(i, ns, app)
		default:
			err = g.deployment(i, ns, app)
		}
		if err != nil {
			return err
		}
	}
	if err := g.w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
