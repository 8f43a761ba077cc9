package webhook

import (
	"testing"

	"k8s.io/apimachinery/pkg/version"
)

func TestEffectiveVersionDecidesNativeSidecars(t *testing.T) {
	tests := []struct {
		name string
		info version.Info
		want bool
	}{
		{"a 1.36 release supports native sidecars", version.Info{Major: "1", Minor: "36", GitVersion: "v1.36.3"}, true},
		{"1.29 is the first with native sidecars", version.Info{Major: "1", Minor: "29", GitVersion: "v1.29.0"}, true},
		{"1.28 has none", version.Info{Major: "1", Minor: "28", GitVersion: "v1.28.9"}, false},
		{"a provider's minor with a plus sign parses", version.Info{Major: "1", Minor: "30+", GitVersion: "v1.30.2-eks-1234"}, true},
		{"an unstamped build is judged by major.minor", version.Info{Major: "1", Minor: "36", GitVersion: "v0.0.0-master+$Format:%H$"}, true},
		{"a 1.36 server emulating 1.28 has none", version.Info{Major: "1", Minor: "36", EmulationMajor: "1", EmulationMinor: "28", GitVersion: "v1.36.3"}, false},
		{"only a git version is enough", version.Info{GitVersion: "v1.31.1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := effectiveVersion(&tt.info)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.AtLeast(NativeSidecarMinVersion); got != tt.want {
				t.Errorf("native sidecars = %v (version %s), want %v", got, v, tt.want)
			}
		})
	}
	if _, err := effectiveVersion(&version.Info{GitVersion: "garbage"}); err == nil {
		t.Error("an unreadable version must be an error, not a guess")
	}
}
