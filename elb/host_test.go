package elb

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unsafe"
)

// want describes one expected match by its text; the test derives Start/End
// by searching for it after the previous match, and checks them too.
type wantHost struct {
	host, key string
}

func TestFind(t *testing.T) {
	const (
		classic    = "my-lb-1234567890.us-east-1.elb.amazonaws.com"
		classicKey = classic
		nlb        = "my-nlb-0123456789abcdef.elb.us-west-2.amazonaws.com"
		nlbKey     = nlb
	)
	tests := []struct {
		name string
		in   string
		want []wantHost
	}{
		// Positive: every hostname form.
		{"a bare classic ELB hostname is found", classic, []wantHost{{classic, classicKey}}},
		{"an internal classic ELB keeps internal- in its key",
			"internal-my-lb-1234567890.us-east-1.elb.amazonaws.com",
			[]wantHost{{"internal-my-lb-1234567890.us-east-1.elb.amazonaws.com", "internal-my-lb-1234567890.us-east-1.elb.amazonaws.com"}}},
		{"an ALB hostname is found",
			"k8s-default-web-5a1b2c3d4e-1122334455.eu-central-2.elb.amazonaws.com",
			[]wantHost{{"k8s-default-web-5a1b2c3d4e-1122334455.eu-central-2.elb.amazonaws.com", "k8s-default-web-5a1b2c3d4e-1122334455.eu-central-2.elb.amazonaws.com"}}},
		{"a bare NLB hostname is found", nlb, []wantHost{{nlb, nlbKey}}},
		{"a dualstack classic hostname drops dualstack from its key",
			"dualstack." + classic, []wantHost{{"dualstack." + classic, classicKey}}},
		{"a dualstack NLB hostname drops dualstack from its key",
			"dualstack." + nlb, []wantHost{{"dualstack." + nlb, nlbKey}}},
		{"an NLB per-AZ hostname drops the AZ from its key",
			"us-west-2a." + nlb, []wantHost{{"us-west-2a." + nlb, nlbKey}}},
		{"a dualstack per-AZ NLB hostname drops both prefixes from its key",
			"dualstack.us-west-2c." + nlb, []wantHost{{"dualstack.us-west-2c." + nlb, nlbKey}}},
		{"a China classic hostname is found",
			"my-lb-123.cn-north-1.elb.amazonaws.com.cn",
			[]wantHost{{"my-lb-123.cn-north-1.elb.amazonaws.com.cn", "my-lb-123.cn-north-1.elb.amazonaws.com.cn"}}},
		{"a China NLB hostname is found",
			"my-nlb-abc.elb.cn-northwest-1.amazonaws.com.cn",
			[]wantHost{{"my-nlb-abc.elb.cn-northwest-1.amazonaws.com.cn", "my-nlb-abc.elb.cn-northwest-1.amazonaws.com.cn"}}},
		{"a GovCloud hostname is found",
			"my-lb-1.us-gov-west-1.elb.amazonaws.com",
			[]wantHost{{"my-lb-1.us-gov-west-1.elb.amazonaws.com", "my-lb-1.us-gov-west-1.elb.amazonaws.com"}}},
		{"an upper-case hostname gets a lower-case key",
			"DualStack.My-LB-123.US-EAST-1.ELB.AmazonAWS.COM",
			[]wantHost{{"DualStack.My-LB-123.US-EAST-1.ELB.AmazonAWS.COM", "my-lb-123.us-east-1.elb.amazonaws.com"}}},
		{"a trailing dot belongs to the match but not to the key",
			classic + ".", []wantHost{{classic + ".", classicKey}}},
		{"a trailing dot ending a sentence belongs to the match",
			"Talk to " + classic + ". Then stop.", []wantHost{{classic + ".", classicKey}}},
		{"a China hostname with a trailing dot is found",
			"my-lb-123.cn-north-1.elb.amazonaws.com.cn.",
			[]wantHost{{"my-lb-123.cn-north-1.elb.amazonaws.com.cn.", "my-lb-123.cn-north-1.elb.amazonaws.com.cn"}}},

		// Positive: hostnames inside URLs and longer strings.
		{"a full http URL keeps scheme, port, path, query and fragment outside the match",
			"http://" + classic + ":8080/v1/x?y=1#f", []wantHost{{classic, classicKey}}},
		{"a grpc URL is matched", "grpc://" + nlb + ":50051", []wantHost{{nlb, nlbKey}}},
		{"userinfo before the host is not part of the match",
			"https://user:pass@" + classic + "/", []wantHost{{classic, classicKey}}},
		{"a bare host:port is matched", classic + ":443", []wantHost{{classic, classicKey}}},
		{"two URLs in one flag are both matched",
			"--upstream=http://" + classic + ",http://" + nlb,
			[]wantHost{{classic, classicKey}, {nlb, nlbKey}}},
		{"a redis URL with an internal ELB is matched",
			"redis://internal-x-1.eu-west-1.elb.amazonaws.com:6379/0",
			[]wantHost{{"internal-x-1.eu-west-1.elb.amazonaws.com", "internal-x-1.eu-west-1.elb.amazonaws.com"}}},
		{"a hostname inside JSON is matched",
			`{"url":"https://` + classic + `/api","n":1}`, []wantHost{{classic, classicKey}}},
		{"an underscore is a boundary",
			"HOST_" + classic, []wantHost{{classic, classicKey}}},
		{"hostnames separated by spaces and newlines are all matched",
			classic + " \n\t" + nlb + "\r\n" + classic,
			[]wantHost{{classic, classicKey}, {nlb, nlbKey}, {classic, classicKey}}},
		{"an ap-southeast-4 hostname is matched",
			"a1b2c3-99.ap-southeast-4.elb.amazonaws.com",
			[]wantHost{{"a1b2c3-99.ap-southeast-4.elb.amazonaws.com", "a1b2c3-99.ap-southeast-4.elb.amazonaws.com"}}},
		{"a hostname after a non-matching AWS host in the same string is matched",
			"s3.amazonaws.com " + classic, []wantHost{{classic, classicKey}}},

		// Negative.
		{"an empty string has no hostname", "", nil},
		{"text without a dot has no hostname", "postgres", nil},
		{"elb.amazonaws.com alone is not a load balancer", "elb.amazonaws.com", nil},
		{"s3.amazonaws.com is not a load balancer", "https://s3.amazonaws.com/bucket", nil},
		{"an API Gateway hostname is not a load balancer", "https://foo.execute-api.us-east-1.amazonaws.com/prod", nil},
		{"a hostname that continues with .evil.com is not matched", "http://" + classic + ".evil.com/", nil},
		{"a hostname that continues with a hyphen is not matched", classic + "-x", nil},
		{"two trailing dots are not matched", classic + "..", nil},
		{"notamazonaws.com is not AWS", "my-lb-1.us-east-1.elb.notamazonaws.com", nil},
		{"an empty label before .elb is not matched", "my-lb-1..elb.amazonaws.com", nil},
		{"an empty name before .elb of an NLB is not matched", "http://.elb.us-west-2.amazonaws.com", nil},
		{"a leading dot is not matched", "." + classic, nil},
		{"an unknown subdomain of a load balancer is not matched", "api." + classic, nil},
		{"an AZ prefix on a classic ELB is not matched", "us-east-1a." + classic, nil},
		{"an AZ of another region is not matched", "us-east-1a." + nlb, nil},
		{"dualstack twice is not matched", "dualstack.dualstack." + classic, nil},
		{"a name without a dash is not matched", "mylb.us-east-1.elb.amazonaws.com", nil},
		{"a name starting with a dash is not matched", "-my-lb.us-east-1.elb.amazonaws.com", nil},
		{"a name longer than 63 bytes is not matched", "a-" + strings.Repeat("b", 62) + ".us-east-1.elb.amazonaws.com", nil},
		{"a region without digits is not matched", "my-lb-1.us-east.elb.amazonaws.com", nil},
		{"a region with a single letter group is not matched", "my-lb-1.useast-1.elb.amazonaws.com", nil},
		{"a China region without .cn is not matched", "my-lb-1.cn-north-1.elb.amazonaws.com", nil},
		{"a .cn suffix on a non-China region is not matched", classic + ".cn", nil},
		{"amazonaws.co is not matched", "my-lb-1.us-east-1.elb.amazonaws.co", nil},
		{"a wildcard is not matched", "*.us-east-1.elb.amazonaws.com", nil},

		// Documented limitation: only the run of DNS bytes counts, so a
		// percent-encoded "%2F" leaves "2F" glued to the name.
		{"a percent-encoded URL yields a name with the escape's hex digits",
			"http%3A%2F%2Fmy-lb-1.us-east-1.elb.amazonaws.com",
			[]wantHost{{"2Fmy-lb-1.us-east-1.elb.amazonaws.com", "2fmy-lb-1.us-east-1.elb.amazonaws.com"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Find(tt.in)
			var want []Match
			from := 0
			for _, w := range tt.want {
				i := strings.Index(tt.in[from:], w.host)
				if i < 0 {
					t.Fatalf("bad test: %q not in %q after %d", w.host, tt.in, from)
				}
				m := Match{Start: from + i, End: from + i + len(w.host), Host: w.host, Key: w.key}
				want = append(want, m)
				from = m.End
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Find(%q)\n got %+v\nwant %+v", tt.in, got, want)
			}
			if oracle := oracleFind(tt.in); !reflect.DeepEqual(got, oracle) {
				t.Errorf("Find(%q) disagrees with the regexp oracle\n got %+v\nwant %+v", tt.in, got, oracle)
			}
		})
	}
}

func TestFindOffsets(t *testing.T) {
	s := "x=http://My-LB-1.us-east-1.elb.amazonaws.com.:80 y=dualstack.a-b.elb.eu-west-3.amazonaws.com"
	want := []Match{
		{Start: 9, End: 45, Host: "My-LB-1.us-east-1.elb.amazonaws.com.", Key: "my-lb-1.us-east-1.elb.amazonaws.com"},
		{Start: 51, End: 92, Host: "dualstack.a-b.elb.eu-west-3.amazonaws.com", Key: "a-b.elb.eu-west-3.amazonaws.com"},
	}
	if got := Find(s); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct {
		name string
		host string
		key  string
		ok   bool
	}{
		{"a classic hostname is its own key", "my-lb-1234567890.us-east-1.elb.amazonaws.com", "my-lb-1234567890.us-east-1.elb.amazonaws.com", true},
		{"an internal hostname keeps internal-", "internal-my-lb-1.us-east-1.elb.amazonaws.com", "internal-my-lb-1.us-east-1.elb.amazonaws.com", true},
		{"an NLB hostname is its own key", "my-nlb-0123456789abcdef.elb.us-west-2.amazonaws.com", "my-nlb-0123456789abcdef.elb.us-west-2.amazonaws.com", true},
		{"upper case is folded", "MY-LB-1.US-EAST-1.ELB.AMAZONAWS.COM", "my-lb-1.us-east-1.elb.amazonaws.com", true},
		{"a trailing dot is dropped", "my-lb-1.us-east-1.elb.amazonaws.com.", "my-lb-1.us-east-1.elb.amazonaws.com", true},
		{"dualstack is dropped", "dualstack.my-lb-1.us-east-1.elb.amazonaws.com", "my-lb-1.us-east-1.elb.amazonaws.com", true},
		{"an AZ prefix is dropped", "us-west-2b.my-nlb-1.elb.us-west-2.amazonaws.com", "my-nlb-1.elb.us-west-2.amazonaws.com", true},
		{"a China hostname keeps .cn", "my-lb-123.cn-north-1.elb.amazonaws.com.cn", "my-lb-123.cn-north-1.elb.amazonaws.com.cn", true},
		{"a China NLB with a trailing dot keeps .cn", "My-Nlb-Abc.elb.cn-northwest-1.amazonaws.com.cn.", "my-nlb-abc.elb.cn-northwest-1.amazonaws.com.cn", true},
		{"an empty host is not a load balancer", "", "", false},
		{"a lone dot is not a load balancer", ".", "", false},
		{"a URL is not a hostname", "http://my-lb-1.us-east-1.elb.amazonaws.com", "", false},
		{"a host:port is not a hostname", "my-lb-1.us-east-1.elb.amazonaws.com:80", "", false},
		{"surrounding space is not accepted", " my-lb-1.us-east-1.elb.amazonaws.com", "", false},
		{"elb.amazonaws.com is not a load balancer", "elb.amazonaws.com", "", false},
		{"an S3 hostname is not a load balancer", "s3.us-east-1.amazonaws.com", "", false},
		{"a longer domain is not a load balancer", "my-lb-1.us-east-1.elb.amazonaws.com.evil.com", "", false},
		{"an empty name is not a load balancer", ".us-east-1.elb.amazonaws.com", "", false},
		{"an RDS hostname is not a load balancer", "db.abc123.us-east-1.rds.amazonaws.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, ok := Canonical(tt.host)
			if key != tt.key || ok != tt.ok {
				t.Errorf("Canonical(%q) = %q, %v; want %q, %v", tt.host, key, ok, tt.key, tt.ok)
			}
		})
	}
}

func TestRewrite(t *testing.T) {
	known := map[string]string{
		"my-lb-1.us-east-1.elb.amazonaws.com":            "orders.service.prod.ddsd",
		"my-nlb-abc.elb.us-west-2.amazonaws.com":         "payments.service.prod.ddsd",
		"my-lb-123.cn-north-1.elb.amazonaws.com.cn":      "cn-orders.service.prod.ddsd",
		"internal-x-1.eu-west-1.elb.amazonaws.com":       "cache.service.prod.ddsd",
		"my-nlb-abc.elb.cn-northwest-1.amazonaws.com.cn": "cn-payments.service.prod.ddsd",
	}
	lookup := func(k string) (string, bool) { v, ok := known[k]; return v, ok }
	tests := []struct {
		name     string
		in       string
		out      string
		rewrites []Replacement
		unknown  []string
	}{
		{"a string without AWS hostnames is returned unchanged",
			"postgres://user:pass@db.internal:5432/app", "postgres://user:pass@db.internal:5432/app", nil, nil},
		{"a URL keeps scheme, userinfo, port, path, query and fragment",
			"https://u:p@my-lb-1.us-east-1.elb.amazonaws.com:8443/v1/x?y=1#f",
			"https://u:p@orders.service.prod.ddsd:8443/v1/x?y=1#f",
			[]Replacement{{"my-lb-1.us-east-1.elb.amazonaws.com", "orders.service.prod.ddsd"}}, nil},
		{"two URLs in one string are both rewritten",
			"--upstream=http://my-lb-1.us-east-1.elb.amazonaws.com,grpc://my-nlb-abc.elb.us-west-2.amazonaws.com:50051",
			"--upstream=http://orders.service.prod.ddsd,grpc://payments.service.prod.ddsd:50051",
			[]Replacement{
				{"my-lb-1.us-east-1.elb.amazonaws.com", "orders.service.prod.ddsd"},
				{"my-nlb-abc.elb.us-west-2.amazonaws.com", "payments.service.prod.ddsd"},
			}, nil},
		{"a known host is rewritten and an unknown one reported once",
			"a=http://other-9.us-east-1.elb.amazonaws.com b=http://my-lb-1.us-east-1.elb.amazonaws.com c=OTHER-9.us-east-1.elb.amazonaws.com",
			"a=http://other-9.us-east-1.elb.amazonaws.com b=http://orders.service.prod.ddsd c=OTHER-9.us-east-1.elb.amazonaws.com",
			[]Replacement{{"my-lb-1.us-east-1.elb.amazonaws.com", "orders.service.prod.ddsd"}},
			[]string{"other-9.us-east-1.elb.amazonaws.com"}},
		{"only unknown hosts leave the string unchanged",
			"x-1.us-east-1.elb.amazonaws.com y-2.elb.us-west-2.amazonaws.com",
			"x-1.us-east-1.elb.amazonaws.com y-2.elb.us-west-2.amazonaws.com",
			nil, []string{"x-1.us-east-1.elb.amazonaws.com", "y-2.elb.us-west-2.amazonaws.com"}},
		{"a trailing dot is replaced with the host",
			"host my-lb-1.us-east-1.elb.amazonaws.com. ok", "host orders.service.prod.ddsd ok",
			[]Replacement{{"my-lb-1.us-east-1.elb.amazonaws.com.", "orders.service.prod.ddsd"}}, nil},
		{"an upper-case host is rewritten",
			"HTTP://MY-LB-1.US-EAST-1.ELB.AMAZONAWS.COM/X", "HTTP://orders.service.prod.ddsd/X",
			[]Replacement{{"MY-LB-1.US-EAST-1.ELB.AMAZONAWS.COM", "orders.service.prod.ddsd"}}, nil},
		{"China hosts are rewritten",
			"my-lb-123.cn-north-1.elb.amazonaws.com.cn:80,my-nlb-abc.elb.cn-northwest-1.amazonaws.com.cn.",
			"cn-orders.service.prod.ddsd:80,cn-payments.service.prod.ddsd",
			[]Replacement{
				{"my-lb-123.cn-north-1.elb.amazonaws.com.cn", "cn-orders.service.prod.ddsd"},
				{"my-nlb-abc.elb.cn-northwest-1.amazonaws.com.cn.", "cn-payments.service.prod.ddsd"},
			}, nil},
		{"a dualstack host is rewritten whole",
			"http://dualstack.my-lb-1.us-east-1.elb.amazonaws.com/", "http://orders.service.prod.ddsd/",
			[]Replacement{{"dualstack.my-lb-1.us-east-1.elb.amazonaws.com", "orders.service.prod.ddsd"}}, nil},
		{"an AZ-prefixed NLB host is rewritten whole",
			"us-west-2a.my-nlb-abc.elb.us-west-2.amazonaws.com:443", "payments.service.prod.ddsd:443",
			[]Replacement{{"us-west-2a.my-nlb-abc.elb.us-west-2.amazonaws.com", "payments.service.prod.ddsd"}}, nil},
		{"a redis URL is rewritten",
			"redis://internal-x-1.eu-west-1.elb.amazonaws.com:6379/0", "redis://cache.service.prod.ddsd:6379/0",
			[]Replacement{{"internal-x-1.eu-west-1.elb.amazonaws.com", "cache.service.prod.ddsd"}}, nil},
		{"a host continued by another domain is left alone",
			"http://my-lb-1.us-east-1.elb.amazonaws.com.evil.com/", "http://my-lb-1.us-east-1.elb.amazonaws.com.evil.com/", nil, nil},
		{"the same known host twice is rewritten twice",
			"my-lb-1.us-east-1.elb.amazonaws.com my-lb-1.us-east-1.elb.amazonaws.com",
			"orders.service.prod.ddsd orders.service.prod.ddsd",
			[]Replacement{
				{"my-lb-1.us-east-1.elb.amazonaws.com", "orders.service.prod.ddsd"},
				{"my-lb-1.us-east-1.elb.amazonaws.com", "orders.service.prod.ddsd"},
			}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, rw, unk := Rewrite(tt.in, lookup)
			if out != tt.out {
				t.Errorf("out = %q\nwant  %q", out, tt.out)
			}
			if !reflect.DeepEqual(rw, tt.rewrites) {
				t.Errorf("rewrites = %+v, want %+v", rw, tt.rewrites)
			}
			if !reflect.DeepEqual(unk, tt.unknown) {
				t.Errorf("unknown = %q, want %q", unk, tt.unknown)
			}
			if len(rw) == 0 && unsafe.StringData(out) != unsafe.StringData(tt.in) {
				t.Errorf("unchanged string was copied")
			}
		})
	}
}

func TestRewriteEmptyNameIsUnknown(t *testing.T) {
	s := "http://my-lb-1.us-east-1.elb.amazonaws.com/"
	out, rw, unk := Rewrite(s, func(string) (string, bool) { return "", true })
	if out != s || rw != nil || !reflect.DeepEqual(unk, []string{"my-lb-1.us-east-1.elb.amazonaws.com"}) {
		t.Errorf("got %q, %v, %q", out, rw, unk)
	}
}

func TestRewriteManyUnknownAreDeduplicated(t *testing.T) {
	var b strings.Builder
	var want []string
	for i := range 100 {
		h := "lb-" + strings.Repeat("x", i%40+1) + "-1.us-east-1.elb.amazonaws.com"
		if i < 40 {
			want = append(want, h)
		}
		b.WriteString(h)
		b.WriteByte(' ')
	}
	_, rw, unk := Rewrite(b.String(), func(string) (string, bool) { return "", false })
	if rw != nil || !reflect.DeepEqual(unk, want) {
		t.Errorf("rewrites %v, unknown %d keys, want %d", rw, len(unk), len(want))
	}
}

func TestRewriteNoMatchDoesNotAllocate(t *testing.T) {
	lookup := func(string) (string, bool) { return "x.ddsd", true }
	for _, s := range []string{
		"",
		"postgres://user:pass@db.internal:5432/app",
		"https://s3.amazonaws.com/bucket/key.json",
		"http://my-lb-1.us-east-1.elb.amazonaws.com.evil.com/",
		"10.0.0.1,10.0.0.2,10.0.0.3",
	} {
		allocs := testing.AllocsPerRun(100, func() {
			out, _, _ := Rewrite(s, lookup)
			_ = out
			_ = Find(s)
		})
		if allocs != 0 {
			t.Errorf("%q: %v allocs per run, want 0", s, allocs)
		}
	}
}

func TestRewriteLongRunIsLinear(t *testing.T) {
	// A huge host run full of anchors must be parsed once, not once per anchor.
	s := strings.Repeat("amazonaws.com.", 1<<16) + " my-lb-1.us-east-1.elb.amazonaws.com"
	got := Find(s)
	if len(got) != 1 || got[0].Key != "my-lb-1.us-east-1.elb.amazonaws.com" {
		t.Errorf("got %+v", got)
	}
}

func BenchmarkRewriteNoMatch(b *testing.B) {
	s := "postgres://app:secret@db.internal:5432/x" // 40 bytes, typical env value
	lookup := func(string) (string, bool) { return "", false }
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		Rewrite(s, lookup)
	}
}

func BenchmarkRewriteURL(b *testing.B) {
	s := "http://internal-orders-1234567890.us-east-1.elb.amazonaws.com:8080/v1/orders?limit=10"
	lookup := func(k string) (string, bool) {
		if k == "internal-orders-1234567890.us-east-1.elb.amazonaws.com" {
			return "orders.service.prod.ddsd", true
		}
		return "", false
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		Rewrite(s, lookup)
	}
}

// The regexp oracle below restates the grammar independently of the
// hand-written scanner: split s into maximal host runs, then match each run
// whole against one regexp per hostname form.

const oracleRegion = `[a-z]{2,}(?:-[a-z]{2,})+-[0-9]{1,2}`

var (
	oracleRun     = regexp.MustCompile(`[A-Za-z0-9.-]+`)
	oracleClassic = regexp.MustCompile(`(?i)^(dualstack\.)?([a-z0-9]+(?:-+[a-z0-9]+)+)\.(` + oracleRegion + `)\.elb\.amazonaws\.com(\.cn)?\.?$`)
	oracleNLB     = regexp.MustCompile(`(?i)^(dualstack\.)?(?:(` + oracleRegion + `)[a-z]\.)?([a-z0-9]+(?:-+[a-z0-9]+)+)\.elb\.(` + oracleRegion + `)\.amazonaws\.com(\.cn)?\.?$`)
)

// oracleCanonical is Canonical written with regexps.
func oracleCanonical(h string) (string, bool) {
	bare := strings.TrimSuffix(h, ".")
	if len(bare) > 253 {
		return "", false
	}
	for _, l := range strings.Split(bare, ".") {
		if len(l) > 63 {
			return "", false
		}
	}
	var nameAt int
	var region, cn string
	if m := oracleClassic.FindStringSubmatchIndex(h); m != nil {
		nameAt, region = m[4], h[m[6]:m[7]]
		if m[8] >= 0 {
			cn = h[m[8]:m[9]]
		}
	} else if m := oracleNLB.FindStringSubmatchIndex(h); m != nil {
		nameAt, region = m[6], h[m[8]:m[9]]
		if m[4] >= 0 && !strings.EqualFold(h[m[4]:m[5]], region) {
			return "", false
		}
		if m[10] >= 0 {
			cn = h[m[10]:m[11]]
		}
	} else {
		return "", false
	}
	if (cn != "") != strings.HasPrefix(strings.ToLower(region), "cn-") {
		return "", false
	}
	return strings.ToLower(bare[nameAt:]), true
}

// oracleFind is Find written with regexps.
func oracleFind(s string) []Match {
	var out []Match
	for _, r := range oracleRun.FindAllStringIndex(s, -1) {
		if key, ok := oracleCanonical(s[r[0]:r[1]]); ok {
			out = append(out, Match{Start: r[0], End: r[1], Host: s[r[0]:r[1]], Key: key})
		}
	}
	return out
}
