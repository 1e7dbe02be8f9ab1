package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
)

// TLS modes.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (default; port 587)
	TLSImplicit = "implicit" // TLS from the first byte (SMTPS; port 465)
	TLSNone     = "none"     // no TLS at all, e.g. a relay on localhost (port 25)
)

// Config is how procbot reaches its SMTP server.
type Config struct {
	Host string
	// Port defaults to 587 for starttls, 465 for implicit and 25 for none.
	Port int
	// TLS is "starttls" (default), "implicit" or "none". In starttls mode a
	// server that does not offer STARTTLS is an error, never a silent
	// fallback to clear text.
	TLS string
	// Username and Password, when set, authenticate with AUTH PLAIN, which
	// net/smtp only does over TLS or to localhost.
	Username string
	Password string
	// From is the sender, e.g. "procbot <procbot@egi.example>": the From
	// of messages that set none, and the envelope sender.
	From string
	// Timeout bounds one delivery, connection to QUIT; default 30s.
	Timeout time.Duration
	// InsecureSkipVerify and RootCAs are for tests against a server with
	// a self-signed certificate.
	InsecureSkipVerify bool
	RootCAs            *x509.CertPool
	// LocalName is the name given in EHLO; default: this host's name.
	LocalName string
}

// Mailer sends messages through one SMTP server.
type Mailer struct {
	cfg  Config
	from mail.Address
	addr string
}

// New checks the configuration and returns a Mailer. It does not connect.
func New(cfg Config) (*Mailer, error) {
	cfg.Host = strings.TrimSpace(cfg.Host)
	if cfg.Host == "" {
		return nil, errors.New("mail: SMTP host not set")
	}
	cfg.TLS = strings.ToLower(strings.TrimSpace(cfg.TLS))
	defaultPort := 587
	switch cfg.TLS {
	case "", TLSStartTLS:
		cfg.TLS = TLSStartTLS
	case TLSImplicit:
		defaultPort = 465
	case TLSNone:
		defaultPort = 25
	default:
		return nil, fmt.Errorf("mail: TLS mode %q: want starttls, implicit or none", cfg.TLS)
	}
	if cfg.Port == 0 {
		cfg.Port = defaultPort
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mail: SMTP port %d out of range", cfg.Port)
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("mail: SMTP password set without a username")
	}
	if strings.TrimSpace(cfg.From) == "" {
		return nil, errors.New("mail: From address not set")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: From address %q: %v", cfg.From, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.LocalName == "" {
		cfg.LocalName = "localhost"
		if h, err := os.Hostname(); err == nil && h != "" {
			cfg.LocalName = h
		}
	}
	if strings.ContainsAny(cfg.LocalName, " \r\n") {
		return nil, fmt.Errorf("mail: local name %q has spaces or line breaks", cfg.LocalName)
	}
	return &Mailer{cfg: cfg, from: *from, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}, nil
}

// From returns the configured sender.
func (m *Mailer) From() mail.Address { return m.from }

// Send delivers msg. A message without From is sent from the configured
// From. The envelope sender is the message's From address; the envelope
// recipients are its To addresses.
//
// An error is an *Error: IsTemporary tells whether trying again later
// may succeed (connection refused or dropped, timeout, 4xx reply) or not
// (5xx reply, invalid message, TLS or authentication setup). Once the
// server accepted the message, Send returns nil even if the connection
// then fails, so a message is never reported unsent after the server took
// it.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	if msg.From.Address == "" {
		msg.From = m.from
	}
	raw, err := msg.Bytes()
	if err != nil {
		return m.fail("compose", err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()

	conn, err := m.dial(ctx)
	if err != nil {
		return m.fail("connect", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// net/smtp takes no context: a cancelled context closes the connection,
	// which ends whatever exchange is under way.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	c, err := smtp.NewClient(conn, m.cfg.Host)
	if err != nil {
		return m.fail("greeting", m.ctxErr(ctx, err))
	}
	defer c.Close()
	if err := c.Hello(m.cfg.LocalName); err != nil {
		return m.fail("hello", m.ctxErr(ctx, err))
	}
	if m.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return m.fail("starttls", errNoStartTLS)
		}
		if err := c.StartTLS(m.tlsConfig()); err != nil {
			return m.fail("starttls", m.ctxErr(ctx, err))
		}
	}
	if m.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return m.fail("auth", errNoAuth)
		}
		if err := c.Auth(smtp.PlainAuth("", m.cfg.Username, m.cfg.Password, m.cfg.Host)); err != nil {
			return m.fail("auth", m.ctxErr(ctx, err))
		}
	}
	if err := c.Mail(msg.From.Address); err != nil {
		return m.fail("MAIL FROM "+msg.From.Address, m.ctxErr(ctx, err))
	}
	for _, to := range msg.To {
		if err := c.Rcpt(to.Address); err != nil {
			return m.fail("RCPT TO "+to.Address, m.ctxErr(ctx, err))
		}
	}
	w, err := c.Data()
	if err != nil {
		return m.fail("DATA", m.ctxErr(ctx, err))
	}
	if _, err := w.Write(raw); err != nil {
		return m.fail("DATA", m.ctxErr(ctx, err))
	}
	if err := w.Close(); err != nil {
		return m.fail("DATA", m.ctxErr(ctx, err))
	}
	// The server has the message: a failing QUIT does not make it unsent.
	_ = c.Quit()
	return nil
}

var (
	errNoStartTLS = errors.New("server does not offer STARTTLS; refusing to send in clear text (TLS mode \"none\" allows it)")
	errNoAuth     = errors.New("server does not offer AUTH but a username is configured")
)

func (m *Mailer) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: m.cfg.Timeout}
	if m.cfg.TLS == TLSImplicit {
		td := &tls.Dialer{NetDialer: d, Config: m.tlsConfig()}
		return td.DialContext(ctx, "tcp", m.addr)
	}
	return d.DialContext(ctx, "tcp", m.addr)
}

func (m *Mailer) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName:         m.cfg.Host,
		RootCAs:            m.cfg.RootCAs,
		InsecureSkipVerify: m.cfg.InsecureSkipVerify, //nolint:gosec // tests only, documented on Config
		MinVersion:         tls.VersionTLS12,
	}
}

// ctxErr prefers the context's error when the context ended: the
// connection error it caused says less.
func (m *Mailer) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

func (m *Mailer) fail(op string, err error) *Error {
	e := &Error{Op: op, Server: m.addr, Err: err, Temporary: temporary(err)}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		e.Code = tp.Code
	}
	if m.cfg.Password != "" {
		e.secrets = []string{
			m.cfg.Password,
			base64.StdEncoding.EncodeToString([]byte("\x00" + m.cfg.Username + "\x00" + m.cfg.Password)),
		}
	}
	return e
}

// Error is a failed delivery.
type Error struct {
	Op     string // what failed: "connect", "starttls", "auth", "RCPT TO x@y", "DATA", …
	Server string // host:port
	// Code is the server's SMTP reply code, 0 when the server gave none
	// (connection refused or dropped, TLS failure).
	Code int
	// Temporary: trying again later may succeed.
	Temporary bool
	Err       error

	secrets []string
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	s := fmt.Sprintf("smtp %s: %s: %v (%s)", e.Server, e.Op, e.Err, kind)
	for _, secret := range e.secrets {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// IsTemporary reports whether err is a delivery failure that may succeed
// when tried again later: the server could not be reached, dropped the
// connection, timed out, or answered 4xx. A 5xx rejection, an invalid
// message and a TLS or authentication setup problem are permanent: the
// same message with the same settings would fail again.
func IsTemporary(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Temporary
}

func temporary(err error) bool {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code >= 400 && tp.Code < 500
	}
	var cv *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &cv), errors.As(err, &rh), errors.As(err, &ua), errors.As(err, &hn), errors.As(err, &ci):
		return false // the server is there but TLS cannot be trusted or spoken
	case errors.Is(err, errNoStartTLS), errors.Is(err, errNoAuth):
		return false
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true // refused, reset, unreachable, timed out
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}
