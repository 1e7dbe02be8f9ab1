package main

import (
	"bytes"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/mail/smtptest"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string // in stdout or stderr
	}{
		{"the built-in procedures are valid", []string{"validate"}, 0, []string{"built-in proc19: PROC19 v8", "valid", "critical path: approval (", "earliest completion: "}},
		{"a cycle is rejected naming its steps", []string{"validate", "../../testdata/procedures/cycle.yaml"}, 1, []string{"cycle", "→"}},
		{"an unknown predecessor is named", []string{"validate", "../../testdata/procedures/unknown-predecessor.yaml"}, 1, []string{"unknown step"}},
		{"a missing file is a clear error", []string{"validate", "no-such-file.yaml"}, 1, []string{"no-such-file.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(tc.args, &out, &errOut)
			all := out.String() + errOut.String()
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tc.wantCode, all)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
		})
	}
}

func TestCycleErrorNamesBothSteps(t *testing.T) {
	var out, errOut bytes.Buffer
	Main([]string{"validate", "../../testdata/procedures/cycle.yaml"}, &out, &errOut)
	msg := errOut.String()
	i := strings.Index(msg, "cycle:")
	if i < 0 {
		t.Fatalf("no cycle reported: %s", msg)
	}
	if steps := strings.Count(msg[i:], "→"); steps < 2 {
		t.Errorf("the cycle should name at least two steps: %s", msg)
	}
}

func TestDemoEndsWithTheAnnouncement(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main([]string{"demo"}, &out, &errOut); code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "--- announcement posted on ggus #") || !strings.Contains(out.String(), "0 of them duplicated") {
		t.Errorf("demo output:\n%s", out.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}

// TestDigestOfTheDemo: after procbot demo --db FILE, procbot digest
// --dry-run on that database prints the task force's digest of the demo's
// procedure, with no tracker or SMTP configured.
func TestDigestOfTheDemo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	var out, errOut bytes.Buffer
	if code := Main([]string{"demo", "--db", db}, &out, &errOut); code != 0 {
		t.Fatalf("demo exit %d\n%s", code, errOut.String())
	}
	t.Setenv("PROCBOT_DB_PATH", db)
	out.Reset()
	if code := Main([]string{"digest", "--dry-run"}, &out, &errOut); code != 0 {
		t.Fatalf("digest exit %d\n%s", code, errOut.String())
	}
	for _, want := range []string{"To: \"Jane Doe\" <jane.doe@foostack.example>", "Subject: procbot weekly digest", "FooStack", "34/35 done, 1 not applicable", "completed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("digest lacks %q:\n%s", want, out.String())
		}
	}
	if code := Main([]string{"digest"}, &out, &errOut); code == 0 {
		t.Errorf("digest without --dry-run or --send-now succeeded")
	}
}

// TestDigestSendNow delivers the demo's digest through a real SMTP server
// on loopback.
func TestDigestSendNow(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	var out, errOut bytes.Buffer
	if code := Main([]string{"demo", "--db", db}, &out, &errOut); code != 0 {
		t.Fatalf("demo exit %d\n%s", code, errOut.String())
	}
	srv := smtptest.Start(t, smtptest.Options{})
	t.Setenv("PROCBOT_DB_PATH", db)
	t.Setenv("PROCBOT_SMTP_HOST", srv.Host)
	t.Setenv("PROCBOT_SMTP_PORT", strconv.Itoa(srv.Port))
	t.Setenv("PROCBOT_SMTP_TLS", "none")
	t.Setenv("PROCBOT_SMTP_FROM", "procbot <procbot@egi.example>")
	out.Reset()
	if code := Main([]string{"digest", "--send-now"}, &out, &errOut); code != 0 {
		t.Fatalf("digest --send-now exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "jane.doe@foostack.example" || !strings.Contains(out.String(), "1 sent") {
		t.Errorf("deliveries %+v; output %s", msgs, out.String())
	}
	if !bytes.Contains(msgs[0].Data, []byte("multipart/alternative")) {
		t.Errorf("the digest is not text and HTML:\n%s", msgs[0].Data)
	}
}
