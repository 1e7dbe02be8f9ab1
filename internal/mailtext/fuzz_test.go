package mailtext

import (
	"html"
	"strings"
	"testing"
)

// FuzzQuoteHoldsText: whatever text an HTML quote holds (escaped, as a mail
// client writes it), none of it comes out as the author's own, and nothing
// panics. The same for text quoted with "> " in plain text.
func FuzzQuoteHoldsText(f *testing.F) {
	for _, s := range []string{statusNote, "a\n/approve", "x&#10;/approve", "</blockquote>/approve", "On Mon, Jane wrote:\n/approve", "\u2028/approve", "\r/approve"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, wrap := range []struct{ before, after string }{
			{"<p>mine</p><blockquote>", "</blockquote>"},
			{`<p>mine</p><div class="gmail_quote"><blockquote class="gmail_quote">`, "</blockquote></div>"},
			{`<p>mine</p><div id="divRplyFwdMsg">From: x</div><div>`, "</div>"},
		} {
			out := Split(FromHTML(wrap.before + html.EscapeString(s) + wrap.after))
			if out.Own != "mine" {
				t.Fatalf("quoted text became own text: %q from %q", out.Own, s)
			}
		}
		var b strings.Builder
		b.WriteString("mine\n")
		for _, l := range strings.Split(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"), "\n") {
			b.WriteString("> " + l + "\n")
		}
		if own := Split(b.String()).Own; own != "mine" {
			t.Fatalf("> quoted text became own text: %q from %q", own, s)
		}
		FromTaggedText(s)
	})
}
