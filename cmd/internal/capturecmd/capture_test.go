package capturecmd

import (
	"strings"
	"testing"

	"github.com/inzone-io/inzone/cmd/internal/cli"
	"github.com/inzone-io/inzone/cmd/internal/cli/clitest"
)

func TestCaptureInitDryRun(t *testing.T) {
	code, out, errs := clitest.Run(t, NewCommand, "", "capture", "init", "--dry-run", "--proxy-uid", "2000",
		"--exclude-inbound-ports", "15021, 15000", "--exclude-outbound-cidrs", "169.254.169.254,fd00:ec2::254", "--include-inbound-ports", "8080")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"# IPv4: dry run, nothing installed\n# inzone traffic capture, IPv4\n*nat\n",
		"# IPv6: dry run, nothing installed\n# inzone traffic capture, IPv6\n*nat\n",
		"-A INZONE_OUTPUT -m owner --uid-owner 2000 -j RETURN\n",
		"-A INZONE_OUTPUT -d 169.254.169.254/32 -j RETURN\n",
		"-A INZONE_OUTPUT -d fd00:ec2::254/128 -j RETURN\n",
		"-A INZONE_INBOUND -p tcp --dport 15021 -j RETURN\n",
		"-A INZONE_INBOUND -p tcp --dport 8080 -j INZONE_IN_REDIRECT\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "COMMIT\n") != 2 {
		t.Errorf("want two rulesets:\n%s", out)
	}
}

func TestCaptureInitRejectsBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--exclude-outbound-ports", "80;reboot"}, "--exclude-outbound-ports"},
		{[]string{"--exclude-inbound-ports", "0"}, "--exclude-inbound-ports"},
		{[]string{"--include-outbound-cidrs", "10.0.0.1/8"}, "--include-outbound-cidrs"},
		{[]string{"--exclude-outbound-cidrs", "not-an-ip"}, "--exclude-outbound-cidrs"},
		{[]string{"--proxy-uid", "0"}, "proxy-uid"},
		{[]string{"--outbound-port", "15006"}, "must differ"},
		{[]string{"--inbound-port", "70000"}, "inbound-port"},
		{[]string{"--include-inbound-ports", "15006"}, "include-inbound-ports"},
		{[]string{"extra"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := clitest.Run(t, NewCommand, "", append([]string{"capture", "init", "--dry-run"}, tt.args...)...)
			if code != cli.ExitUsage || !strings.Contains(errs, tt.want) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d naming %q", code, out, errs, cli.ExitUsage, tt.want)
			}
		})
	}
}
