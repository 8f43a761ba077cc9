package mutate

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/inzone-io/inzone/test/golden"
)

// bootstrapTestParams is the fixed parameter set of the golden file.
var bootstrapTestParams = BootstrapParams{
	LocalCluster:   "orders.service.prod.ddsd",
	XDSAddress:     "inzone-control-plane.inzone-system.svc",
	XDSPort:        18000,
	AdminPort:      15000,
	HealthPort:     15021,
	ControlPlaneCA: testControlPlaneCA,
}

// testControlPlaneCA is a throwaway self-signed CA (testdata/xds-ca.pem).
var testControlPlaneCA = func() string {
	b, err := os.ReadFile(filepath.Join("testdata", "xds-ca.pem"))
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// bootstrapValidator is implemented by every generated Envoy message.
type bootstrapValidator interface{ ValidateAll() error }

func TestBootstrapRenderParsesAndEnablesZoneAwareRouting(t *testing.T) {
	cases := map[string]BootstrapParams{
		"default": bootstrapTestParams,
		// Characters that encoding/json would escape (<, >, &, U+2028 is
		// rejected separately) and non-ASCII: protojson does not escape them,
		// and Render must produce the same bytes as protojson.
		"escaping-sensitive name, IPv4, extreme ports": {
			LocalCluster: "a<b>&c'é/v2:x.ddsd",
			XDSAddress:   "10.0.0.7",
			XDSPort:      1,
			AdminPort:    65535,
			HealthPort:   2,
			Plaintext:    true,
		},
		"IPv6 control plane": {
			LocalCluster:   "payments.service.staging.ddsd",
			XDSAddress:     "fd00::1",
			XDSPort:        443,
			AdminPort:      9901,
			HealthPort:     9902,
			ControlPlaneCA: testControlPlaneCA,
		},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := NewBootstrapRenderer(p)
			if err != nil {
				t.Fatalf("NewBootstrapRenderer: %v", err)
			}
			js, err := r.Render(p.LocalCluster)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}

			// The fast path must equal marshalling the real proto.
			direct, err := Bootstrap(p)
			if err != nil {
				t.Fatalf("Bootstrap: %v", err)
			}
			want, err := marshalBootstrapJSON(direct)
			if err != nil {
				t.Fatal(err)
			}
			if js != string(want) {
				t.Fatalf("Render differs from protojson of Bootstrap:\nrender: %s\nproto:  %s", js, want)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, []byte(js)); err != nil {
				t.Fatalf("rendered JSON is not JSON: %v", err)
			}
			if compact.String() != js {
				t.Errorf("rendered JSON is not compact")
			}

			b := parseBootstrapJSON(t, js)
			if !proto.Equal(b, direct) {
				t.Errorf("parsed bootstrap differs from Bootstrap(p)")
			}
			wantAnys := 4 // HCM, router, HTTP protocol options, TLS
			if p.Plaintext {
				wantAnys = 3
			}
			if n := validateBootstrapAnys(t, b.ProtoReflect(), "bootstrap"); n != wantAnys {
				t.Errorf("found %d Any configs, want %d", n, wantAnys)
			}
			checkBootstrapZoneAware(t, b, p)
		})
	}
}

// parseBootstrapJSON parses like Envoy does: unknown fields are an error.
func parseBootstrapJSON(t *testing.T, js string) *bootstrapv3.Bootstrap {
	t.Helper()
	b := new(bootstrapv3.Bootstrap)
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal([]byte(js), b); err != nil {
		t.Fatalf("protojson.Unmarshal: %v", err)
	}
	if err := b.ValidateAll(); err != nil {
		t.Fatalf("ValidateAll: %v", err)
	}
	return b
}

// validateBootstrapAnys finds every google.protobuf.Any in m (recursively,
// also inside unpacked Anys), unpacks it with the global registry and
// validates it: ValidateAll does not look inside Any. It returns how many it found.
func validateBootstrapAnys(t *testing.T, m protoreflect.Message, path string) int {
	t.Helper()
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := anypb.UnmarshalNew(a, proto.UnmarshalOptions{})
		if err != nil {
			t.Errorf("%s: cannot unpack %s (type not registered?): %v", path, a.GetTypeUrl(), err)
			return 1
		}
		v, ok := inner.(bootstrapValidator)
		if !ok {
			t.Errorf("%s: %T has no ValidateAll", path, inner)
		} else if err := v.ValidateAll(); err != nil {
			t.Errorf("%s: %s: %v", path, a.GetTypeUrl(), err)
		}
		return 1 + validateBootstrapAnys(t, inner.ProtoReflect(), path+"("+a.GetTypeUrl()+")")
	}
	n := 0
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := path + "." + string(fd.Name())
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				return true
			}
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				n += validateBootstrapAnys(t, mv.Message(), p+"["+k.String()+"]")
				return true
			})
		case fd.IsList():
			if fd.Message() == nil {
				return true
			}
			for i := 0; i < v.List().Len(); i++ {
				n += validateBootstrapAnys(t, v.List().Get(i).Message(), p)
			}
		case fd.Message() != nil:
			n += validateBootstrapAnys(t, v.Message(), p)
		}
		return true
	})
	return n
}

// checkBootstrapZoneAware asserts the preconditions of Envoy's zone-aware
// routing and of the kubelet probe on a parsed bootstrap.
func checkBootstrapZoneAware(t *testing.T, b *bootstrapv3.Bootstrap, p BootstrapParams) {
	t.Helper()
	if b.GetNode() != nil {
		t.Errorf("node is set; it must come from --service-node/--service-cluster/--service-zone")
	}
	clusters := map[string]*clusterv3.Cluster{}
	for _, c := range b.GetStaticResources().GetClusters() {
		if clusters[c.GetName()] != nil {
			t.Errorf("static cluster %q defined twice", c.GetName())
		}
		clusters[c.GetName()] = c
	}

	// local_cluster_name names a static EDS cluster fed over ADS.
	local := b.GetClusterManager().GetLocalClusterName()
	if local != p.LocalCluster {
		t.Fatalf("local_cluster_name = %q, want %q", local, p.LocalCluster)
	}
	lc := clusters[local]
	if lc == nil {
		t.Fatalf("local_cluster_name %q is not a static cluster", local)
	}
	if lc.GetType() != clusterv3.Cluster_EDS {
		t.Errorf("local cluster type = %v, want EDS", lc.GetType())
	}
	checkBootstrapADS(t, "local cluster eds_config", lc.GetEdsClusterConfig().GetEdsConfig())

	// Every upstream comes from the control plane.
	dr := b.GetDynamicResources()
	checkBootstrapADS(t, "cds_config", dr.GetCdsConfig())
	checkBootstrapADS(t, "lds_config", dr.GetLdsConfig())
	ads := dr.GetAdsConfig()
	if ads.GetApiType() != corev3.ApiConfigSource_GRPC || ads.GetTransportApiVersion() != corev3.ApiVersion_V3 ||
		!ads.GetSetNodeOnFirstMessageOnly() || len(ads.GetGrpcServices()) != 1 ||
		ads.GetGrpcServices()[0].GetEnvoyGrpc().GetClusterName() != bootstrapXDSCluster {
		t.Errorf("ads_config = %v", ads)
	}

	// The control plane: one STRICT_DNS address spoken to with HTTP/2.
	xds := clusters[bootstrapXDSCluster]
	if xds == nil {
		t.Fatalf("no static cluster %q", bootstrapXDSCluster)
	}
	if xds.GetType() != clusterv3.Cluster_STRICT_DNS {
		t.Errorf("%s type = %v, want STRICT_DNS", bootstrapXDSCluster, xds.GetType())
	}
	if got := xds.GetConnectTimeout().AsDuration(); got != time.Second {
		t.Errorf("%s connect_timeout = %v, want 1s", bootstrapXDSCluster, got)
	}
	checkBootstrapSingleEndpoint(t, xds, p.XDSAddress, p.XDSPort)
	checkBootstrapControlPlaneTLS(t, xds, p)
	opts := new(upstreamhttpv3.HttpProtocolOptions)
	if err := xds.GetTypedExtensionProtocolOptions()[bootstrapHTTPOptionsKey].UnmarshalTo(opts); err != nil {
		t.Errorf("%s typed_extension_protocol_options[%s]: %v", bootstrapXDSCluster, bootstrapHTTPOptionsKey, err)
	} else if opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions() == nil {
		t.Errorf("%s does not use HTTP/2: %v", bootstrapXDSCluster, opts)
	}

	// Admin only on loopback, without access log.
	admin := b.GetAdmin()
	if sa := admin.GetAddress().GetSocketAddress(); sa.GetAddress() != "127.0.0.1" || sa.GetPortValue() != p.AdminPort {
		t.Errorf("admin address = %v, want 127.0.0.1:%d", sa, p.AdminPort)
	}
	if len(admin.GetAccessLog()) != 0 || admin.GetAccessLogPath() != "" {
		t.Errorf("admin has an access log")
	}

	// GET :HealthPort/ready -> inzone-admin -> 127.0.0.1:AdminPort.
	var health *listenerv3.Listener
	for _, l := range b.GetStaticResources().GetListeners() {
		if l.GetName() == bootstrapHealthListener {
			health = l
		}
	}
	if health == nil {
		t.Fatalf("no static listener %q", bootstrapHealthListener)
	}
	if sa := health.GetAddress().GetSocketAddress(); sa.GetAddress() != "0.0.0.0" || sa.GetPortValue() != p.HealthPort {
		t.Errorf("health listener address = %v, want 0.0.0.0:%d", sa, p.HealthPort)
	}
	if len(health.GetFilterChains()) != 1 || len(health.GetFilterChains()[0].GetFilters()) != 1 {
		t.Fatalf("health listener filter chains = %v", health.GetFilterChains())
	}
	f := health.GetFilterChains()[0].GetFilters()[0]
	if f.GetName() != "envoy.filters.network.http_connection_manager" {
		t.Errorf("health filter name = %q", f.GetName())
	}
	hcm := new(hcmv3.HttpConnectionManager)
	if err := f.GetTypedConfig().UnmarshalTo(hcm); err != nil {
		t.Fatalf("health filter typed_config: %v", err)
	}
	if hcm.GetStatPrefix() != "inzone_health" {
		t.Errorf("stat_prefix = %q", hcm.GetStatPrefix())
	}
	filters := hcm.GetHttpFilters()
	if len(filters) != 1 || filters[0].GetName() != "envoy.filters.http.router" {
		t.Fatalf("http_filters = %v, want just the router", filters)
	}
	if err := filters[0].GetTypedConfig().UnmarshalTo(new(routerv3.Router)); err != nil {
		t.Errorf("router typed_config: %v", err)
	}
	vhosts := hcm.GetRouteConfig().GetVirtualHosts()
	if len(vhosts) != 1 || len(vhosts[0].GetDomains()) != 1 || vhosts[0].GetDomains()[0] != "*" || len(vhosts[0].GetRoutes()) != 1 {
		t.Fatalf("virtual_hosts = %v, want one host * with one route", vhosts)
	}
	route := vhosts[0].GetRoutes()[0]
	if route.GetMatch().GetPath() != "/ready" {
		t.Errorf("route match = %v, want path /ready", route.GetMatch())
	}
	if h := route.GetMatch().GetHeaders(); len(h) != 1 || h[0].GetName() != ":method" || h[0].GetStringMatch().GetExact() != "GET" {
		t.Errorf("route header match = %v, want :method GET", h)
	}
	if got := route.GetRoute().GetCluster(); got != bootstrapAdminCluster {
		t.Errorf("/ready routed to %q, want %q", got, bootstrapAdminCluster)
	}
	ac := clusters[bootstrapAdminCluster]
	if ac == nil {
		t.Fatalf("no static cluster %q", bootstrapAdminCluster)
	}
	if ac.GetType() != clusterv3.Cluster_STATIC {
		t.Errorf("%s type = %v, want STATIC", bootstrapAdminCluster, ac.GetType())
	}
	checkBootstrapSingleEndpoint(t, ac, "127.0.0.1", p.AdminPort)
}

func checkBootstrapADS(t *testing.T, what string, cs *corev3.ConfigSource) {
	t.Helper()
	if cs.GetAds() == nil || cs.GetResourceApiVersion() != corev3.ApiVersion_V3 {
		t.Errorf("%s = %v, want {ads: {}, resource_api_version: V3}", what, cs)
	}
}

func checkBootstrapSingleEndpoint(t *testing.T, c *clusterv3.Cluster, host string, port uint32) {
	t.Helper()
	la := c.GetLoadAssignment()
	if la.GetClusterName() != c.GetName() || len(la.GetEndpoints()) != 1 || len(la.GetEndpoints()[0].GetLbEndpoints()) != 1 {
		t.Fatalf("cluster %s load_assignment = %v, want one endpoint", c.GetName(), la)
	}
	sa := la.GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
	if sa.GetAddress() != host || sa.GetPortValue() != port {
		t.Errorf("cluster %s endpoint = %v, want %s:%d", c.GetName(), sa, host, port)
	}
}

func TestBootstrapRenderIsByteStable(t *testing.T) {
	p := bootstrapTestParams
	r1, err := NewBootstrapRenderer(p)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := NewBootstrapRenderer(p)
	if err != nil {
		t.Fatal(err)
	}
	a, err := r1.Render(p.LocalCluster)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*BootstrapRenderer{r1, r2} {
		b, err := r.Render(p.LocalCluster)
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Fatalf("two renders differ:\n%s\n%s", a, b)
		}
	}
	if strings.Count(a, `"`+p.LocalCluster+`"`) != 2 {
		t.Errorf("local cluster name should occur exactly twice in %s", a)
	}
}

func TestBootstrapInvalidParams(t *testing.T) {
	ok := bootstrapTestParams
	with := func(f func(*BootstrapParams)) BootstrapParams {
		p := ok
		f(&p)
		return p
	}
	cases := []struct {
		name    string
		p       BootstrapParams
		wantErr string // substring of the error
	}{
		{"empty XDSAddress", with(func(p *BootstrapParams) { p.XDSAddress = "" }), "XDSAddress is empty"},
		{"XDSAddress with port", with(func(p *BootstrapParams) { p.XDSAddress = "cp.svc:18000" }), "XDSAddress"},
		{"XDSAddress URL", with(func(p *BootstrapParams) { p.XDSAddress = "http://cp.svc" }), "XDSAddress"},
		{"XDSAddress with space", with(func(p *BootstrapParams) { p.XDSAddress = "cp .svc" }), "XDSAddress"},
		{"XDSPort 0", with(func(p *BootstrapParams) { p.XDSPort = 0 }), "XDSPort 0"},
		{"AdminPort 0", with(func(p *BootstrapParams) { p.AdminPort = 0 }), "AdminPort 0"},
		{"HealthPort 0", with(func(p *BootstrapParams) { p.HealthPort = 0 }), "HealthPort 0"},
		{"port above 65535", with(func(p *BootstrapParams) { p.XDSPort = 65536 }), "XDSPort 65536"},
		{"AdminPort equals HealthPort", with(func(p *BootstrapParams) { p.HealthPort = p.AdminPort }), "must differ"},
		{"empty LocalCluster", with(func(p *BootstrapParams) { p.LocalCluster = "" }), "local cluster name is empty"},
		{"LocalCluster with quote", with(func(p *BootstrapParams) { p.LocalCluster = `orders".ddsd` }), "not allowed"},
		{"LocalCluster with backslash", with(func(p *BootstrapParams) { p.LocalCluster = `orders\.ddsd` }), "not allowed"},
		{"LocalCluster with newline", with(func(p *BootstrapParams) { p.LocalCluster = "orders\n.ddsd" }), "not allowed"},
		{"LocalCluster with NUL", with(func(p *BootstrapParams) { p.LocalCluster = "orders\x00" }), "not allowed"},
		{"LocalCluster with DEL", with(func(p *BootstrapParams) { p.LocalCluster = "orders\x7f" }), "not allowed"},
		{"LocalCluster with space", with(func(p *BootstrapParams) { p.LocalCluster = "orders service" }), "not allowed"},
		{"LocalCluster with U+2028", with(func(p *BootstrapParams) { p.LocalCluster = "orders\u2028" }), "not allowed"},
		{"LocalCluster with BOM", with(func(p *BootstrapParams) { p.LocalCluster = "\ufefforders" }), "not allowed"},
		{"LocalCluster invalid UTF-8", with(func(p *BootstrapParams) { p.LocalCluster = "orders\xff" }), "UTF-8"},
		{"LocalCluster too long", with(func(p *BootstrapParams) { p.LocalCluster = strings.Repeat("a", 254) }), "more than 253"},
		{"no CA and not plaintext", with(func(p *BootstrapParams) { p.ControlPlaneCA = "" }), "ControlPlaneCA is required"},
		{"a CA that is not PEM", with(func(p *BootstrapParams) { p.ControlPlaneCA = "not a certificate" }), "not PEM"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Bootstrap(tc.p)
			if err == nil {
				t.Fatalf("Bootstrap(%+v) = %v, want error", tc.p, b)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Bootstrap error = %q, want it to contain %q", err, tc.wantErr)
			}
			// The same input fails the renderer, in the constructor for
			// per-config parameters and in Render for the local cluster.
			r, err := NewBootstrapRenderer(tc.p)
			if err != nil {
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("NewBootstrapRenderer error = %q, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			js, err := r.Render(tc.p.LocalCluster)
			if err == nil {
				t.Fatalf("Render(%q) = %s, want error", tc.p.LocalCluster, js)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Render error = %q, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestBootstrapRenderZeroValue(t *testing.T) {
	var r *BootstrapRenderer
	if _, err := r.Render("orders.ddsd"); err == nil {
		t.Error("nil renderer rendered")
	}
	if _, err := new(BootstrapRenderer).Render("orders.ddsd"); err == nil {
		t.Error("zero renderer rendered")
	}
}

// The escaper must agree with protojson for everything, including what
// validation rejects, so Render stays byte-identical if validation loosens.
func TestBootstrapJSONEscapingMatchesProtojson(t *testing.T) {
	var all strings.Builder
	for c := 0; c < 0x80; c++ {
		all.WriteByte(byte(c))
	}
	for _, s := range []string{"", "orders.ddsd", `a"b\c`, "\b\f\n\r\t\x00\x01\x1f\x7f", "<>&'é\u2028\u2029\ufeff", all.String()} {
		raw, err := protojson.Marshal(wrapperspb.String(s))
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		sb.WriteByte('"')
		writeBootstrapJSONStringContent(&sb, s)
		sb.WriteByte('"')
		if sb.String() != string(raw) {
			t.Errorf("escape(%q) = %s, protojson = %s", s, sb.String(), raw)
		}
	}
}

// The ASCII fast path must agree with the general Unicode rule.
func TestBootstrapClusterNameRuneASCII(t *testing.T) {
	for r := rune(0); r < utf8.RuneSelf; r++ {
		want := unicode.IsPrint(r) && !unicode.IsSpace(r) && r != '"' && r != '\\'
		if got := bootstrapClusterNameRune(r); got != want {
			t.Errorf("bootstrapClusterNameRune(%q) = %v, want %v", r, got, want)
		}
	}
}

func TestBootstrapGolden(t *testing.T) {
	p := bootstrapTestParams
	r, err := NewBootstrapRenderer(p)
	if err != nil {
		t.Fatal(err)
	}
	js, err := r.Render(p.LocalCluster)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := json.Indent(&got, []byte(js), "", "  "); err != nil {
		t.Fatal(err)
	}
	got.WriteByte('\n')

	golden.Assert(t, filepath.Join("testdata", "bootstrap", "default.json"), got.Bytes())
}

func BenchmarkBootstrapRender(b *testing.B) {
	p := bootstrapTestParams
	r, err := NewBootstrapRenderer(p)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(p.LocalCluster); err != nil {
			b.Fatal(err)
		}
	}
}
