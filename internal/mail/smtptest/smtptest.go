// Package smtptest runs a real SMTP server on loopback for procbot's tests:
// mail that procbot sends is delivered over TCP to an in-process server
// (github.com/emersion/go-smtp), and the tests read the delivered messages
// back with their envelope.
//
// The server can require AUTH PLAIN, offer STARTTLS or speak implicit TLS
// with a self-signed certificate made for the test, refuse every message
// with a given reply code, or drop every connection right after its
// greeting, so that procbot's handling of a failing mail server is tested
// against the real protocol.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLS modes of the server.
const (
	TLSNone     = ""         // plain SMTP, no STARTTLS offered
	TLSStartTLS = "starttls" // plain SMTP that offers STARTTLS
	TLSImplicit = "implicit" // TLS from the first byte (SMTPS)
)

// Where a refusing server refuses.
const (
	AtMail = "mail" // MAIL FROM
	AtRcpt = "rcpt" // RCPT TO (the default)
	AtData = "data" // after the message was transmitted
)

// Options configures a test server. The zero value accepts every message
// in clear text without authentication.
type Options struct {
	// Username and Password, when Username is set, make the server offer
	// AUTH PLAIN and refuse MAIL FROM until the client authenticated with
	// exactly these credentials.
	Username, Password string
	// TLS is TLSNone, TLSStartTLS or TLSImplicit.
	TLS string
	// Reject, when not zero, is the reply code (e.g. 451 or 550) with which
	// the server refuses every message, at RejectAt.
	Reject int
	// RejectAt is AtMail, AtRcpt (default) or AtData.
	RejectAt string
	// DropAfterGreeting makes the server close every connection right
	// after its 220 greeting, when the client says EHLO.
	DropAfterGreeting bool
}

// Delivery is one message the server accepted.
type Delivery struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO)
	Data []byte   // the message as transmitted, CRLF line ends, dots unstuffed
	User string   // the authenticated user, if any
	TLS  bool     // whether the message came over TLS
}

// Server is a running test server. It stops when the test ends.
type Server struct {
	Addr string // host:port
	Host string // 127.0.0.1
	Port int
	// RootCAs trusts the server's self-signed certificate (TLS modes only).
	RootCAs *x509.CertPool

	opts Options
	srv  *smtp.Server

	mu       sync.Mutex
	messages []Delivery
	conns    int
}

// Start starts a server on 127.0.0.1 on a free port, per opts, and stops
// it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	switch opts.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		t.Fatalf("smtptest: unknown TLS mode %q", opts.TLS)
	}
	switch opts.RejectAt {
	case "", AtMail, AtRcpt, AtData:
	default:
		t.Fatalf("smtptest: unknown RejectAt %q", opts.RejectAt)
	}
	if opts.Reject != 0 && (opts.Reject < 400 || opts.Reject > 599) {
		t.Fatalf("smtptest: Reject %d is not a 4xx or 5xx reply code", opts.Reject)
	}
	s := &Server{opts: opts}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "smtptest.localhost"
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	// AUTH is offered in clear text only when the server has no TLS at all;
	// otherwise only after STARTTLS, as a real submission server does.
	s.srv.AllowInsecureAuth = opts.TLS == TLSNone

	var ln net.Listener
	var err error
	if opts.TLS != TLSNone {
		cert, pool := selfSigned(t)
		s.RootCAs = pool
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if opts.TLS == TLSImplicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", s.srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.Addr = ln.Addr().String()
	host, port, _ := net.SplitHostPort(s.Addr)
	s.Host = host
	s.Port, _ = strconv.Atoi(port)

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = s.srv.Close()
		// Close misses a listener that Serve has not registered yet.
		_ = ln.Close()
		<-done
	})
	return s
}

// Messages returns the messages delivered so far, in order.
func (s *Server) Messages() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.messages))
	for i, m := range s.messages {
		m.To = append([]string(nil), m.To...)
		m.Data = bytes.Clone(m.Data)
		out[i] = m
	}
	return out
}

// Connections returns how many SMTP sessions (EHLO/HELO) the server saw.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// NewSession implements smtp.Backend.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.conns++
	s.mu.Unlock()
	if s.opts.DropAfterGreeting {
		_ = c.Conn().Close()
		return nil, errors.New("smtptest: dropping the connection")
	}
	_, isTLS := c.TLSConnectionState()
	return &session{s: s, tls: isTLS, conn: c}, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	tls  bool
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (se *session) reject(at string) error {
	want := se.s.opts.RejectAt
	if want == "" {
		want = AtRcpt
	}
	code := se.s.opts.Reject
	if code == 0 || at != want {
		return nil
	}
	enh := smtp.EnhancedCode{code / 100, 0, 0}
	msg := "smtptest refuses every message"
	if code < 500 {
		msg = "smtptest: try again later"
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
}

func (se *session) AuthMechanisms() []string {
	if se.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	if se.s.opts.Username == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if (identity != "" && identity != username) || username != se.s.opts.Username || password != se.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		se.user = username
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.opts.Username != "" && se.user == "" {
		return smtp.ErrAuthRequired
	}
	if err := se.reject(AtMail); err != nil {
		return err
	}
	se.from, se.to = from, nil
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := se.reject(AtRcpt); err != nil {
		return err
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := se.reject(AtData); err != nil {
		return err
	}
	_, isTLS := se.conn.TLSConnectionState()
	se.s.mu.Lock()
	se.s.messages = append(se.s.messages, Delivery{From: se.from, To: append([]string(nil), se.to...), Data: data, User: se.user, TLS: isTLS || se.tls})
	se.s.mu.Unlock()
	return nil
}

func (se *session) Reset() { se.from, se.to = "", nil }

func (se *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1, ::1 and localhost, and a
// pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("smtptest: key: %v", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("smtptest: serial: %v", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("smtptest: certificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("smtptest: certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
