package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/adsclient"
)

// TestViewSwitchesAreConsistent: a sidecar whose identity starts
// declaring its callees, then stops, moves between the full view and its
// own, over either protocol, and every view it holds on the way is
// consistent (adsclient's check: no route names a cluster it lacks,
// nothing it reads is removed first). Before the fix, narrowing moved the
// clusters before the routes. Not covered, and not consistent yet: a
// view naming a cluster created in the very build its identity starts
// declaring (its routes arrive before that cluster), and a build within
// the round trip of the client's ACK (no watch to answer yet).
func TestViewSwitchesAreConsistent(t *testing.T) {
	for _, p := range []adsclient.Protocol{adsclient.SotW, adsclient.Delta} {
		t.Run(string(p), func(t *testing.T) {
			s := newTestServer(t)
			r := objects()
			users := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "users", Namespace: "ns"},
				Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
			r.src.Services = append(r.src.Services, users)
			build := func() {
				t.Helper()
				if !s.build(context.Background(), []Reader{r}) {
					t.Fatal("build not published")
				}
			}
			build()
			conn := serve(t, s)
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			const id = "a.service.prod.ddsd"
			c, err := adsclient.Dial(ctx, adsclient.Options{
				Addr: conn.Target(), DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())},
				Protocol: p, Node: adsclient.SidecarNode("a-1.ns", id, "z1"), LocalCluster: id,
				Wildcard: []string{resourcev3.ClusterType, resourcev3.ListenerType},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			expect := func(what string, callees ...string) {
				t.Helper()
				c.WaitT(t, time.Minute, what, func(v adsclient.View) error {
					var got []string
					for name := range v.Clusters {
						if strings.HasSuffix(name, ".service.prod.ddsd:80") {
							got = append(got, name)
						}
					}
					slices.Sort(got)
					var want []string
					for _, n := range callees {
						want = append(want, n+".service.prod.ddsd:80")
					}
					if !slices.Equal(got, want) {
						return fmt.Errorf("callee clusters %v, want %v", got, want)
					}
					return nil
				})
				if err := c.Consistency(); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				// The next build comes once the server has the client's
				// ACKs: its CDS and RDS watches are open again. (A build
				// within that round trip can still send a route table
				// before the cluster it names: a state-of-the-world or
				// delta stream has no watch to answer until the ACK.)
				eventually(t, what+": the client's watches open again", func() bool {
					return openWatch(s, resourcev3.ClusterType) && openWatch(s, resourcev3.RouteType)
				})
			}
			expect("the full view", "orders", "users")

			r.src.Pods[0].Annotations = map[string]string{mutate.AnnotationCalls: "orders"}
			build()
			expect("a declares orders", "orders")

			delete(r.src.Pods[0].Annotations, mutate.AnnotationCalls)
			build()
			expect("a stops declaring", "orders", "users")

		})
	}
}

// openWatch says whether a watch of the scoped type waits, unanswered,
// in the shared cache or a view: the test's one client has ACKed.
func openWatch(s *Server, typeURL string) bool {
	sc := s.caches.scoped[typeURL]
	sc.mu.Lock()
	defer sc.mu.Unlock()
	n := sc.shared.NumCacheWatches()
	for _, v := range sc.views {
		n += v.cache.NumCacheWatches()
	}
	return n > 0
}
