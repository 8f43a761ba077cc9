package translate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/golden"
)

func testTranslator(t testing.TB) *Translator {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mutate.LoadConfig(data, "testdata/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// loadSource reads a multi-document YAML file of Nodes, Services,
// EndpointSlices and Pods into a Source named after the file.
func loadSource(t testing.TB, path string) Source {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src := Source{Name: strings.TrimSuffix(filepath.Base(path), ".yaml")}
	// A case's local cluster, where its sidecars run, is main.yaml or a.yaml.
	src.Local = src.Name == "main" || src.Name == "a"
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch o := obj.(type) {
		case *corev1.Node:
			src.Nodes = append(src.Nodes, o)
		case *corev1.Service:
			src.Services = append(src.Services, o)
		case *discoveryv1.EndpointSlice:
			src.EndpointSlices = append(src.EndpointSlices, o)
		case *corev1.Pod:
			src.Pods = append(src.Pods, o)
		default:
			t.Fatalf("%s: unexpected %T", path, obj)
		}
	}
	return src
}

// loadCase reads testdata/cases/<case>/: one Source per YAML file.
func loadCase(t testing.TB, dir string) Input {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	var in Input
	for _, f := range files {
		in.Sources = append(in.Sources, loadSource(t, f))
	}
	return in
}

// goldenOutput is what a case's golden file holds: the resources as
// protojson (re-indented: protojson's spacing is deliberately unstable) and
// the reports.
type goldenOutput struct {
	Clusters     []json.RawMessage   `json:"clusters"`
	Endpoints    []json.RawMessage   `json:"endpoints"`
	Local        []json.RawMessage   `json:"local"`
	Listeners    []json.RawMessage   `json:"listeners"`
	APIListeners []json.RawMessage   `json:"api_listeners"`
	Routes       []json.RawMessage   `json:"routes"`
	Addrs        map[string][]string `json:"dns"`
	Unzoned      []string            `json:"unzoned"`
	Problems     []string            `json:"problems"`
	Scopes       []goldenScope       `json:"scopes,omitempty"`
}

// goldenScope is a Scope: its clusters by name (they are the full view's
// messages), its route table in full.
type goldenScope struct {
	Identity string          `json:"identity"`
	Calls    []string        `json:"calls"`
	Clusters []string        `json:"clusters"`
	Route    json.RawMessage `json:"route"`
}

func render(t testing.TB, out *Output) []byte {
	t.Helper()
	g := goldenOutput{Addrs: map[string][]string{}, Unzoned: []string{}, Problems: []string{}}
	pj := func(m proto.Message) json.RawMessage {
		b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range out.Clusters {
		g.Clusters = append(g.Clusters, pj(c))
	}
	for _, e := range out.Endpoints {
		g.Endpoints = append(g.Endpoints, pj(e))
	}
	for _, e := range out.Local {
		g.Local = append(g.Local, pj(e))
	}
	for _, l := range out.Listeners {
		g.Listeners = append(g.Listeners, pj(l))
	}
	for _, l := range out.APIListeners {
		g.APIListeners = append(g.APIListeners, pj(l))
	}
	for _, r := range out.Routes {
		g.Routes = append(g.Routes, pj(r))
	}
	for name, addrs := range out.Addrs {
		g.Addrs[name] = []string{}
		for _, a := range addrs {
			g.Addrs[name] = append(g.Addrs[name], a.String())
		}
	}
	for _, u := range out.Unzoned {
		g.Unzoned = append(g.Unzoned, u.String())
	}
	for _, p := range out.Problems {
		g.Problems = append(g.Problems, p.String())
	}
	for _, sc := range out.Scopes {
		gs := goldenScope{Identity: sc.Identity, Calls: sc.Calls, Clusters: []string{}, Route: pj(sc.Route)}
		for _, c := range sc.Clusters {
			gs.Clusters = append(gs.Clusters, c.GetName())
		}
		g.Scopes = append(g.Scopes, gs)
	}
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	ind.WriteByte('\n')
	return ind.Bytes()
}

// TestGolden translates every testdata/cases/<case>/ (one Source per YAML
// file) and compares with testdata/golden/<case>.json; every resource must
// pass ValidateAll.
func TestGolden(t *testing.T) {
	tr := testTranslator(t)
	dirs, err := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	goldens, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	for _, g := range goldens {
		if _, err := os.Stat(filepath.Join("testdata", "cases", strings.TrimSuffix(filepath.Base(g), ".json"))); err != nil {
			t.Errorf("stale golden %s: no case for it", g)
		}
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			out := tr.Translate(loadCase(t, dir))
			if err := out.Validate(); err != nil {
				t.Fatalf("ValidateAll: %v", err)
			}
			golden.Assert(t, filepath.Join("testdata", "golden", name+".json"), render(t, out))
		})
	}
}
