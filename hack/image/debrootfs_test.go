package main

import (
	"strings"
	"testing"
)

func TestParseSimulationPinsWhatAptWouldInstall(t *testing.T) {
	out := []byte(`Reading package lists...
NOTE: This is only a simulation!
Inst netbase (6.4 Debian:12.15/oldstable [all])
Inst libgcc-s1 (12.2.0-14+deb12u1 Debian:12.15/oldstable [arm64]) []
Inst libfoo [1.0-1] (1:2.0-1 Debian:12.15/oldstable [amd64])
Conf netbase (6.4 Debian:12.15/oldstable [all])
`)
	got, err := parseSimulation(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := "libfoo=1:2.0-1 libgcc-s1=12.2.0-14+deb12u1 netbase=6.4"; PackageList(got) != want {
		t.Errorf("got %q, want %q", PackageList(got), want)
	}
	if got[1].Arch != "arm64" || got[2].Arch != "all" {
		t.Errorf("architectures: %+v", got)
	}
	if _, err := parseSimulation([]byte("E: Unable to locate package iptables\n")); err == nil || !strings.Contains(err.Error(), "Unable to locate") {
		t.Errorf("no package resolved: err = %v, want one quoting apt", err)
	}
}

func TestUnwantedKeepsCopyrightNotices(t *testing.T) {
	for name, want := range map[string]bool{
		"/usr/share/man":                         true,
		"/usr/share/man/man8/iptables.8.gz":      true,
		"/usr/share/lintian/overrides/iptables":  true,
		"/usr/share/doc/iptables":                false,
		"/usr/share/doc/iptables/copyright":      false,
		"/usr/share/doc/iptables/changelog.gz":   true,
		"/usr/share/doc/iptables/examples/x.sh":  true,
		"/usr/share/doc":                         false,
		"/usr/sbin/xtables-nft-multi":            false,
		"/usr/share/manifest":                    false,
		"/usr/lib/x86_64-linux-gnu/xtables/a.so": false,
	} {
		if got := unwanted(name); got != want {
			t.Errorf("unwanted(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestMergeFiles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lists   [][]file
		want    string // names, and a hard link's data
		wantErr string
	}{
		{"shared directories once", [][]file{
			{{name: "/usr", dir: true}, {name: "/usr/a", data: []byte("a")}},
			{{name: "/usr", dir: true}, {name: "/usr/b", data: []byte("b")}},
		}, "/usr /usr/a /usr/b", ""},
		{"a file twice", [][]file{{{name: "/usr/a", data: []byte("a")}}, {{name: "/usr/a", data: []byte("b")}}}, "", "/usr/a is shipped twice"},
		{"a file over a directory", [][]file{{{name: "/usr", dir: true}}, {{name: "/usr", data: []byte("b")}}}, "", "/usr is shipped twice"},
		{"hard link becomes a copy", [][]file{{{name: "/z", data: []byte("zz")}, {name: "/a", hardlink: "/z"}}}, "/z /a=zz", ""},
		{"hard link to nothing", [][]file{{{name: "/a", hardlink: "/z"}}}, "", "/a: hard link to /z"},
		{"hard link to a symlink", [][]file{{{name: "/z", link: "y"}, {name: "/a", hardlink: "/z"}}}, "", "/a: hard link to /z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mergeFiles(tc.lists...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range got {
				n := f.name
				if f.hardlink != "" {
					t.Errorf("%s still a hard link", f.name)
				}
				if n == "/a" {
					n += "=" + string(f.data)
				}
				names = append(names, n)
			}
			if strings.Join(names, " ") != tc.want {
				t.Errorf("got %q, want %q", strings.Join(names, " "), tc.want)
			}
		})
	}
}

func TestWithParentsAddsMissingDirectories(t *testing.T) {
	got := withParents([]file{{name: "/usr", dir: true, mode: 0o700}, {name: "/usr/local/bin/inzone", data: []byte("x")}})
	var names []string
	for _, f := range got {
		names = append(names, f.name)
		if f.name == "/usr" && f.mode != 0o700 {
			t.Errorf("an existing directory was replaced")
		}
	}
	if want := "/usr /usr/local/bin/inzone /usr/local/bin /usr/local"; strings.Join(names, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(names, " "), want)
	}
}
