// Package mail sends procbot's email (the weekly task force digest, the
// announcement of a completed procedure) through an SMTP server.
//
// Message builds an RFC 5322 message: multipart/alternative with a plain
// text and an HTML part, quoted-printable so that long lines and non-ASCII
// text survive any relay, and RFC 2047 encoded headers for non-ASCII
// names and subjects. Mailer delivers it with the standard library's
// net/smtp over STARTTLS, implicit TLS or (for a local relay) plain SMTP.
package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Message is one email.
type Message struct {
	From    mail.Address
	To      []mail.Address
	Subject string
	// Text is the plain-text body; HTML, when not empty, is the same content
	// as HTML and the message becomes multipart/alternative.
	Text, HTML string
	// Date defaults to the time Bytes is called.
	Date time.Time
	// MessageID, with or without angle brackets, defaults to a random
	// <id@domain-of-From>. A caller that may send the same message again
	// (a retry) can set it so that the copies are recognisably the same.
	MessageID string
	// Headers are extra header fields, e.g. X-Procbot-Digest. They cannot
	// replace the fields Bytes writes itself.
	Headers map[string]string
}

// fields Bytes writes itself; Headers cannot set them.
var reserved = []string{"Date", "Message-Id", "From", "To", "Cc", "Bcc", "Subject", "Mime-Version",
	"Content-Type", "Content-Transfer-Encoding", "Sender", "Reply-To"}

// Validate reports the first problem that keeps the message from being
// sent: no sender, no recipient, an invalid address, or a header value
// with a line break (which would let text inject header fields). The error
// names the field.
func (m Message) Validate() error {
	if err := checkAddress("From", m.From); err != nil {
		return err
	}
	if len(m.To) == 0 {
		return fmt.Errorf("mail: To: no recipient")
	}
	for i, a := range m.To {
		if err := checkAddress(fmt.Sprintf("To[%d]", i), a); err != nil {
			return err
		}
	}
	if err := checkValue("Subject", m.Subject); err != nil {
		return err
	}
	if err := checkValue("Message-ID", m.MessageID); err != nil {
		return err
	}
	if id := strings.Trim(m.MessageID, "<>"); m.MessageID != "" && (strings.ContainsAny(id, " \t<>") || !strings.Contains(id, "@")) {
		return fmt.Errorf("mail: Message-ID: %q is not of the form <id@domain>", m.MessageID)
	}
	for _, k := range sortedKeys(m.Headers) {
		if !validFieldName(k) {
			return fmt.Errorf("mail: header %q: not a valid field name", k)
		}
		if slices.Contains(reserved, textproto.CanonicalMIMEHeaderKey(k)) {
			return fmt.Errorf("mail: header %q: set by the message itself", k)
		}
		if err := checkValue(k, m.Headers[k]); err != nil {
			return err
		}
	}
	if !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) {
		return fmt.Errorf("mail: body: not valid UTF-8")
	}
	return nil
}

func checkAddress(field string, a mail.Address) error {
	if a.Address == "" {
		return fmt.Errorf("mail: %s: no address", field)
	}
	if err := checkValue(field, a.Name); err != nil {
		return err
	}
	if err := checkValue(field, a.Address); err != nil {
		return err
	}
	if p, err := mail.ParseAddress(a.Address); err != nil || p.Address != a.Address {
		return fmt.Errorf("mail: %s: %q is not an email address", field, a.Address)
	}
	return nil
}

// checkValue refuses line breaks and other control characters.
func checkValue(field, v string) error {
	for _, r := range v {
		if r == '\r' || r == '\n' {
			return fmt.Errorf("mail: %s: line break in a header value (header injection refused)", field)
		}
		if r < 0x20 && r != '\t' || r == 0x7f {
			return fmt.Errorf("mail: %s: control character %U in a header value", field, r)
		}
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("mail: %s: not valid UTF-8", field)
	}
	return nil
}

func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c > '~' || c == ':' {
			return false
		}
	}
	return true
}

// Bytes returns the message as sent: CRLF line ends, headers folded at 78
// characters where they have spaces, bodies quoted-printable.
func (m Message) Bytes() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	id := m.MessageID
	if id == "" {
		id = NewMessageID(m.From.Address)
	} else if !strings.HasPrefix(id, "<") {
		id = "<" + id + ">"
	}
	var b bytes.Buffer
	header(&b, "Date", date.Format(time.RFC1123Z))
	header(&b, "Message-ID", id)
	header(&b, "From", m.From.String())
	to := make([]string, len(m.To))
	for i, a := range m.To {
		to[i] = a.String()
	}
	header(&b, "To", strings.Join(to, ", "))
	header(&b, "Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header(&b, "MIME-Version", "1.0")
	for _, k := range sortedKeys(m.Headers) {
		header(&b, k, mime.QEncoding.Encode("utf-8", m.Headers[k]))
	}
	if m.HTML == "" {
		header(&b, "Content-Type", "text/plain; charset=utf-8")
		header(&b, "Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := qp(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	header(&b, "Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, text string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, fmt.Errorf("mail: %s part: %w", part.typ, err)
		}
		var enc bytes.Buffer
		if err := qp(&enc, part.text); err != nil {
			return nil, err
		}
		if _, err := w.Write(enc.Bytes()); err != nil {
			return nil, fmt.Errorf("mail: %s part: %w", part.typ, err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("mail: multipart: %w", err)
	}
	b.Write(body.Bytes())
	return b.Bytes(), nil
}

// qp writes text quoted-printable, lines ending in CRLF, and a final line
// end.
func qp(b *bytes.Buffer, text string) error {
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	w := quotedprintable.NewWriter(b)
	if _, err := w.Write([]byte(text)); err != nil {
		return fmt.Errorf("mail: quoted-printable: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: quoted-printable: %w", err)
	}
	return nil
}

// header writes "Name: value", folded at spaces to keep lines within 78
// characters where the value allows it (encoded words are at most 75).
func header(b *bytes.Buffer, name, value string) {
	const limit = 78
	line := name + ":"
	words := strings.Split(value, " ")
	for i, w := range words {
		// An RFC 2047 encoded word may also start on the line after the
		// field name, so that its line stays within the limit too.
		breakable := i > 0 || strings.HasPrefix(w, "=?")
		if breakable && len(line)+1+len(w) > limit && strings.TrimSpace(line) != "" {
			b.WriteString(line)
			b.WriteString("\r\n")
			line = ""
		}
		line += " " + w
	}
	b.WriteString(line)
	b.WriteString("\r\n")
}

// NewMessageID returns a new random message id, <random@domain>, with the
// domain of the given address (or "procbot.invalid" without one).
func NewMessageID(address string) string {
	domain := "procbot.invalid"
	if at := strings.LastIndexByte(address, '@'); at >= 0 && at < len(address)-1 {
		domain = address[at+1:]
	}
	var r [16]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read does not fail
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">"
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
