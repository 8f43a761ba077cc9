package server

import (
	"crypto/sha256"
	"sync"
	"time"
)

// suspects remembers the proxies whose streams let a response time out,
// so that a proxy reconnecting does not buy a fresh share of the send
// budget. A proxy is its client address together with the node id of its
// stream's first request: many proxies share one address (behind SNAT, on
// loopback), and one that never acknowledges must not make the others'
// new streams start unresponsive. Node ids are the client's to choose, so
// an address from which addressSuspectAfter distinct proxies timed out is
// suspected as a whole: changing node id buys at most that many shares.
type suspects struct {
	mu     sync.Mutex
	forget time.Duration                    // how long an entry counts
	byAddr map[string]map[proxyID]time.Time // address -> proxy -> when its response timed out
	n      int                              // entries in byAddr, at most maxSuspects
}

// proxyID is a digest of a node id: entries keep a fixed size whatever
// the length of the ids clients send.
type proxyID [sha256.Size]byte

func proxyOf(nodeID string) proxyID { return sha256.Sum256([]byte(nodeID)) }

// How long (in ack timeouts) and how many proxies are remembered as
// unresponsive, and after how many distinct ones from one address the
// address is.
const (
	suspectTimeouts     = 6
	maxSuspects         = 4096
	addressSuspectAfter = 8
)

func newSuspects(forget time.Duration) *suspects {
	return &suspects{forget: forget, byAddr: map[string]map[proxyID]time.Time{}}
}

// add remembers that a stream of proxy p from addr let a response time
// out. An address holds at most addressSuspectAfter entries (one more
// replaces its oldest: the address is suspected whole either way). When
// the table is full of live entries, p is not remembered: its current
// streams are unresponsive all the same.
func (s *suspects) add(addr string, p proxyID) {
	if addr == "" {
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	proxies := s.pruneLocked(addr, now)
	if _, ok := proxies[p]; ok {
		proxies[p] = now
		return
	}
	if len(proxies) >= addressSuspectAfter {
		var oldest proxyID
		first := true
		for q, t := range proxies {
			if first || t.Before(proxies[oldest]) {
				oldest, first = q, false
			}
		}
		delete(proxies, oldest)
		proxies[p] = now
		return
	}
	if s.n >= maxSuspects {
		for a := range s.byAddr {
			s.pruneLocked(a, now)
		}
		if s.n >= maxSuspects {
			return
		}
	}
	if proxies == nil {
		proxies = map[proxyID]time.Time{}
		s.byAddr[addr] = proxies
	}
	proxies[p] = now
	s.n++
}

// suspected reports whether a stream of proxy p from addr, or of
// addressSuspectAfter distinct proxies from addr, timed out recently.
func (s *suspects) suspected(addr string, p proxyID) bool {
	if addr == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	proxies := s.pruneLocked(addr, time.Now())
	_, ok := proxies[p]
	return ok || len(proxies) >= addressSuspectAfter
}

// pruneLocked forgets addr's expired entries and returns those left (nil
// when none); s.mu is held.
func (s *suspects) pruneLocked(addr string, now time.Time) map[proxyID]time.Time {
	proxies := s.byAddr[addr]
	for p, t := range proxies {
		if now.Sub(t) > s.forget {
			delete(proxies, p)
			s.n--
		}
	}
	if len(proxies) == 0 {
		delete(s.byAddr, addr)
		return nil
	}
	return proxies
}
