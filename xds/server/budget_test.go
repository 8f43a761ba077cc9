package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// events records the budget's observer calls; waitingStarted receives one
// value each time a stream starts waiting, so a test knows an acquire is
// blocked without timing it.
type events struct {
	mu             sync.Mutex
	heldBytes      int64
	timeouts       int
	waitingStarted chan struct{}
}

func newEvents() *events { return &events{waitingStarted: make(chan struct{}, 16)} }

func (e *events) held(d int64) { e.mu.Lock(); e.heldBytes += d; e.mu.Unlock() }
func (e *events) waiting(d int) {
	if d > 0 {
		e.waitingStarted <- struct{}{}
	}
}
func (e *events) timedOut() { e.mu.Lock(); e.timeouts++; e.mu.Unlock() }

func (e *events) heldNow() int64 { e.mu.Lock(); defer e.mu.Unlock(); return e.heldBytes }

const (
	cds = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	eds = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
)

// acquireAsync starts an acquire and returns where its result arrives,
// once the acquire is known to wait.
func acquireAsync(t *testing.T, e *events, l *ledger, ctx context.Context, typeURL, nonce string, size int) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- l.acquire(ctx, typeURL, nonce, size) }()
	select {
	case <-e.waitingStarted:
	case err := <-done:
		t.Fatalf("acquire of %d bytes did not wait (err %v)", size, err)
	}
	return done
}

func mustNotBeDone(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("a waiting acquire returned early (err %v)", err)
	default:
	}
}

func mustSucceed(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // a failure deadline, not a measured time
		t.Fatal("the waiting acquire never got its budget")
	}
}

// TestBudgetReleases: a response waits while the budget is held by
// responses sent and not acknowledged, and gets it when they are released
// by each of the ways a response ends.
func TestBudgetReleases(t *testing.T) {
	tests := []struct {
		name    string
		sent    []string        // nonces of the first stream's CDS responses: 60 bytes, then 1 byte each
		release func(l *ledger) // what then ends them
		timeout time.Duration
	}{
		{"an ACK of its nonce", []string{"1"}, func(l *ledger) { l.ack(cds, "1") }, time.Hour},
		{"an ACK of a later nonce of its type", []string{"1", "2"}, func(l *ledger) { l.ack(cds, "2") }, time.Hour},
		{"the stream's end", []string{"1", "2"}, func(l *ledger) { l.close() }, time.Hour},
		{"the ACK timeout, when the client never acknowledges", []string{"1"}, nil, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvents()
			b := newSendBudget(100, 100, tt.timeout, e)
			a, other := b.ledger(""), b.ledger("")
			defer a.close()
			defer other.close()
			for i, nonce := range tt.sent {
				if err := a.acquire(context.Background(), cds, nonce, max(1, 60*(1-i))); err != nil {
					t.Fatal(err)
				}
			}
			if tt.release != nil {
				done := acquireAsync(t, e, other, context.Background(), eds, "1", 60)
				mustNotBeDone(t, done)
				tt.release(a)
				mustSucceed(t, done)
			} else {
				// Nothing acts but the timer, which may fire before the wait.
				mustSucceed(t, asyncResult(other, eds, "1", 60))
				e.mu.Lock()
				if e.timeouts != len(tt.sent) {
					t.Errorf("%d timeouts counted, want %d", e.timeouts, len(tt.sent))
				}
				e.mu.Unlock()
			}
			other.ack(eds, "1")
			a.close()
			if h := e.heldNow(); h != 0 {
				t.Errorf("%d bytes still held after every response ended", h)
			}
		})
	}
}

func asyncResult(l *ledger, typeURL, nonce string, size int) <-chan error {
	done := make(chan error, 1)
	go func() { done <- l.acquire(context.Background(), typeURL, nonce, size) }()
	return done
}

// TestBudgetAckMatchesTypeAndNonce: an ACK releases its type's responses
// up to its nonce; another type's, a later one, an unknown or empty nonce
// release nothing.
func TestBudgetAckMatchesTypeAndNonce(t *testing.T) {
	e := newEvents()
	b := newSendBudget(1000, 1000, time.Hour, e)
	l := b.ledger("")
	defer l.close()
	for _, r := range []struct {
		typeURL, nonce string
		size           int
	}{{cds, "1", 100}, {eds, "2", 20}, {cds, "3", 3}, {eds, "4", 4}} {
		if err := l.acquire(context.Background(), r.typeURL, r.nonce, r.size); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name           string
		typeURL, nonce string
		held           int64
	}{
		{"an empty nonce (a first request)", eds, "", 127},
		{"a nonce never sent", eds, "9", 127},
		{"a nonce of another type", eds, "1", 127},
		{"the first EDS response", eds, "2", 107},
		{"the second CDS response, and the first with it", cds, "3", 4},
		{"an ACK of a response already released", cds, "1", 4},
		{"the last", eds, "4", 0},
	}
	for _, s := range steps {
		l.ack(s.typeURL, s.nonce)
		if got := e.heldNow(); got != s.held {
			t.Errorf("after %s: %d bytes held, want %d", s.name, got, s.held)
		}
	}
}

// TestBudgetOversizedResponseGoesAlone: a response larger than the whole
// budget is sent once nothing else is held, and nothing else is sent
// while it is.
func TestBudgetOversizedResponseGoesAlone(t *testing.T) {
	e := newEvents()
	b := newSendBudget(100, 100, time.Hour, e)
	small, big, after := b.ledger(""), b.ledger(""), b.ledger("")
	defer small.close()
	defer big.close()
	defer after.close()
	if err := small.acquire(context.Background(), eds, "1", 1); err != nil {
		t.Fatal(err)
	}
	bigDone := acquireAsync(t, e, big, context.Background(), cds, "1", 5000)
	small.ack(eds, "1")
	mustSucceed(t, bigDone)
	if h := e.heldNow(); h != 100 {
		t.Errorf("the oversized response holds %d bytes, want the whole budget (100)", h)
	}
	afterDone := acquireAsync(t, e, after, context.Background(), eds, "1", 1)
	mustNotBeDone(t, afterDone)
	big.ack(cds, "1")
	mustSucceed(t, afterDone)
}

// TestBudgetWaitEndsWithTheStream: a stream whose client goes while it
// waits stops waiting with its context's error and holds nothing; a
// closed ledger acquires nothing.
func TestBudgetWaitEndsWithTheStream(t *testing.T) {
	e := newEvents()
	b := newSendBudget(10, 10, time.Hour, e)
	holder, waiter := b.ledger(""), b.ledger("")
	defer holder.close()
	if err := holder.acquire(context.Background(), cds, "1", 10); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := acquireAsync(t, e, waiter, ctx, cds, "1", 5)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	waiter.close()
	if err := waiter.acquire(context.Background(), cds, "2", 1); err == nil {
		t.Error("a closed ledger acquired budget")
	}
	holder.close()
	if h := e.heldNow(); h != 0 {
		t.Errorf("%d bytes held after both streams ended", h)
	}
	if !b.sem.TryAcquire(10) {
		t.Error("the whole budget is not free after both streams ended")
	}
}

// TestBudgetStreamShare: a stream that holds its share of the budget
// waits for its own acknowledgements while other streams still send.
func TestBudgetStreamShare(t *testing.T) {
	e := newEvents()
	b := newSendBudget(100, 25, time.Hour, e)
	greedy, other := b.ledger(""), b.ledger("")
	defer greedy.close()
	defer other.close()
	if err := greedy.acquire(context.Background(), eds, "1", 20); err != nil {
		t.Fatal(err)
	}
	done := acquireAsync(t, e, greedy, context.Background(), eds, "2", 20)
	if err := other.acquire(context.Background(), eds, "1", 60); err != nil {
		t.Fatal(err)
	}
	mustNotBeDone(t, done)
	greedy.ack(eds, "1")
	mustSucceed(t, done)
	if h := e.heldNow(); h != 80 {
		t.Errorf("%d bytes held, want 80 (20 + 60)", h)
	}
}

// expireAll expires what l holds, as its timers would.
func expireAll(l *ledger) {
	l.mu.Lock()
	held := slices.Clone(l.held)
	l.mu.Unlock()
	for _, h := range held {
		l.expire(h)
	}
}

// TestBudgetUnresponsiveStreams: a stream that let a response time out is
// charged at most its share for any response, all such streams together
// hold one share, a stream from the same address starts that way, and an
// acknowledgement gives a stream its own share back. Clients that never
// acknowledge cannot take more from the others than one share.
func TestBudgetUnresponsiveStreams(t *testing.T) {
	e := newEvents()
	b := newSendBudget(100, 25, time.Hour, e)
	a, bb, c := proxyLedger(b, "10.0.0.1", "a"), proxyLedger(b, "10.0.0.2", "b"), proxyLedger(b, "10.0.0.3", "c")
	defer a.close()
	defer bb.close()
	defer c.close()
	for _, l := range []*ledger{a, bb} {
		if err := l.acquire(context.Background(), eds, "1", 20); err != nil {
			t.Fatal(err)
		}
		expireAll(l)
	}
	if h, n := e.heldNow(), timeouts(e); h != 0 || n != 2 {
		t.Fatalf("after two timeouts: %d bytes held, %d timeouts; want 0, 2", h, n)
	}

	// A response larger than the share, to an unresponsive stream, is
	// charged the share, from the pool of the unresponsive.
	if err := a.acquire(context.Background(), eds, "2", 60); err != nil {
		t.Fatal(err)
	}
	if h := e.heldNow(); h != 25 {
		t.Errorf("an unresponsive stream's 60-byte response holds %d bytes, want its share (25)", h)
	}
	// The other unresponsive stream waits for the pool; a responsive one
	// does not.
	bDone := acquireAsync(t, e, bb, context.Background(), eds, "2", 10)
	if err := c.acquire(context.Background(), eds, "1", 25); err != nil {
		t.Fatal(err)
	}
	mustNotBeDone(t, bDone)

	// An acknowledgement: the pool is free for b, and a is responsive
	// again, its large response charged in full.
	a.ack(eds, "2")
	mustSucceed(t, bDone)
	if err := a.acquire(context.Background(), eds, "3", 60); err != nil {
		t.Fatal(err)
	}
	if h := e.heldNow(); h != 95 {
		t.Errorf("%d bytes held, want 95 (a 60 in full, b 10, c 25)", h)
	}

	// A new stream of b (its address, its node id) starts unresponsive:
	// it waits for the pool b holds part of; one from elsewhere does not.
	a.ack(eds, "3")
	again := proxyLedger(b, "10.0.0.2", "b")
	defer again.close()
	againDone := acquireAsync(t, e, again, context.Background(), cds, "1", 20)
	fresh := proxyLedger(b, "10.0.0.9", "b")
	defer fresh.close()
	if err := fresh.acquire(context.Background(), cds, "1", 20); err != nil {
		t.Fatal(err)
	}
	mustNotBeDone(t, againDone)
	bb.close()
	mustSucceed(t, againDone)
}

// proxyLedger opens the ledger of a stream from addr whose first request
// names node.
func proxyLedger(b *sendBudget, addr, node string) *ledger {
	l := b.ledger(addr)
	l.identify(node)
	return l
}

// TestSuspectsShareAnAddress: proxies behind one address (SNAT, loopback)
// are suspected one by one: one that let a response time out does not
// make another's new stream start unresponsive, its own reconnect does,
// and addressSuspectAfter distinct proxies timing out make the whole
// address suspect (changing node id buys a bounded number of shares).
func TestSuspectsShareAnAddress(t *testing.T) {
	const nat = "10.0.0.7"
	for _, tt := range []struct {
		name     string
		timedOut []string // node ids from nat whose response timed out
		addr     string   // the new stream's
		node     string
		want     bool
	}{
		{name: "another proxy behind the address", timedOut: []string{"silent"}, addr: nat, node: "good", want: false},
		{name: "the proxy that timed out, reconnecting", timedOut: []string{"silent"}, addr: nat, node: "silent", want: true},
		{name: "its node id from another address", timedOut: []string{"silent"}, addr: "10.0.0.8", node: "silent", want: false},
		{name: "no node id, when one without timed out", timedOut: []string{""}, addr: nat, node: "", want: true},
		{name: "one proxy fewer than addressSuspectAfter", timedOut: nodeIDs(addressSuspectAfter - 1), addr: nat, node: "good", want: false},
		{name: "addressSuspectAfter proxies: the whole address", timedOut: nodeIDs(addressSuspectAfter), addr: nat, node: "good", want: true},
		{name: "more than addressSuspectAfter: still the whole address", timedOut: nodeIDs(3 * addressSuspectAfter), addr: nat, node: "n0", want: true},
		{name: "an unknown address is never suspected", timedOut: []string{"silent"}, addr: "", node: "silent", want: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newSendBudget(100, 25, time.Hour, nil)
			for _, id := range tt.timedOut {
				l := proxyLedger(b, nat, id)
				if err := l.acquire(context.Background(), eds, "1", 10); err != nil {
					t.Fatal(err)
				}
				expireAll(l)
				l.close()
			}
			l := proxyLedger(b, tt.addr, tt.node)
			defer l.close()
			if l.unresponsive != tt.want {
				t.Errorf("new stream of %q from %q starts unresponsive: %v, want %v", tt.node, tt.addr, l.unresponsive, tt.want)
			}
			if n := len(b.suspects.byAddr[nat]); n > addressSuspectAfter {
				t.Errorf("the address holds %d entries, want at most %d", n, addressSuspectAfter)
			}
		})
	}
}

func nodeIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint("n", i)
	}
	return ids
}

// TestBudgetSuspectsBounded: the table of unresponsive proxies holds at
// most maxSuspects; an expired entry makes room, live ones do not, and an
// expired entry no longer counts.
func TestBudgetSuspectsBounded(t *testing.T) {
	s := newSuspects(time.Second)
	for i := range maxSuspects {
		s.add(fmt.Sprint("10.1.", i), proxyOf("n"))
	}
	s.add("10.2.0.1", proxyOf("n"))
	if s.n != maxSuspects || s.suspected("10.2.0.1", proxyOf("n")) {
		t.Errorf("a full table of live entries took another: %d entries", s.n)
	}
	s.byAddr["10.1.0"][proxyOf("n")] = time.Now().Add(-time.Hour)
	s.add("10.2.0.1", proxyOf("n"))
	if s.n != maxSuspects || !s.suspected("10.2.0.1", proxyOf("n")) || s.suspected("10.1.0", proxyOf("n")) {
		t.Errorf("an expired entry did not make room: %d entries", s.n)
	}
	if _, ok := s.byAddr["10.1.0"]; ok {
		t.Error("an address with no live entry is kept")
	}
	// A proxy already remembered is refreshed, even in a full table.
	s.add("10.1.1", proxyOf("n"))
	if s.n != maxSuspects || !s.suspected("10.1.1", proxyOf("n")) {
		t.Errorf("refreshing an entry changed the table: %d entries", s.n)
	}
}

func timeouts(e *events) int { e.mu.Lock(); defer e.mu.Unlock(); return e.timeouts }
