package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/go-logr/logr"
	mdns "github.com/miekg/dns"
	"golang.org/x/net/netutil"
)

// Options bound and shape the server. Zero fields take the defaults below.
type Options struct {
	// Domain is the DDSD domain (mutate.Config.DDSDDomain, e.g.
	// "service.prod.ddsd"). Queries outside it are REFUSED. Empty or "."
	// serves every name the Lookup knows.
	Domain string
	// TTL of every record and of negative answers. Short, because
	// endpoints come and go. Default: 5s.
	TTL time.Duration
	// MaxAnswers caps the records of one answer. Default: 256.
	MaxAnswers int
	// MaxUDPSize is the largest UDP reply, whatever a client's EDNS0
	// buffer size says; bigger answers are truncated (TC) and the client
	// retries over TCP. Default: 1232 (the DNS flag day 2020 size, which
	// avoids IP fragmentation).
	MaxUDPSize uint16
	// ReadTimeout bounds reading one TCP query (a slow client) and
	// WriteTimeout writing one reply (a client that does not read).
	// Default: 2s each.
	ReadTimeout, WriteTimeout time.Duration
	// IdleTimeout closes a TCP connection with no query for this long.
	// Default: 10s.
	IdleTimeout time.Duration
	// MaxTCPConns caps the TCP connections served at once; further ones
	// wait in the kernel's accept queue. Default: 256.
	MaxTCPConns int
	// MaxTCPQueries caps the queries on one TCP connection. Default: 128.
	MaxTCPQueries int
	// Log receives serving errors. Default: discard.
	Log logr.Logger
}

// Defaults of Options.
const (
	DefaultTTL           = 5 * time.Second
	DefaultMaxAnswers    = 256
	DefaultMaxUDPSize    = 1232
	DefaultReadTimeout   = 2 * time.Second
	DefaultWriteTimeout  = 2 * time.Second
	DefaultIdleTimeout   = 10 * time.Second
	DefaultMaxTCPConns   = 256
	DefaultMaxTCPQueries = 128
)

func (o *Options) setDefaults() {
	setDefault(&o.TTL, DefaultTTL)
	setDefault(&o.MaxAnswers, DefaultMaxAnswers)
	setDefault(&o.MaxUDPSize, DefaultMaxUDPSize)
	setDefault(&o.ReadTimeout, DefaultReadTimeout)
	setDefault(&o.WriteTimeout, DefaultWriteTimeout)
	setDefault(&o.IdleTimeout, DefaultIdleTimeout)
	setDefault(&o.MaxTCPConns, DefaultMaxTCPConns)
	setDefault(&o.MaxTCPQueries, DefaultMaxTCPQueries)
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func (o *Options) validate() error {
	var errs []error
	if o.TTL < time.Second || o.TTL > time.Hour {
		errs = append(errs, fmt.Errorf("TTL %s: must be between 1s and 1h", o.TTL))
	}
	if o.MaxUDPSize < mdns.MinMsgSize {
		errs = append(errs, fmt.Errorf("MaxUDPSize %d: must be at least %d", o.MaxUDPSize, mdns.MinMsgSize))
	}
	for name, v := range map[string]int{"MaxAnswers": o.MaxAnswers, "MaxTCPConns": o.MaxTCPConns, "MaxTCPQueries": o.MaxTCPQueries} {
		if v < 1 {
			errs = append(errs, fmt.Errorf("%s %d: must be positive", name, v))
		}
	}
	for name, v := range map[string]time.Duration{"ReadTimeout": o.ReadTimeout, "WriteTimeout": o.WriteTimeout, "IdleTimeout": o.IdleTimeout} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s %s: must not be negative", name, v))
		}
	}
	if _, ok := mdns.IsDomainName(o.Domain); o.Domain != "" && !ok {
		errs = append(errs, fmt.Errorf("Domain %q: not a domain name", o.Domain))
	}
	return errors.Join(errs...)
}

// Server serves the DDSD domain over UDP and TCP on one address.
type Server struct {
	addr string
	opts Options
	udp  *mdns.Server
	tcp  *mdns.Server

	mu      sync.Mutex
	bound   bool
	started chan struct{} // closed when both servers run
}

// NewServer returns a server for addr (host:port; port 0 picks one, see
// UDPAddr and TCPAddr) answering from lookup. It does not bind yet.
func NewServer(addr string, lookup Lookup, opts Options) (*Server, error) {
	if lookup == nil {
		return nil, errors.New("dns: a Lookup is required")
	}
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("dns: address %q: %w", addr, err)
	}
	h := newHandler(lookup, opts.Domain, opts)
	s := &Server{addr: addr, opts: opts, started: make(chan struct{})}
	idle := opts.IdleTimeout
	invalid := func(m []byte, err error) {
		opts.Log.V(1).Info("discarded a malformed DNS message", "bytes", len(m), "error", err.Error())
	}
	s.udp = &mdns.Server{Handler: h, UDPSize: int(opts.MaxUDPSize), ReadTimeout: opts.ReadTimeout, WriteTimeout: opts.WriteTimeout,
		MsgInvalidFunc: invalid}
	s.tcp = &mdns.Server{Handler: h, ReadTimeout: opts.ReadTimeout, WriteTimeout: opts.WriteTimeout,
		IdleTimeout: func() time.Duration { return idle }, MaxTCPQueries: opts.MaxTCPQueries, MsgInvalidFunc: invalid}
	return s, nil
}

// Listen binds the UDP and TCP sockets; Start calls it when it was not
// called. Binding first lets a caller learn the port before serving.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound {
		return nil
	}
	// TCP on the port UDP got, so that port 0 gives one port for both; a
	// port the kernel picked for UDP may be taken for TCP, so try again.
	_, port, _ := net.SplitHostPort(s.addr)
	attempts := 1
	if port == "0" {
		attempts = 20
	}
	var (
		pc  net.PacketConn
		l   net.Listener
		err error
	)
	for range attempts {
		if pc, err = net.ListenPacket("udp", s.addr); err != nil {
			return fmt.Errorf("dns: listen udp %s: %w", s.addr, err)
		}
		tcpAddr := net.JoinHostPort(hostOf(s.addr), portOf(pc.LocalAddr()))
		if l, err = net.Listen("tcp", tcpAddr); err == nil {
			break
		}
		pc.Close()
		err = fmt.Errorf("dns: listen tcp %s: %w", tcpAddr, err)
	}
	if err != nil {
		return err
	}
	s.udp.PacketConn = pc
	s.tcp.Listener = netutil.LimitListener(l, s.opts.MaxTCPConns)
	s.bound = true
	return nil
}

func hostOf(addr string) string {
	h, _, _ := net.SplitHostPort(addr)
	return h
}

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// UDPAddr and TCPAddr are the bound addresses, nil before Listen.
func (s *Server) UDPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udp.PacketConn == nil {
		return nil
	}
	return s.udp.PacketConn.LocalAddr()
}

// TCPAddr: see UDPAddr.
func (s *Server) TCPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tcp.Listener == nil {
		return nil
	}
	return s.tcp.Listener.Addr()
}

// Start serves until ctx ends, then shuts down (waiting up to the write
// timeout for replies in flight); it is a controller-runtime Runnable. It
// returns early with an error if a socket fails.
func (s *Server) Start(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Add(2)
	s.udp.NotifyStartedFunc = wg.Done
	s.tcp.NotifyStartedFunc = wg.Done
	errc := make(chan error, 2)
	go func() { errc <- s.udp.ActivateAndServe() }()
	go func() { errc <- s.tcp.ActivateAndServe() }()
	go func() { wg.Wait(); close(s.started) }()
	select {
	case <-s.started:
	case err := <-errc:
		return fmt.Errorf("dns: %w", err)
	}
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
		defer cancel()
		return s.Shutdown(sctx)
	case err := <-errc:
		_ = s.Shutdown(context.Background())
		return fmt.Errorf("dns: %w", err)
	}
}

// Started is closed once both sockets serve.
func (s *Server) Started() <-chan struct{} { return s.started }

// Shutdown stops both servers, waiting for replies in flight until ctx
// ends. Before Start it closes the sockets Listen bound.
func (s *Server) Shutdown(ctx context.Context) error {
	return errors.Join(shutdown(ctx, s.udp), shutdown(ctx, s.tcp))
}

func shutdown(ctx context.Context, srv *mdns.Server) error {
	err := srv.ShutdownContext(ctx)
	if err == nil || err.Error() != "dns: server not started" {
		return err
	}
	if srv.PacketConn != nil {
		return srv.PacketConn.Close()
	}
	if srv.Listener != nil {
		return srv.Listener.Close()
	}
	return nil
}
