package mail_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/mail"
	"github.com/procbot/procbot/internal/mail/smtptest"
)

const (
	user     = "procbot"
	password = "s3cret-Pa55word"
)

var date = time.Date(2026, 11, 23, 7, 0, 0, 0, time.FixedZone("CET", 3600))

func message() mail.Message {
	return mail.Message{
		From:    netmail.Address{Name: "procbot", Address: "procbot@egi.example"},
		To:      []netmail.Address{{Name: "Jane Doe", Address: "jane@foostack.example"}, {Address: "ops@egi.example"}},
		Subject: "procbot weekly digest 2026-W48: FooStack 21/35",
		Text:    "FooStack: 21/35 steps complete.\nOverdue: 3b.\n",
		HTML:    "<p>FooStack: <b>21/35</b> steps complete.</p>\n<p>Overdue: 3b.</p>\n",
		Date:    date,
		Headers: map[string]string{"X-Procbot-Digest": "2026-W48 jane@foostack.example"},
	}
}

func mailer(t *testing.T, srv *smtptest.Server, cfg mail.Config) *mail.Mailer {
	t.Helper()
	cfg.Host, cfg.Port, cfg.RootCAs = srv.Host, srv.Port, srv.RootCAs
	if cfg.From == "" {
		cfg.From = "procbot <procbot@egi.example>"
	}
	cfg.LocalName = "procbot.test"
	m, err := mail.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// delivered parses the only message the server received.
func delivered(t *testing.T, srv *smtptest.Server) (smtptest.Delivery, *netmail.Message) {
	t.Helper()
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	parsed, err := netmail.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatalf("delivered message does not parse: %v\n%s", err, msgs[0].Data)
	}
	return msgs[0], parsed
}

type part struct {
	contentType, body string
}

// parts decodes the parts of a multipart/alternative message.
func parts(t *testing.T, msg *netmail.Message) []part {
	t.Helper()
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	var out []part
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("part %s: Content-Transfer-Encoding %q", p.Header.Get("Content-Type"), cte)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, part{p.Header.Get("Content-Type"), strings.ReplaceAll(string(body), "\r\n", "\n")})
	}
	return out
}

func TestDeliverSTARTTLSWithAuth(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSStartTLS, Username: user, Password: password})
	m := mailer(t, srv, mail.Config{TLS: "starttls", Username: user, Password: password})
	want := message()
	if err := m.Send(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	d, got := delivered(t, srv)
	if !d.TLS || d.User != user {
		t.Errorf("delivered with TLS=%v user=%q, want TLS as %q", d.TLS, d.User, user)
	}
	if d.From != "procbot@egi.example" || strings.Join(d.To, ",") != "jane@foostack.example,ops@egi.example" {
		t.Errorf("envelope %s -> %v", d.From, d.To)
	}
	headers := map[string]string{
		"Date":             "Mon, 23 Nov 2026 07:00:00 +0100",
		"From":             `"procbot" <procbot@egi.example>`,
		"To":               `"Jane Doe" <jane@foostack.example>, <ops@egi.example>`,
		"Subject":          want.Subject,
		"Mime-Version":     "1.0",
		"X-Procbot-Digest": "2026-W48 jane@foostack.example",
	}
	for k, v := range headers {
		if g := got.Header.Get(k); g != v {
			t.Errorf("%s: %q, want %q", k, g, v)
		}
	}
	if d, err := got.Header.Date(); err != nil || !d.Equal(date) {
		t.Errorf("Date: %v, %v", d, err)
	}
	id := got.Header.Get("Message-Id")
	if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@egi.example>") || len(id) < 20 {
		t.Errorf("Message-ID %q, want <random@egi.example>", id)
	}
	ps := parts(t, got)
	if len(ps) != 2 {
		t.Fatalf("%d parts, want 2", len(ps))
	}
	if ps[0].contentType != "text/plain; charset=utf-8" || ps[0].body != want.Text {
		t.Errorf("first part %q:\n%q\nwant text/plain:\n%q", ps[0].contentType, ps[0].body, want.Text)
	}
	if ps[1].contentType != "text/html; charset=utf-8" || ps[1].body != want.HTML {
		t.Errorf("second part %q:\n%q\nwant text/html:\n%q", ps[1].contentType, ps[1].body, want.HTML)
	}
}

func TestNonASCIIAndLongLines(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSStartTLS})
	m := mailer(t, srv, mail.Config{})
	msg := message()
	msg.To = []netmail.Address{{Name: "Ana Núñez — NGI_IBERGRID", Address: "ana@ngi.example"}}
	msg.Subject = "procbot weekly digest 2026-W48: Größe 21/35, Ωmega 3/35 (2 overdue) " + strings.Repeat("très long sujet ", 8)
	long := strings.Repeat("0123456789abcdéfghij", 100) // 2000 characters on one line
	msg.Text = "Line one\n" + long + "\n.a line starting with a dot\n"
	msg.HTML = "<p>" + long + "</p>\n"
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	d, got := delivered(t, srv)
	for i, line := range strings.Split(string(d.Data), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line %d has %d characters (over 78): %q", i, len(line), line)
		}
		for _, c := range []byte(line) {
			if c >= 0x80 {
				t.Fatalf("line %d has a non-ASCII byte: %q", i, line)
			}
		}
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(got.Header.Get("Subject"))
	if err != nil || subject != msg.Subject {
		t.Errorf("Subject decodes to %q (%v), want %q", subject, err, msg.Subject)
	}
	to, err := got.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != msg.To[0].Name || to[0].Address != "ana@ngi.example" {
		t.Errorf("To decodes to %v (%v)", to, err)
	}
	ps := parts(t, got)
	if len(ps) != 2 || ps[0].body != msg.Text || ps[1].body != msg.HTML {
		t.Errorf("parts did not survive intact: %+v", ps)
	}
	if !strings.Contains(ps[0].body, "\n"+long+"\n") {
		t.Error("the 2000-character line did not come back intact")
	}
}

func TestTextOnly(t *testing.T) {
	msg := message()
	msg.HTML = ""
	raw, err := msg.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	got, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if ct := got.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(got.Body))
	if strings.ReplaceAll(string(body), "\r\n", "\n") != msg.Text {
		t.Errorf("body %q", body)
	}
}

func TestImplicitTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSImplicit, Username: user, Password: password})
	m := mailer(t, srv, mail.Config{TLS: "implicit", Username: user, Password: password})
	if err := m.Send(context.Background(), message()); err != nil {
		t.Fatal(err)
	}
	if d, _ := delivered(t, srv); !d.TLS || d.User != user {
		t.Errorf("TLS=%v user=%q", d.TLS, d.User)
	}
}

func TestPlainRelay(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	m := mailer(t, srv, mail.Config{TLS: "none"})
	if err := m.Send(context.Background(), message()); err != nil {
		t.Fatal(err)
	}
	if d, _ := delivered(t, srv); d.TLS {
		t.Error("TLS on a plain relay?")
	}
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name      string
		server    smtptest.Options
		client    mail.Config
		temporary bool
		mention   string // the error must say this
	}{
		{"4xx at RCPT is temporary", smtptest.Options{Reject: 451}, mail.Config{TLS: "none"}, true, "451"},
		{"5xx at RCPT is permanent", smtptest.Options{Reject: 550}, mail.Config{TLS: "none"}, false, "550"},
		{"4xx at MAIL is temporary", smtptest.Options{Reject: 421, RejectAt: smtptest.AtMail}, mail.Config{TLS: "none"}, true, "421"},
		{"5xx after DATA is permanent", smtptest.Options{Reject: 554, RejectAt: smtptest.AtData}, mail.Config{TLS: "none"}, false, "554"},
		{"connection dropped after greeting is temporary", smtptest.Options{DropAfterGreeting: true}, mail.Config{TLS: "none"}, true, "hello"},
		{"no STARTTLS in starttls mode is refused", smtptest.Options{}, mail.Config{TLS: "starttls"}, false, "does not offer STARTTLS"},
		{"wrong password is permanent", smtptest.Options{TLS: smtptest.TLSStartTLS, Username: user, Password: password},
			mail.Config{Username: user, Password: "wrong-" + password}, false, "535"},
		{"auth required but not configured", smtptest.Options{TLS: smtptest.TLSStartTLS, Username: user, Password: password},
			mail.Config{}, false, "MAIL FROM"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.Start(t, tc.server)
			m := mailer(t, srv, tc.client)
			err := m.Send(context.Background(), message())
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if got := mail.IsTemporary(err); got != tc.temporary {
				t.Errorf("IsTemporary = %v, want %v: %v", got, tc.temporary, err)
			}
			if !strings.Contains(err.Error(), tc.mention) || !strings.Contains(err.Error(), srv.Addr) {
				t.Errorf("error %q does not mention %q and the server", err, tc.mention)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error reveals the password: %v", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("%d messages delivered", n)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close() // nothing listens there now
	m, err := mail.New(mail.Config{Host: "127.0.0.1", Port: addr.Port, TLS: "none", From: "procbot@egi.example"})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Send(context.Background(), message())
	if !mail.IsTemporary(err) || !strings.Contains(err.Error(), "connect") {
		t.Errorf("refused connection: %v (temporary %v), want a temporary connect error", err, mail.IsTemporary(err))
	}
	var me *mail.Error
	if !errors.As(err, &me) || me.Code != 0 || me.Op != "connect" {
		t.Errorf("error %#v", err)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSStartTLS})
	m, err := mail.New(mail.Config{Host: srv.Host, Port: srv.Port, From: "procbot@egi.example"}) // no RootCAs
	if err != nil {
		t.Fatal(err)
	}
	err = m.Send(context.Background(), message())
	if err == nil || mail.IsTemporary(err) || !strings.Contains(err.Error(), "starttls") {
		t.Errorf("untrusted certificate: %v (temporary %v), want a permanent starttls error", err, mail.IsTemporary(err))
	}
}

func TestCancelledContext(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	m := mailer(t, srv, mail.Config{TLS: "none"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := m.Send(ctx, message())
	if err == nil || !mail.IsTemporary(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSStartTLS, Username: user, Password: "other"})
	m := mailer(t, srv, mail.Config{Username: user, Password: password})
	err := m.Send(context.Background(), message())
	if err == nil {
		t.Fatal("Send succeeded with a wrong password")
	}
	for _, s := range []string{err.Error(), errors.Unwrap(err).Error()} {
		if strings.Contains(s, password) {
			t.Errorf("error reveals the password: %s", s)
		}
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*mail.Message)
		field string
	}{
		{"no recipient", func(m *mail.Message) { m.To = nil }, "To"},
		{"no sender", func(m *mail.Message) { m.From = netmail.Address{} }, "From"},
		{"CRLF in subject", func(m *mail.Message) { m.Subject = "digest\r\nBcc: victim@example.org" }, "Subject"},
		{"LF in subject", func(m *mail.Message) { m.Subject = "digest\nBcc: victim@example.org" }, "Subject"},
		{"CR in display name", func(m *mail.Message) { m.To[1].Name = "Ops\rBcc: x@example.org" }, "To[1]"},
		{"LF in address", func(m *mail.Message) { m.To[0].Address = "jane@foostack.example\nBcc: x@example.org" }, "To[0]"},
		{"LF in extra header", func(m *mail.Message) { m.Headers["X-Procbot-Digest"] = "a\nBcc: x@example.org" }, "X-Procbot-Digest"},
		{"LF in message id", func(m *mail.Message) { m.MessageID = "<a@b>\nBcc: x@example.org" }, "Message-ID"},
		{"extra header overriding Bcc", func(m *mail.Message) { m.Headers["bcc"] = "x@example.org" }, "bcc"},
		{"bad header name", func(m *mail.Message) { m.Headers["X Bad:"] = "x" }, "X Bad:"},
		{"not an address", func(m *mail.Message) { m.To[0].Address = "jane at foostack" }, "To[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := message()
			msg.To = append([]netmail.Address(nil), msg.To...)
			msg.Headers = map[string]string{"X-Procbot-Digest": "x"}
			tc.edit(&msg)
			raw, err := msg.Bytes()
			if err == nil {
				t.Fatalf("accepted:\n%s", raw)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
	t.Run("refused before connecting", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{})
		m := mailer(t, srv, mail.Config{TLS: "none"})
		msg := message()
		msg.Subject = "x\r\nBcc: victim@example.org"
		err := m.Send(context.Background(), msg)
		if err == nil || mail.IsTemporary(err) || srv.Connections() != 0 {
			t.Errorf("Send: %v (temporary %v), %d connections", err, mail.IsTemporary(err), srv.Connections())
		}
	})
}

func TestDefaults(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	m := mailer(t, srv, mail.Config{TLS: "none", From: "procbot <procbot@egi.example>"})
	msg := message()
	msg.From = netmail.Address{}
	msg.MessageID = "digest-2026-W48-jane@procbot.egi.example"
	msg.Date = time.Time{}
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	d, got := delivered(t, srv)
	if d.From != "procbot@egi.example" || got.Header.Get("From") != `"procbot" <procbot@egi.example>` {
		t.Errorf("From: envelope %q, header %q", d.From, got.Header.Get("From"))
	}
	if id := got.Header.Get("Message-Id"); id != "<digest-2026-W48-jane@procbot.egi.example>" {
		t.Errorf("Message-ID %q", id)
	}
	if _, err := got.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
}

func TestConfig(t *testing.T) {
	bad := []mail.Config{
		{From: "procbot@egi.example"},
		{Host: "smtp.egi.example"},
		{Host: "smtp.egi.example", From: "not an address"},
		{Host: "smtp.egi.example", From: "procbot@egi.example", TLS: "ssl3"},
		{Host: "smtp.egi.example", From: "procbot@egi.example", Password: "x"},
		{Host: "smtp.egi.example", From: "procbot@egi.example", Port: 70000},
	}
	for _, c := range bad {
		if _, err := mail.New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		} else if c.Password != "" && strings.Contains(err.Error(), c.Password) {
			t.Errorf("error reveals the password: %v", err)
		}
	}
	if _, err := mail.New(mail.Config{Host: "smtp.egi.example", From: "procbot <procbot@egi.example>", TLS: "IMPLICIT"}); err != nil {
		t.Error(err)
	}
}
