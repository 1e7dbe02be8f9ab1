package digest_test

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/digest"
	"github.com/procbot/procbot/internal/mail"
	"github.com/procbot/procbot/internal/mail/smtptest"
	"github.com/procbot/procbot/templates"
)

// TestDeliveredThroughSMTP sends a rendered digest through a real SMTP
// server on loopback and reads both parts back unchanged.
func TestDeliveredThroughSMTP(t *testing.T) {
	procs, insts := fixtures(t)
	r, err := digest.NewRenderer(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	d := digest.Build(procs, insts, []core.Member{ops}, now)[0] // Ana Núñez, two procedures
	subject, text, html, err := r.Digest(d)
	if err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSStartTLS, Username: "procbot", Password: "pw-123456"})
	m, err := mail.New(mail.Config{Host: srv.Host, Port: srv.Port, RootCAs: srv.RootCAs, Username: "procbot", Password: "pw-123456",
		From: "procbot <procbot@egi.example>"})
	if err != nil {
		t.Fatal(err)
	}
	msg := mail.Message{
		To:      []netmail.Address{{Name: d.To.Name, Address: d.To.Email}},
		Subject: subject, Text: text, HTML: html, Date: d.Generated,
		Headers: map[string]string{"X-Procbot-Digest": d.Week},
	}
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 || got[0].To[0] != "ana@ngi.example" {
		t.Fatalf("delivered: %+v", got)
	}
	parsed, err := netmail.ReadMessage(bytes.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject")); s != subject {
		t.Errorf("Subject %q, want %q", s, subject)
	}
	if to, _ := parsed.Header.AddressList("To"); len(to) != 1 || to[0].Name != "Ana Núñez" {
		t.Errorf("To %v", to)
	}
	if w := parsed.Header.Get("X-Procbot-Digest"); w != "2026-W48" {
		t.Errorf("X-Procbot-Digest %q", w)
	}
	_, params, _ := mime.ParseMediaType(parsed.Header.Get("Content-Type"))
	mr := multipart.NewReader(parsed.Body, params["boundary"])
	for _, want := range []string{text, html} {
		p, err := mr.NextRawPart()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		if strings.ReplaceAll(string(body), "\r\n", "\n") != want {
			t.Errorf("part %s did not come back unchanged", p.Header.Get("Content-Type"))
		}
	}
}
