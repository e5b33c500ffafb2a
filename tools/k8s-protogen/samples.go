package main

// -samples DIR: random objects of every kind, as kube-apiserver would store
// them (the protobuf serializer's "k8s\0" envelope) and as Go shows them
// after reading them back (protobuf Unmarshal into a fresh object, then
// encoding/json), one file per object in the format of tests/data/k8s/
// without a mod_revision. tests/test_k8s_protogen.py decodes each with
// k8s-decode: every field of every kind, not only those kubectl can set.
// The kinds the apiserver changes on read (k8s_read.c) or shows in another
// version are left out: Go's json.Marshal does neither.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"time"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextv1beta1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/randfill"
)

// the fixes of k8s_read.c
var readFixed = map[string]bool{
	"apiextensions.k8s.io/v1beta1 CustomResourceDefinition": true,
	"apps/v1 StatefulSet": true, "batch/v1 Job": true, "v1 Namespace": true,
	"v1 PersistentVolume": true, "v1 PersistentVolumeClaim": true,
	"v1 ReplicationController": true, "v1 Service": true,
}

func randJSON(c randfill.Continue, depth int) any {
	switch n := c.Intn(7); {
	case n == 0:
		return nil
	case n == 1:
		return c.Bool()
	case n == 2:
		return float64(c.Int63n(1<<40)) / float64(1+c.Intn(1000))
	case n == 3 && depth < 3:
		m := map[string]any{}
		for i := c.Intn(3); i > 0; i-- {
			m[c.String(5)] = randJSON(c, depth+1)
		}
		return m
	case n == 4 && depth < 3:
		a := []any{}
		for i := c.Intn(3); i > 0; i-- {
			a = append(a, randJSON(c, depth+1))
		}
		return a
	default:
		return c.String(8)
	}
}

func rawJSON(c randfill.Continue, object bool) []byte {
	var v any = randJSON(c, 0)
	if object {
		v = map[string]any{c.String(4): randJSON(c, 1)}
	}
	b, _ := json.Marshal(v)
	return b
}

func fillers() []any {
	return []any{
		func(t *metav1.Time, c randfill.Continue) {
			if c.Bool() {
				*t = metav1.Time{}
				return
			}
			*t = metav1.Unix(c.Int63n(4e9)-1e9, 0).Rfc3339Copy()
		},
		func(t *metav1.MicroTime, c randfill.Continue) {
			if c.Bool() {
				*t = metav1.MicroTime{}
				return
			}
			*t = metav1.NewMicroTime(time.Unix(c.Int63n(4e9)-1e9, c.Int63n(1e9)).Truncate(time.Microsecond))
		},
		func(d *metav1.Duration, c randfill.Continue) {
			d.Duration = time.Duration(c.Int63()) >> uint(c.Intn(64))
			if c.Bool() {
				d.Duration = -d.Duration
			}
		},
		func(q *resource.Quantity, c randfill.Continue) {
			formats := []resource.Format{resource.DecimalSI, resource.BinarySI, resource.DecimalExponent}
			*q = *resource.NewScaledQuantity(c.Int63n(1<<40)-1<<39, resource.Scale(c.Intn(20)-10))
			q.Format = formats[c.Intn(3)]
			// as the apiserver has them: parsed from a string (the
			// format follows the suffix), so String() is canonical
			*q = resource.MustParse(q.String())
			_ = q.String()
		},
		func(i *intstr.IntOrString, c randfill.Continue) {
			if c.Bool() {
				*i = intstr.FromInt32(c.Int31() - 1<<30)
			} else {
				*i = intstr.FromString(c.String(6))
			}
		},
		func(r *runtime.RawExtension, c randfill.Continue) {
			r.Object = nil
			r.Raw = nil
			if c.Bool() {
				r.Raw = rawJSON(c, true)
			}
		},
		func(f *metav1.FieldsV1, c randfill.Continue) {
			f.Raw = rawJSON(c, true)
		},
		func(j *apiextv1.JSON, c randfill.Continue) {
			j.Raw = nil
			if c.Bool() {
				j.Raw = rawJSON(c, false)
				if string(j.Raw) == "null" {
					j.Raw = nil
				}
			}
		},
		func(j *apiextv1beta1.JSON, c randfill.Continue) {
			j.Raw = nil
			if c.Bool() {
				j.Raw = rawJSON(c, false)
				if string(j.Raw) == "null" {
					j.Raw = nil
				}
			}
		},
		func(f *float64, c randfill.Continue) {
			*f = float64(c.Int63n(1<<53)) * []float64{1, 1e-10, 0.5, 1e20, 3.14}[c.Intn(5)]
		},
	}
}

func writeSamples(dir string, n int, seed int64, sch *runtime.Scheme, kinds []kind) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ser := protobuf.NewSerializer(sch, sch)
	f := randfill.New().NilChance(.4).NumElements(0, 2).MaxDepth(7).RandSource(rand.NewSource(seed)).Funcs(fillers()...)
	wrote := 0
	for _, k := range kinds {
		if k.servedAs != "" || readFixed[k.apiVersion+" "+k.kind] {
			continue
		}
		gv, _ := schema.ParseGroupVersion(k.apiVersion)
		gvk := gv.WithKind(k.kind)
		for i := 0; i < n; i++ {
			obj, err := sch.New(gvk)
			if err != nil {
				return err
			}
			f.Fill(obj)
			obj.GetObjectKind().SetGroupVersionKind(gvk)
			var buf strings.Builder
			if err := ser.Encode(obj, &buf); err != nil {
				fmt.Fprintf(os.Stderr, "k8s-protogen: %s %s: encode: %v\n", k.apiVersion, k.kind, err)
				continue
			}
			back, _ := sch.New(gvk)
			if _, _, err := ser.Decode([]byte(buf.String()), &gvk, back); err != nil {
				return fmt.Errorf("%s %s: decode: %w", k.apiVersion, k.kind, err)
			}
			back.GetObjectKind().SetGroupVersionKind(gvk)
			js, err := json.Marshal(back)
			if err != nil {
				fmt.Fprintf(os.Stderr, "k8s-protogen: %s %s: json: %v\n", k.apiVersion, k.kind, err)
				continue
			}
			doc, _ := json.Marshal(map[string]any{
				"api_version": k.apiVersion, "kind": k.kind, "key": "random",
				"value":    base64.StdEncoding.EncodeToString([]byte(buf.String())),
				"expected": json.RawMessage(js),
			})
			name := strings.NewReplacer("/", "_", ".", "_").Replace(k.apiVersion) + "_" + k.kind
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.json", name, i)), doc, 0o644); err != nil {
				return err
			}
			wrote++
		}
	}
	fmt.Fprintf(os.Stderr, "k8s-protogen: %d samples in %s\n", wrote, dir)
	return nil
}
