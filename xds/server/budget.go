package server

import (
	"context"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// sendBudget bounds the bytes of xDS responses sent and not yet
// acknowledged, across every stream. gRPC marshals a response into its
// stream's send queue, where it stays until the client reads it: 2,000
// sidecars connecting at once, each sent the whole world (hundreds of KB),
// would hold all of it at the same time. With the budget, a stream whose
// response does not fit waits with the response unmarshaled (its resources
// are the caches' shared bytes) until others are acknowledged.
//
// A response's bytes are held from just before it is handed to gRPC until
// the client acknowledges it (a request of its type carrying its nonce or
// a later one: ACK or NACK alike), its stream ends, or timeout passes (a
// client that never acknowledges does not hold the budget forever). A
// response larger than the whole budget takes all of it: it goes alone.
//
// One stream may hold at most perStream of it (a response larger takes
// that much): a client that makes the server send without acknowledging
// (a delta client changing its subscription without nonces) delays its
// own stream, not everyone's, for longer than the timeout allows.
//
// A stream that let a response time out is unresponsive until it
// acknowledges one: its responses are charged at most perStream each,
// even one larger, and all unresponsive streams together hold at most
// perStream (the pool slow). Without that, eight clients that never
// acknowledge, changing their subscription to be sent more, would hold the
// whole budget again each time their responses time out, and one that
// provokes a response larger than its share (a delta subscription to
// every endpoint) would hold up to all of it. A new stream of a proxy
// (its address and node id) whose stream timed out in the last
// suspectTimeouts timeouts starts unresponsive, so that reconnecting does
// not buy a fresh share (suspects.go).
type sendBudget struct {
	sem       *semaphore.Weighted // FIFO: a large response is not starved by small ones
	slow      *semaphore.Weighted // what unresponsive streams hold, together: perStream
	total     int64
	perStream int64
	timeout   time.Duration
	// suspects are the proxies whose streams let a response time out.
	suspects *suspects
	// observe, when set, is told of every change: bytes held (+/-), a
	// stream starting or ending its wait, a release by timeout.
	observe budgetObserver
}

// budgetObserver receives the budget's events (the metrics).
type budgetObserver interface {
	held(delta int64)
	waiting(delta int)
	timedOut()
}

type noObserver struct{}

func (noObserver) held(int64)  {}
func (noObserver) waiting(int) {}
func (noObserver) timedOut()   {}

func newSendBudget(total, perStream int64, timeout time.Duration, o budgetObserver) *sendBudget {
	if o == nil {
		o = noObserver{}
	}
	perStream = min(max(perStream, 1), total)
	return &sendBudget{sem: semaphore.NewWeighted(total), slow: semaphore.NewWeighted(perStream), total: total, perStream: perStream,
		timeout: timeout, observe: o, suspects: newSuspects(suspectTimeouts * timeout)}
}

// ledger is one stream's record of the responses holding budget. Every
// ledger must be closed when its stream ends.
type ledger struct {
	b            *sendBudget
	peer         string  // the client's address, without port
	proxy        proxyID // its node id's, once identified
	identified   bool
	own          *semaphore.Weighted // the stream's share, perStream
	mu           sync.Mutex
	held         []*heldResponse // in the order sent
	unresponsive bool            // a response timed out, none acknowledged since
	closed       bool
}

type heldResponse struct {
	typeURL, nonce string
	n, own, slow   int64 // of the budget, of the stream's share, of the unresponsive streams' pool
	timer          *time.Timer
}

// ledger opens the ledger of a stream from peer (its address without
// port; "" when unknown). The stream is identified by its first request.
func (b *sendBudget) ledger(peer string) *ledger {
	return &ledger{b: b, peer: peer, proxy: proxyOf(""), own: semaphore.NewWeighted(b.perStream)}
}

// identify records the node id of the stream's first request (later
// calls do nothing): the stream starts unresponsive when that proxy, from
// that address, or its address as a whole, is suspected. It comes before
// any response: go-control-plane answers requests.
func (l *ledger) identify(nodeID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.identified {
		return
	}
	l.identified = true
	l.proxy = proxyOf(nodeID)
	if l.b.suspects.suspected(l.peer, l.proxy) {
		l.unresponsive = true
	}
}

// acquire waits until size bytes of budget are free (all of it, for a
// response larger than the budget; the stream's share at most, from the
// unresponsive streams' pool, when the stream is unresponsive) and records
// them for the response of typeURL with nonce. It fails only when ctx
// ends (the stream's context: the client is gone), holding nothing.
func (l *ledger) acquire(ctx context.Context, typeURL, nonce string, size int) error {
	n, own := min(int64(size), l.b.total), min(int64(size), l.b.perStream)
	l.mu.Lock()
	closed, unresponsive := l.closed, l.unresponsive
	l.mu.Unlock()
	if closed {
		return context.Canceled
	}
	var slow int64
	if unresponsive {
		n, slow = own, own
	}
	if err := l.take(ctx, l.own, own); err != nil {
		return err
	}
	if err := l.take(ctx, l.b.slow, slow); err != nil {
		l.own.Release(own)
		return err
	}
	if err := l.take(ctx, l.b.sem, n); err != nil {
		l.b.slow.Release(slow)
		l.own.Release(own)
		return err
	}
	h := &heldResponse{typeURL: typeURL, nonce: nonce, n: n, own: own, slow: slow}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.b.sem.Release(n)
		l.b.slow.Release(slow)
		l.own.Release(own)
		return context.Canceled
	}
	l.b.observe.held(n)
	l.held = append(l.held, h)
	h.timer = time.AfterFunc(l.b.timeout, func() { l.expire(h) })
	return nil
}

// expire releases h, not acknowledged within the timeout (if it is still
// held), and marks the stream and its proxy unresponsive.
func (l *ledger) expire(h *heldResponse) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range l.held {
		if x == h {
			l.b.observe.timedOut()
			l.unresponsive = true
			l.b.suspects.add(l.peer, l.proxy)
			l.releaseLocked(i, i+1)
			return
		}
	}
}

// take acquires n of sem, telling the observer when it has to wait.
func (l *ledger) take(ctx context.Context, sem *semaphore.Weighted, n int64) error {
	if n == 0 || sem.TryAcquire(n) {
		return nil
	}
	l.b.observe.waiting(1)
	defer l.b.observe.waiting(-1)
	return sem.Acquire(ctx, n)
}

// ack releases the response of typeURL with nonce and every earlier one
// of that type: a client acknowledges the latest response it applied, and
// one it skipped is superseded. A nonce not held (an initial request, a
// response already released) releases nothing.
func (l *ledger) ack(typeURL, nonce string) {
	if nonce == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	last := -1
	for i, h := range l.held {
		if h.typeURL == typeURL && h.nonce == nonce {
			last = i
			break
		}
	}
	if last < 0 {
		return
	}
	l.unresponsive = false
	kept := l.held[:0]
	var done []*heldResponse
	for i, h := range l.held {
		if i <= last && h.typeURL == typeURL {
			done = append(done, h)
		} else {
			kept = append(kept, h)
		}
	}
	clear(l.held[len(kept):])
	l.held = kept
	for _, h := range done {
		l.release(h)
	}
}

// close releases everything the stream holds; later acquires fail.
func (l *ledger) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.releaseLocked(0, len(l.held))
}

// releaseLocked releases held[from:to]; l.mu is held.
func (l *ledger) releaseLocked(from, to int) {
	for _, h := range l.held[from:to] {
		l.release(h)
	}
	l.held = slices.Delete(l.held, from, to)
}

func (l *ledger) release(h *heldResponse) {
	h.timer.Stop()
	l.b.sem.Release(h.n)
	l.b.slow.Release(h.slow)
	l.own.Release(h.own)
	l.b.observe.held(-h.n)
}
