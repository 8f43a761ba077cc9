package envoy

import "testing"

func TestDetect(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		want   Format
		wantOK bool
	}{
		{
			name:   "a bootstrap with static_resources is a bootstrap",
			doc:    "static_resources:\n  clusters:\n  - name: a\n    type: STRICT_DNS\n",
			want:   Bootstrap,
			wantOK: true,
		},
		{
			name:   "a camelCase JSON bootstrap is a bootstrap",
			doc:    `{"staticResources": {"clusters": []}, "node": {"id": "x"}}`,
			want:   Bootstrap,
			wantOK: true,
		},
		{
			name:   "a bootstrap with only dynamic resources and admin is a bootstrap",
			doc:    "node: {id: a, cluster: b}\ndynamic_resources:\n  cds_config: {path_config_source: {path: /etc/envoy/cds.yaml}}\nadmin: {address: {socket_address: {address: 127.0.0.1, port_value: 9901}}}\n",
			want:   Bootstrap,
			wantOK: true,
		},
		{
			name:   "an admin-only bootstrap is a bootstrap",
			doc:    "admin:\n  address:\n    socket_address: {address: 127.0.0.1, port_value: 9901}\n",
			want:   Bootstrap,
			wantOK: true,
		},
		{
			name:   "a CDS response with typed resources is a clusters config",
			doc:    `{"version_info": "1", "resources": [{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "a"}]}`,
			want:   Clusters,
			wantOK: true,
		},
		{
			name:   "an empty CDS response with a type_url is a clusters config",
			doc:    `{"version_info": "1", "type_url": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "resources": []}`,
			want:   Clusters,
			wantOK: true,
		},
		{
			name:   "an LDS response is a clusters config without clusters",
			doc:    "resources:\n- \"@type\": type.googleapis.com/envoy.config.listener.v3.Listener\n  name: l\n",
			want:   Clusters,
			wantOK: true,
		},
		{
			name:   "a plain list of clusters is a clusters config",
			doc:    "- name: a\n  type: strict_dns\n- name: b\n  connect_timeout: 1s\n",
			want:   Clusters,
			wantOK: true,
		},
		{
			name:   "a list of config dump cluster entries is a clusters config",
			doc:    `[{"cluster": {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "a"}, "last_updated": "2020-10-25T20:20:54.897Z"}]`,
			want:   Clusters,
			wantOK: true,
		},
		{
			name:   "a config dump is a config dump",
			doc:    `{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump", "bootstrap": {}}, {"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump"}]}`,
			want:   ConfigDump,
			wantOK: true,
		},
		{
			name: "a Kubernetes Service is not Envoy",
			doc:  "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80}]\n",
		},
		{
			name: "a Kubernetes object is not Envoy even with Envoy's keys",
			doc:  "apiVersion: example.com/v1\nkind: Proxy\nstatic_resources: {clusters: []}\n",
		},
		{
			name: "a random YAML map is not Envoy",
			doc:  "name: web\nreplicas: 3\nimage: nginx:1.27\n",
		},
		{
			name: "a map with an admin section of another tool is not Envoy",
			doc:  "admin:\n  user: root\n  password: hunter2\n",
		},
		{
			name: "a list of name and type records is not Envoy",
			doc:  "- name: Age\n  type: date\n  jsonPath: .metadata.creationTimestamp\n",
		},
		{
			name: "a list of Kubernetes objects is not Envoy",
			doc:  "- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n  name: a\n  type: STRICT_DNS\n",
		},
		{
			name: "an empty document is not Envoy",
			doc:  "",
		},
		{
			name: "an empty list is not Envoy",
			doc:  "[]",
		},
		{
			name: "a scalar is not Envoy",
			doc:  "static_resources",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Detect(decodeYAML(t, tt.doc))
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Detect() = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestMayHoldConfig(t *testing.T) {
	tests := []struct {
		name string
		text string
		want bool
	}{
		{"a bootstrap may", "static_resources:\n  clusters: []\n", true},
		{"a camelCase bootstrap may", `{"staticResources": {}}`, true},
		{"a CDS response may", `{"resources": [{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster"}]}`, true},
		{"a list of clusters may", "clusters:\n- name: a\n", true},
		{"an nginx config may not", "server {\n  listen 80;\n}\n", false},
		{"the empty text may not", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MayHoldConfig(tt.text); got != tt.want {
				t.Errorf("MayHoldConfig(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}
