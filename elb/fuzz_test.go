package elb

import (
	"reflect"
	"strings"
	"testing"
)

// fuzzSeeds covers every hostname form, inside and outside URLs, and the
// near misses; both fuzz targets start from it.
var fuzzSeeds = []string{
	"",
	".",
	"amazonaws.com",
	"elb.amazonaws.com",
	"s3.amazonaws.com",
	"foo.execute-api.us-east-1.amazonaws.com",
	"notamazonaws.com",
	"postgres://app:secret@db.internal:5432/x",
	"my-lb-1234567890.us-east-1.elb.amazonaws.com",
	"internal-my-lb-1234567890.us-east-1.elb.amazonaws.com",
	"my-nlb-0123456789abcdef.elb.us-west-2.amazonaws.com",
	"dualstack.my-lb-123.us-east-1.elb.amazonaws.com",
	"us-west-2a.my-nlb-0123456789abcdef.elb.us-west-2.amazonaws.com",
	"dualstack.us-west-2a.my-nlb-0123456789abcdef.elb.us-west-2.amazonaws.com",
	"my-lb-123.cn-north-1.elb.amazonaws.com.cn",
	"my-nlb-abc.elb.cn-northwest-1.amazonaws.com.cn.",
	"MY-LB-1.US-GOV-WEST-1.ELB.AMAZONAWS.COM.",
	"a1b2c3-99.ap-southeast-4.elb.amazonaws.com",
	"http://my-lb-123.us-east-1.elb.amazonaws.com:8080/v1/x?y=1#f",
	"grpc://my-nlb-abc.elb.us-west-2.amazonaws.com:50051",
	"https://user:pass@my-lb-1.eu-central-2.elb.amazonaws.com/",
	"my-lb-1.us-east-1.elb.amazonaws.com:443",
	"--upstream=http://my-lb-1.us-east-1.elb.amazonaws.com,http://x-2.elb.us-west-2.amazonaws.com",
	"redis://internal-x-1.eu-west-1.elb.amazonaws.com:6379/0",
	"my-lb-123.us-east-1.elb.amazonaws.com.evil.com",
	"my-lb-123.us-east-1.elb.amazonaws.com..",
	".my-lb-123.us-east-1.elb.amazonaws.com",
	"my-lb-1..elb.amazonaws.com",
	".elb.us-west-2.amazonaws.com",
	"us-east-1a.my-lb-1.us-east-1.elb.amazonaws.com",
	"my-lb-1.cn-north-1.elb.amazonaws.com",
	"my-lb-1.us-east-1.elb.amazonaws.com.cn",
	"amazonaws.com.my-lb-1.us-east-1.elb.amazonaws.com amazonaws.com.",
	"http%3A%2F%2Fmy-lb-1.us-east-1.elb.amazonaws.com",
	"Talk to my-lb-1.us-east-1.elb.amazonaws.com. Then a-1.elb.eu-west-3.amazonaws.com\x00é",
}

func FuzzRewrite(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		matches := Find(s)
		prev := 0
		for _, m := range matches {
			if m.Start < prev || m.End <= m.Start || m.End > len(s) {
				t.Fatalf("match %+v out of order or bounds (prev end %d, len %d) in %q", m, prev, len(s), s)
			}
			if s[m.Start:m.End] != m.Host {
				t.Fatalf("match %+v: Host is not s[Start:End] = %q", m, s[m.Start:m.End])
			}
			if m.Key != strings.ToLower(m.Key) || m.Key == "" || strings.HasSuffix(m.Key, ".") {
				t.Fatalf("match %+v: Key is not lower-case without a trailing dot", m)
			}
			if key, ok := Canonical(m.Host); !ok || key != m.Key {
				t.Fatalf("match %+v: Canonical(Host) = %q, %v", m, key, ok)
			}
			prev = m.End
		}
		if oracle := oracleFind(s); !reflect.DeepEqual(matches, oracle) {
			t.Fatalf("Find(%q) disagrees with the regexp oracle\n got %+v\nwant %+v", s, matches, oracle)
		}

		// A lookup that knows nothing changes nothing and reports every key once.
		out, rw, unk := Rewrite(s, func(string) (string, bool) { return "", false })
		if out != s || rw != nil {
			t.Fatalf("unknown-only rewrite changed %q to %q (%v)", s, out, rw)
		}
		if want := distinctKeys(matches); !reflect.DeepEqual(unk, want) {
			t.Fatalf("unknown = %q, want %q", unk, want)
		}

		// Mapping every key to itself keeps the set of keys.
		out, rw, unk = Rewrite(s, func(k string) (string, bool) { return k, true })
		if len(rw) != len(matches) || unk != nil {
			t.Fatalf("identity rewrite: %d rewrites, %d unknown for %d matches", len(rw), len(unk), len(matches))
		}
		if len(rw) == 0 && out != s {
			t.Fatalf("no rewrites but %q became %q", s, out)
		}
		if got, want := keysOf(Find(out)), keysOf(matches); !reflect.DeepEqual(got, want) {
			t.Fatalf("identity rewrite %q -> %q changed keys %q -> %q", s, out, want, got)
		}

		// Mapping every key to a non-AWS name leaves no hostname behind.
		out, rw, _ = Rewrite(s, func(string) (string, bool) { return "x.ddsd", true })
		if len(rw) == 0 && out != s {
			t.Fatalf("no rewrites but %q became %q", s, out)
		}
		for i, r := range rw {
			if r.From != matches[i].Host || r.To != "x.ddsd" {
				t.Fatalf("rewrite %d = %+v, want From %q", i, r, matches[i].Host)
			}
		}
		if left := Find(out); left != nil {
			t.Fatalf("rewrite %q -> %q left %+v", s, out, left)
		}
		if want := len(s) + len(rw)*len("x.ddsd") - hostBytes(matches); len(out) != want {
			t.Fatalf("output length %d, want %d", len(out), want)
		}
	})
}

func FuzzCanonical(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		key, ok := Canonical(h)
		keyO, okO := oracleCanonical(h)
		if ok != okO || key != keyO {
			t.Fatalf("Canonical(%q) = %q, %v; oracle %q, %v", h, key, ok, keyO, okO)
		}
		matches := Find(h)
		whole := len(matches) == 1 && matches[0].Start == 0 && matches[0].End == len(h)
		if ok != whole {
			t.Fatalf("Canonical(%q) ok=%v but Find = %+v", h, ok, matches)
		}
		if !ok {
			if key != "" {
				t.Fatalf("Canonical(%q) = %q with ok false", h, key)
			}
			return
		}
		if matches[0].Key != key {
			t.Fatalf("Canonical(%q) = %q but Find key %q", h, key, matches[0].Key)
		}
		if key != strings.ToLower(key) || strings.HasSuffix(key, ".") {
			t.Fatalf("key %q is not lower-case without a trailing dot", key)
		}
		// The key is itself a canonical hostname.
		if again, ok := Canonical(key); !ok || again != key {
			t.Fatalf("Canonical(%q) = %q, %v: key is not a fixed point", key, again, ok)
		}
	})
}

func keysOf(ms []Match) []string {
	var keys []string
	for _, m := range ms {
		keys = append(keys, m.Key)
	}
	return keys
}

func distinctKeys(ms []Match) []string {
	var keys []string
	seen := map[string]bool{}
	for _, m := range ms {
		if !seen[m.Key] {
			seen[m.Key] = true
			keys = append(keys, m.Key)
		}
	}
	return keys
}

func hostBytes(ms []Match) int {
	n := 0
	for _, m := range ms {
		n += len(m.Host)
	}
	return n
}
