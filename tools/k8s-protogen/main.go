// k8s-protogen writes etcd/k8s_types.c: for every (apiVersion, kind) that
// kube-apiserver stores, the protobuf message it stores and, per message,
// each field's protobuf number, Go shape and JSON name and options, so that
// velerofs decodes a stored value into exactly the JSON `kubectl get -o json`
// shows, without Go.
//
// Everything is derived by reflection from the Go API types of the pinned
// Kubernetes version (go.mod): the `protobuf:"..."` tag gives the field
// number, the `json:"..."` tag the name, omitempty / omitzero and inlining,
// the Go kind the shape and the wire type. (The wire word of the protobuf tag
// is not used: apiextensions' JSONSchemaProps tags say "bytes" for double and
// bool fields, and the generated marshalling code follows the Go type; the
// count of such tags is printed in the header.) The only hand-written
// knowledge is the list of custom-marshalled types in specials below, each
// with the reason; any other type with its own MarshalJSON or a JSON name
// clash fails the generation, so a new one can't slip in silently.
//
// Usage: go run . [-o FILE] [-samples DIR [-n N]]   (default: the table to stdout)
package main

import (
	"encoding"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextv1beta1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	apiregv1beta1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1beta1"
)

// special: a type whose protobuf or JSON form is written by hand in Go
// (its own Marshal/Unmarshal or MarshalJSON), so the decoder renders it by
// hand too. fields, when set, replaces the struct's own (Time and MicroTime
// are a time.Time in Go and a Timestamp message on the wire; Quantity is a
// string on the wire).
type special struct {
	name   string // the C enum constant
	reason string
	fields reflect.Type // struct whose tags describe the wire, nil: t itself
	quant  bool         // Quantity: one string field, number 1
}

var specials = map[reflect.Type]special{
	reflect.TypeOf(metav1.Time{}): {"K8S_S_TIME",
		"protobuf: a Timestamp{seconds=1, nanos=2} (time_proto.go), nanos dropped on read; JSON: RFC 3339 in seconds, UTC, null when zero (MarshalJSON)",
		reflect.TypeOf(metav1.Timestamp{}), false},
	reflect.TypeOf(metav1.MicroTime{}): {"K8S_S_MICROTIME",
		"protobuf: a Timestamp, nanos truncated to microseconds on read; JSON: RFC 3339 with 6 fractional digits, UTC, null when zero",
		reflect.TypeOf(metav1.Timestamp{}), false},
	reflect.TypeOf(metav1.Duration{}): {"K8S_S_DURATION",
		"JSON: time.Duration.String() of the int64 nanoseconds (MarshalJSON)", nil, false},
	reflect.TypeOf(intstr.IntOrString{}): {"K8S_S_INTORSTRING",
		"JSON: intVal as a number when type is 0, strVal as a string when 1 (MarshalJSON)", nil, false},
	reflect.TypeOf(resource.Quantity{}): {"K8S_S_QUANTITY",
		"protobuf: message Quantity { optional string string = 1 } written by hand (generated.pb.go custom marshal); JSON: the same canonical string",
		nil, true},
	reflect.TypeOf(runtime.RawExtension{}): {"K8S_S_RAW",
		"JSON: the raw bytes themselves when they look like JSON, null when nil (MarshalJSON)", nil, false},
	reflect.TypeOf(metav1.FieldsV1{}): {"K8S_S_RAW",
		"JSON: the raw bytes (a JSON object), null when nil (MarshalJSON)", nil, false},
	reflect.TypeOf(apiextv1.JSON{}): {"K8S_S_JSON",
		"JSON: the raw bytes, null when empty (MarshalJSON)", nil, false},
	reflect.TypeOf(apiextv1beta1.JSON{}): {"K8S_S_JSON",
		"JSON: the raw bytes, null when empty (MarshalJSON)", nil, false},
	reflect.TypeOf(apiextv1.JSONSchemaPropsOrArray{}): {"K8S_S_OR_ARRAY",
		"JSON: the jSONSchemas array when not empty, else the schema (null when nil) (MarshalJSON)", nil, false},
	reflect.TypeOf(apiextv1beta1.JSONSchemaPropsOrArray{}): {"K8S_S_OR_ARRAY",
		"JSON: the jSONSchemas array when not empty, else the schema (null when nil) (MarshalJSON)", nil, false},
	reflect.TypeOf(apiextv1.JSONSchemaPropsOrBool{}): {"K8S_S_OR_BOOL",
		"JSON: the schema when set, else the allows bool (MarshalJSON)", nil, false},
	reflect.TypeOf(apiextv1beta1.JSONSchemaPropsOrBool{}): {"K8S_S_OR_BOOL",
		"JSON: the schema when set, else the allows bool (MarshalJSON)", nil, false},
	reflect.TypeOf(apiextv1.JSONSchemaPropsOrStringArray{}): {"K8S_S_OR_STRINGS",
		"JSON: the property array when not empty, else the schema, else null (MarshalJSON)", nil, false},
	reflect.TypeOf(apiextv1beta1.JSONSchemaPropsOrStringArray{}): {"K8S_S_OR_STRINGS",
		"JSON: the property array when not empty, else the schema, else null (MarshalJSON)", nil, false},
}

// The field numbers the hand-written renderers of k8s.c rely on, checked
// against the struct tags here so that a change fails the generation.
var specialNumbers = map[reflect.Type]map[string]int{
	reflect.TypeOf(metav1.Timestamp{}):                           {"Seconds": 1, "Nanos": 2},
	reflect.TypeOf(metav1.Duration{}):                            {"Duration": 1},
	reflect.TypeOf(intstr.IntOrString{}):                         {"Type": 1, "IntVal": 2, "StrVal": 3},
	reflect.TypeOf(runtime.RawExtension{}):                       {"Raw": 1},
	reflect.TypeOf(metav1.FieldsV1{}):                            {"Raw": 1},
	reflect.TypeOf(apiextv1.JSON{}):                              {"Raw": 1},
	reflect.TypeOf(apiextv1beta1.JSON{}):                         {"Raw": 1},
	reflect.TypeOf(apiextv1.JSONSchemaPropsOrArray{}):            {"Schema": 1, "JSONSchemas": 2},
	reflect.TypeOf(apiextv1beta1.JSONSchemaPropsOrArray{}):       {"Schema": 1, "JSONSchemas": 2},
	reflect.TypeOf(apiextv1.JSONSchemaPropsOrBool{}):             {"Allows": 1, "Schema": 2},
	reflect.TypeOf(apiextv1beta1.JSONSchemaPropsOrBool{}):        {"Allows": 1, "Schema": 2},
	reflect.TypeOf(apiextv1.JSONSchemaPropsOrStringArray{}):      {"Schema": 1, "Property": 2},
	reflect.TypeOf(apiextv1beta1.JSONSchemaPropsOrStringArray{}): {"Schema": 1, "Property": 2},
	// the storage envelope ("k8s\0" + runtime.Unknown), decoded by k8s.c
	reflect.TypeOf(runtime.Unknown{}):  {"TypeMeta": 1, "Raw": 2, "ContentEncoding": 3, "ContentType": 4},
	reflect.TypeOf(runtime.TypeMeta{}): {"APIVersion": 1, "Kind": 2},
}

type field struct {
	tag   int
	json  string // "" with noJSON: decoded and dropped (json:"-")
	goN   string
	typ   string // K8S_T_*
	flags []string
	msg   int
}

type message struct {
	name    string
	special string
	fields  []field
}

type gen struct {
	msgs     []*message
	byType   map[reflect.Type]int
	wireLies int
	errs     []string
}

var (
	jsonMarshaler = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	textMarshaler = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

func (g *gen) fail(format string, a ...any) {
	g.errs = append(g.errs, fmt.Sprintf(format, a...))
}

func customJSON(t reflect.Type) bool {
	return t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) ||
		t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)
}

// protoList: a named slice type that go-to-protobuf wraps in a message of
// its own with one repeated field items = 1 (authentication's ExtraValue
// as a map value): its pointer has ProtoMessage.
func protoList(t reflect.Type) bool {
	if t.Kind() != reflect.Slice || t.Name() == "" || t.Elem().Kind() == reflect.Uint8 {
		return false
	}
	_, ok := reflect.PointerTo(t).MethodByName("ProtoMessage")
	return ok
}

func typeName(t reflect.Type) string {
	return t.PkgPath() + "." + t.Name()
}

// scalar maps a Go kind to the C type; "" if it is not a scalar.
func scalar(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "K8S_T_STRING"
	case reflect.Bool:
		return "K8S_T_BOOL"
	case reflect.Int32:
		return "K8S_T_INT32"
	case reflect.Int64, reflect.Int:
		return "K8S_T_INT64"
	case reflect.Uint32:
		return "K8S_T_UINT32"
	case reflect.Uint64:
		return "K8S_T_UINT64"
	case reflect.Float64:
		return "K8S_T_FLOAT64"
	case reflect.Float32:
		return "K8S_T_FLOAT32"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "K8S_T_BYTES"
		}
	}
	return ""
}

func wireWord(typ string) string {
	switch typ {
	case "K8S_T_BOOL", "K8S_T_INT32", "K8S_T_INT64", "K8S_T_UINT32", "K8S_T_UINT64":
		return "varint"
	case "K8S_T_FLOAT64":
		return "fixed64"
	case "K8S_T_FLOAT32":
		return "fixed32"
	}
	return "bytes"
}

// elem describes a value type (a field's, a slice element's, a map
// value's): the C type and the message index for messages.
func (g *gen) elem(t reflect.Type, where string) (string, int) {
	if s := scalar(t); s != "" {
		if customJSON(t) {
			g.fail("%s: %v has its own JSON marshalling and is not in the specials list", where, t)
		}
		return s, -1
	}
	if t.Kind() == reflect.Struct || protoList(t) {
		return "K8S_T_MSG", g.message(t)
	}
	g.fail("%s: unsupported type %v", where, t)
	return "K8S_T_STRING", -1
}

// message returns the index of t's message, generating it on first use.
func (g *gen) message(t reflect.Type) int {
	if i, ok := g.byType[t]; ok {
		return i
	}
	m := &message{name: typeName(t), special: "K8S_S_NONE"}
	i := len(g.msgs)
	g.msgs = append(g.msgs, m)
	g.byType[t] = i

	wire := t
	if sp, ok := specials[t]; ok {
		m.special = sp.name
		if sp.fields != nil {
			wire = sp.fields
		}
		if sp.quant {
			m.fields = []field{{tag: 1, json: "string", goN: "string", typ: "K8S_T_STRING", msg: -1}}
			return i
		}
	} else if customJSON(t) {
		g.fail("%v has its own JSON marshalling and is not in the specials list", t)
	}
	g.checkNumbers(wire)
	if protoList(t) {
		m.special = "K8S_S_LIST"
		typ, mi := g.elem(t.Elem(), m.name+".items")
		m.fields = []field{{tag: 1, json: "items", goN: "items", typ: typ, flags: []string{"K8S_F_SLICE"}, msg: mi}}
		return i
	}
	if wire.Kind() != reflect.Struct {
		g.fail("%v: not a struct", t)
		return i
	}
	for j := 0; j < wire.NumField(); j++ {
		if f, ok := g.field(wire, wire.Field(j)); ok {
			m.fields = append(m.fields, f)
		}
	}
	sort.SliceStable(m.fields, func(a, b int) bool { return m.fields[a].tag < m.fields[b].tag })
	for j := 1; j < len(m.fields); j++ {
		if m.fields[j].tag != 0 && m.fields[j].tag == m.fields[j-1].tag {
			g.fail("%s: protobuf number %d twice", m.name, m.fields[j].tag)
		}
	}
	return i
}

// same: whether messages a and b are the same on the wire and in JSON.
func (g *gen) same(a, b int, seen map[[2]int]bool) string {
	if a == b || seen[[2]int{a, b}] {
		return ""
	}
	seen[[2]int{a, b}] = true
	ma, mb := g.msgs[a], g.msgs[b]
	if ma.special != mb.special || len(ma.fields) != len(mb.fields) {
		return ma.name + " vs " + mb.name
	}
	for i := range ma.fields {
		fa, fb := ma.fields[i], mb.fields[i]
		if fa.tag != fb.tag || fa.json != fb.json || fa.typ != fb.typ ||
			strings.Join(fa.flags, "|") != strings.Join(fb.flags, "|") {
			return ma.name + "." + fa.goN + " vs " + mb.name + "." + fb.goN
		}
		if fa.typ == "K8S_T_MSG" {
			if why := g.same(fa.msg, fb.msg, seen); why != "" {
				return why
			}
		}
	}
	return ""
}

func (g *gen) checkNumbers(t reflect.Type) {
	for name, num := range specialNumbers[t] {
		f, ok := t.FieldByName(name)
		if !ok {
			g.fail("%v: no field %s", t, name)
			continue
		}
		if n := protoNumber(f); n != num {
			g.fail("%v.%s: protobuf number %d, k8s.c expects %d", t, name, n, num)
		}
	}
}

func protoNumber(f reflect.StructField) int {
	p := f.Tag.Get("protobuf")
	if p == "" {
		return 0
	}
	parts := strings.Split(p, ",")
	if len(parts) < 2 {
		return -1
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n <= 0 {
		return -1
	}
	return n
}

func (g *gen) field(st reflect.Type, f reflect.StructField) (field, bool) {
	where := typeName(st) + "." + f.Name
	out := field{goN: f.Name, msg: -1}
	name, opts, hasTag := f.Name, "", false
	if tag, ok := f.Tag.Lookup("json"); ok {
		hasTag = true
		name, opts, _ = strings.Cut(tag, ",")
	}
	if !f.IsExported() && !f.Anonymous {
		return out, false
	}
	noJSON := name == "-" && opts == ""
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "", "inline":
		case "omitempty":
			out.flags = append(out.flags, "K8S_F_OMITEMPTY")
		case "omitzero":
			// k8s.c implements IsZero of Time and MicroTime only
			if t := f.Type; t != reflect.TypeOf(metav1.Time{}) && t != reflect.TypeOf(metav1.MicroTime{}) {
				g.fail("%s: omitzero on %v", where, t)
			}
			out.flags = append(out.flags, "K8S_F_OMITZERO")
		default:
			g.fail("%s: json option %q", where, o)
		}
	}
	ft := f.Type
	inline := f.Anonymous && (!hasTag || name == "") && (ft.Kind() == reflect.Struct ||
		ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct)
	if inline {
		out.flags = append(out.flags, "K8S_F_INLINE")
	} else if hasTag && name == "" {
		name = f.Name
	}
	if !noJSON {
		out.json = name
	}
	out.tag = protoNumber(f)
	if out.tag < 0 {
		g.fail("%s: bad protobuf tag %q", where, f.Tag.Get("protobuf"))
		return out, false
	}
	if out.tag == 0 && noJSON {
		return out, false // neither on the wire nor in JSON (RawExtension.Object)
	}
	if ft.Kind() == reflect.Interface {
		if out.tag != 0 {
			g.fail("%s: interface on the wire", where)
		}
		return out, false
	}
	if ft.Kind() == reflect.Pointer {
		out.flags = append(out.flags, "K8S_F_PTR")
		ft = ft.Elem()
		if ft.Kind() == reflect.Slice && scalar(ft) == "" || ft.Kind() == reflect.Map || ft.Kind() == reflect.Pointer {
			g.fail("%s: pointer to %v", where, ft)
		}
	}
	switch {
	case scalar(ft) != "" || ft.Kind() == reflect.Struct || protoList(ft):
		out.typ, out.msg = g.elem(ft, where)
	case ft.Kind() == reflect.Slice:
		out.flags = append(out.flags, "K8S_F_SLICE")
		if ft.Elem().Kind() == reflect.Pointer {
			g.fail("%s: slice of pointers", where)
		}
		out.typ, out.msg = g.elem(ft.Elem(), where)
		if customJSON(ft) {
			g.fail("%s: slice type %v with its own JSON", where, ft)
		}
	case ft.Kind() == reflect.Map:
		out.flags = append(out.flags, "K8S_F_MAP")
		if ft.Key().Kind() != reflect.String {
			g.fail("%s: map key %v", where, ft.Key())
		}
		if ft.Elem().Kind() == reflect.Pointer {
			g.fail("%s: map of pointers", where)
		}
		out.typ, out.msg = g.elem(ft.Elem(), where)
		if customJSON(ft) {
			g.fail("%s: map type %v with its own JSON", where, ft)
		}
	default:
		g.fail("%s: unsupported type %v", where, ft)
		return out, false
	}
	if w := strings.Split(f.Tag.Get("protobuf"), ",")[0]; out.tag != 0 && w != wireWord(out.typ) &&
		!(out.typ == "K8S_T_INT32" || out.typ == "K8S_T_INT64") || w == "zigzag32" || w == "zigzag64" {
		if strings.HasPrefix(w, "zigzag") {
			g.fail("%s: zigzag encoding is not supported", where)
		}
		g.wireLies++
	}
	if inline && out.tag == 0 && !strings.HasSuffix(typeName(ft), "TypeMeta") {
		// an inlined struct that is not on the wire: its fields' zero
		// values are JSON-only (only TypeMeta is expected)
		g.fail("%s: inlined %v without a protobuf number", where, ft)
	}
	return out, true
}

// jsonNames checks what Go's encoding/json would see: the names of a
// message with its inlined messages' fields promoted must not clash (a
// clash would need Go's dominance rules, which k8s.c does not implement).
func (g *gen) jsonNames(i int, seen map[string]string, path string) {
	for _, f := range g.msgs[i].fields {
		inline := false
		for _, fl := range f.flags {
			inline = inline || fl == "K8S_F_INLINE"
		}
		if inline {
			g.jsonNames(f.msg, seen, path+"."+f.goN)
			continue
		}
		if f.json == "" {
			continue
		}
		if prev, ok := seen[f.json]; ok {
			g.fail("%s: JSON name %q of %s clashes with %s", g.msgs[i].name, f.json, path+"."+f.goN, prev)
		}
		seen[f.json] = path + "." + f.goN
	}
}

type kind struct {
	apiVersion, kind string
	msg              int
	servedAs         string // "" or the apiVersion kubectl shows
}

// servedAs: versions kube-apiserver 1.34 stores a group in but does not
// serve, whose objects are shown in the served version by a conversion that
// changes nothing but apiVersion: checked here, field for field. (CRDs,
// stored as apiextensions.k8s.io/v1beta1 and served as v1, need a real
// conversion: k8s.c does it by hand.)
// Keyed by "apiVersion kind", or "apiVersion *" for every kind of it.
// Found by tests/test_k8s_values.py (the stored version is not served);
// the storage versions are k8s.io/kubernetes
// pkg/kubeapiserver/default_storage_factory_builder.go.
var servedAs = map[string]string{
	// DRA went GA in 1.34 (v1 served), storage stays v1beta2 for a release
	"resource.k8s.io/v1beta2 *": "resource.k8s.io/v1",
	// GA in 1.34, stored as v1beta1 for a release
	"storage.k8s.io/v1beta1 VolumeAttributesClass": "storage.k8s.io/v1",
}

func main() {
	out := flag.String("o", "", "output file (default stdout)")
	samples := flag.String("samples", "", "also write random objects of every kind into this directory")
	nsamples := flag.Int("n", 3, "random objects per kind (-samples), objects (-bench-objects)")
	seed := flag.Int64("seed", 1, "random seed (-samples, -bench-objects)")
	benchObjects := flag.String("bench-objects", "", "write -n objects of a realistic cluster as stored in etcd into this file (bench/run)")
	flag.Parse()

	sch := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		apiextv1.AddToScheme, apiextv1beta1.AddToScheme,
		apiregv1.AddToScheme, apiregv1beta1.AddToScheme,
	} {
		if err := add(sch); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	g := &gen{byType: map[reflect.Type]int{}}
	objectMeta := reflect.TypeOf(metav1.ObjectMeta{})
	var kinds []kind
	for gvk, t := range sch.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal || t.Kind() != reflect.Struct {
			continue
		}
		// what the apiserver stores are objects: they have ObjectMeta
		// (lists have ListMeta, options and events of watches neither)
		if f, ok := t.FieldByName("ObjectMeta"); !ok || f.Type != objectMeta {
			continue
		}
		kinds = append(kinds, kind{apiVersion: gvk.GroupVersion().String(), kind: gvk.Kind})
	}
	// messages in a stable order: kinds sorted, then depth-first
	sort.Slice(kinds, func(a, b int) bool {
		if kinds[a].apiVersion != kinds[b].apiVersion {
			return kinds[a].apiVersion < kinds[b].apiVersion
		}
		return kinds[a].kind < kinds[b].kind
	})
	for k := range kinds {
		gv, _ := schema.ParseGroupVersion(kinds[k].apiVersion)
		t := sch.AllKnownTypes()[gv.WithKind(kinds[k].kind)]
		kinds[k].msg = g.message(t)
	}
	byKind := map[string]int{}
	for _, k := range kinds {
		byKind[k.apiVersion+" "+k.kind] = k.msg
	}
	for k := range kinds {
		to, ok := servedAs[kinds[k].apiVersion+" "+kinds[k].kind]
		if !ok {
			to, ok = servedAs[kinds[k].apiVersion+" *"]
		}
		if !ok {
			continue
		}
		if m, ok := byKind[to+" "+kinds[k].kind]; !ok {
			g.fail("%s %s: no %s to show it as", kinds[k].apiVersion, kinds[k].kind, to)
		} else if why := g.same(kinds[k].msg, m, map[[2]int]bool{}); why != "" {
			g.fail("%s %s is not %s field for field: %s", kinds[k].apiVersion, kinds[k].kind, to, why)
		} else {
			kinds[k].servedAs = to
		}
	}
	// Not stored but answered: the Status of a failed request, in protobuf
	// when the client asks for it (restore/ does for built-in kinds). Its
	// messages come after the stored kinds' ones; the kinds are sorted
	// again for the lookup. Samples are of stored kinds only.
	stored := append([]kind(nil), kinds...)
	kinds = append(kinds, kind{apiVersion: "v1", kind: "Status",
		msg: g.message(reflect.TypeOf(metav1.Status{}))})
	sort.Slice(kinds, func(a, b int) bool {
		if kinds[a].apiVersion != kinds[b].apiVersion {
			return kinds[a].apiVersion < kinds[b].apiVersion
		}
		return kinds[a].kind < kinds[b].kind
	})
	// the envelope's numbers (decoded by k8s.c, not from the table)
	for _, t := range []reflect.Type{reflect.TypeOf(runtime.Unknown{}), reflect.TypeOf(runtime.TypeMeta{})} {
		g.checkNumbers(t)
	}
	for i := range g.msgs {
		if g.msgs[i].special == "K8S_S_NONE" {
			g.jsonNames(i, map[string]string{}, g.msgs[i].name)
		}
	}
	if len(g.errs) > 0 {
		sort.Strings(g.errs)
		for _, e := range g.errs {
			fmt.Fprintln(os.Stderr, "k8s-protogen:", e)
		}
		os.Exit(1)
	}

	if *benchObjects != "" {
		if err := writeBenchObjects(*benchObjects, *nsamples, *seed, sch); err != nil {
			fmt.Fprintln(os.Stderr, "k8s-protogen:", err)
			os.Exit(1)
		}
		return
	}
	if *samples != "" {
		if err := writeSamples(*samples, *nsamples, *seed, sch, stored); err != nil {
			fmt.Fprintln(os.Stderr, "k8s-protogen:", err)
			os.Exit(1)
		}
		if *out == "" {
			return
		}
	}
	w := io.Writer(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	emit(w, g, kinds)
}

func versions() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	var v []string
	for _, d := range bi.Deps {
		switch d.Path {
		case "k8s.io/api", "k8s.io/apimachinery", "k8s.io/apiextensions-apiserver",
			"k8s.io/kube-aggregator", "k8s.io/client-go":
			v = append(v, d.Path+" "+d.Version)
		}
	}
	sort.Strings(v)
	return strings.Join(v, ", ")
}

func emit(w io.Writer, g *gen, kinds []kind) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("/* Generated by tools/k8s-protogen (go run . -o ../../etcd/k8s_types.c):\n")
	p(" * the protobuf messages kube-apiserver stores, per (apiVersion, kind),\n")
	p(" * and per message each field's number, Go shape and JSON name. DO NOT\n")
	p(" * EDIT: change the generator and run it again (tests/test_k8s_protogen.py\n")
	p(" * fails when this file and the generator disagree).\n")
	p(" *\n * From %s.\n", wrap(versions(), " * "))
	p(" * %d kinds, %d messages; %d struct tags whose wire word disagrees with\n", len(kinds), len(g.msgs), g.wireLies)
	p(" * the Go type (the Go type decides, as in the generated code). */\n")
	p("#include \"etcd/k8s_types_i.h\"\n\n")
	p("/* one line per field, as generated: not reflowed */\n/* clang-format off */\n\n")
	for i, m := range g.msgs {
		if len(m.fields) == 0 {
			continue
		}
		p("/* %s */\nstatic const struct k8s_field f%d[] = {\n", m.name, i)
		for _, f := range m.fields {
			flags := "0"
			if len(f.flags) > 0 {
				flags = strings.Join(f.flags, " | ")
			}
			js := "NULL"
			if f.json != "" {
				js = strconv.Quote(f.json)
			}
			msg := 0
			if f.msg >= 0 {
				msg = f.msg
			}
			p("\t{ %d, %d, %s, %s, %s },\n", f.tag, msg, f.typ, flags, js)
		}
		p("};\n")
	}
	p("\nconst struct k8s_msg k8s_msgs[] = {\n")
	for i, m := range g.msgs {
		fs := "NULL"
		if len(m.fields) > 0 {
			fs = fmt.Sprintf("f%d", i)
		}
		p("\t{ %q, %s, %s, %d },\n", m.name, m.special, fs, len(m.fields))
	}
	p("};\nconst unsigned k8s_nmsgs = %d;\n\n", len(g.msgs))
	p("/* sorted by apiVersion, then kind (strcmp) */\nconst struct k8s_kind k8s_kinds[] = {\n")
	for _, k := range kinds {
		as := "NULL"
		if k.servedAs != "" {
			as = strconv.Quote(k.servedAs)
		}
		p("\t{ %q, %q, %s, %d },\n", k.apiVersion, k.kind, as, k.msg)
	}
	p("};\nconst unsigned k8s_nkinds = %d;\n", len(kinds))
}

func wrap(s, prefix string) string {
	var b strings.Builder
	col := len(prefix) + 5
	for i, word := range strings.Split(s, " ") {
		if i > 0 {
			if col+len(word)+1 > 76 {
				b.WriteString("\n" + prefix)
				col = len(prefix)
			} else {
				b.WriteString(" ")
				col++
			}
		}
		b.WriteString(word)
		col += len(word)
	}
	return b.String()
}
