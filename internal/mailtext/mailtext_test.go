package mailtext

import (
	"strings"
	"testing"
)

// statusNote is the part of procbot's status note that an operator's reply
// quotes, as procbot wrote it before its texts stopped starting a line with
// a command.
const statusNote = "Waiting for approval: EGI Operations asks the OMB; then an operator writes<br>\n/approve on this ticket (or /reject &lt;reason&gt;)."

// Mail clients' HTML replies, trimmed to their structure.
const (
	gmailReply          = `<div dir="ltr">Looks fine to me.</div><br><div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Thu, 3 Dec 2026 at 10:00, procbot &lt;procbot@egi.example&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">` + statusNote + `</blockquote></div>`
	gmailForward        = `<div dir="ltr">FYI, the chief's answer.<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From: <strong class="gmail_sendername" dir="auto">Chief</strong> <span dir="auto">&lt;chief@egi.example&gt;</span><br>Date: Thu, 3 Dec 2026 at 09:00<br></div><br><br><div dir="ltr">/approve<br>name of Technology Product: FooStack</div></div></div>`
	outlookWebReply     = `<div style="font-family:Aptos"><p>OK for me.</p></div><div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt"><b>From:</b> procbot<br><b>Sent:</b> Thursday, December 3, 2026 10:00<br><b>Subject:</b> Request</font><div>&nbsp;</div></div><div><p>` + statusNote + `</p></div>`
	outlookDesktopReply = `<div class="WordSection1"><p class="MsoNormal">OK for me.<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p><div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal"><b>From:</b> procbot &lt;procbot@egi.example&gt;<br><b>Sent:</b> Thursday, December 3, 2026 10:00<o:p></o:p></p></div></div><p class="MsoNormal">` + statusNote + `<o:p></o:p></p></div>`
	thunderbirdReply    = `<html><head><meta http-equiv="content-type" content="text/html; charset=UTF-8"></head><body><p>Agreed.</p><div class="moz-cite-prefix">On 03/12/2026 10:00, procbot wrote:<br></div><blockquote type="cite" cite="mid:1@egi.example">` + statusNote + `</blockquote><p>/kind cloud</p></body></html>`
)

func TestFromHTML(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"blockquote lines are quoted", "<p>Yes.</p><blockquote>" + statusNote + "</blockquote>",
			"Yes.\n> Waiting for approval: EGI Operations asks the OMB; then an operator writes\n> /approve on this ticket (or /reject <reason>)."},
		{"gmail quotes its header line and the quote", gmailReply,
			"Looks fine to me.\n\n> On Thu, 3 Dec 2026 at 10:00, procbot <procbot@egi.example> wrote:\n> Waiting for approval: EGI Operations asks the OMB; then an operator writes\n> /approve on this ticket (or /reject <reason>)."},
		{"gmail forward is left to Split after its header", gmailForward,
			"FYI, the chief's answer.\n\n---------- Forwarded message ---------\nFrom: Chief <chief@egi.example>\nDate: Thu, 3 Dec 2026 at 09:00\n\n/approve\nname of Technology Product: FooStack"},
		{"outlook web: everything from appendonsend on is quoted", outlookWebReply,
			"OK for me.\n> From: procbot\n> Sent: Thursday, December 3, 2026 10:00\n> Subject: Request\n> Waiting for approval: EGI Operations asks the OMB; then an operator writes\n> /approve on this ticket (or /reject <reason>)."},
		{"outlook desktop: everything from the From: block on is quoted", outlookDesktopReply,
			"OK for me.\n> From: procbot <procbot@egi.example>\n> Sent: Thursday, December 3, 2026 10:00\n> Waiting for approval: EGI Operations asks the OMB; then an operator writes\n> /approve on this ticket (or /reject <reason>)."},
		{"thunderbird quotes moz-cite-prefix and the blockquote, not the text below", thunderbirdReply,
			"Agreed.\n> On 03/12/2026 10:00, procbot wrote:\n> Waiting for approval: EGI Operations asks the OMB; then an operator writes\n> /approve on this ticket (or /reject <reason>).\n/kind cloud"},
		{"a bordered div without a From: line is not a header", `<div style="border-top:solid red 1pt">Note</div><p>/approve</p>`, "Note\n/approve"},
		{"outlook's x_ prefixed ids are its own", `<p>ok</p><div id="x_divRplyFwdMsg">From: a</div><p>/approve</p>`, "ok\n> From: a\n> /approve"},
		{"nested quotes add levels", "<p>top</p><blockquote>one<blockquote>two</blockquote>one again</blockquote>below",
			"top\n> one\n> > two\n> one again\nbelow"},
		{"an unclosed blockquote quotes to the end", "<p>top</p><blockquote>q<p>/approve", "top\n> q\n> /approve"},
		{"a stray end tag closes nothing", "</blockquote></div>/approve", "/approve"},
		{"entities are decoded once", "Foo &amp; Bar &lt;x&gt; &amp;lt;y&amp;gt; caf&eacute;", "Foo & Bar <x> &lt;y&gt; café"},
		{"an entity line break cannot start a line", "<blockquote>x&#10;/approve&#13;/na&#8232;/reject</blockquote>", "> x /approve /na /reject"},
		{"script and style are dropped", "<style>p{color:red}</style>x<script>alert(1)</script>y<title>t</title>", "xy"},
		{"comments are dropped", "a<!-- /approve -->b<!--[if mso]><xml>x</xml><![endif]-->", "ab"},
		{"br breaks a line, two leave a blank line", "a<br>b<br><br>c", "a\nb\n\nc"},
		{"p, div, li and headings are lines", "<h1>T</h1><p>one</p><p>two</p><ul><li>a</li><li>b</li></ul><div>c</div>", "T\none\ntwo\na\nb\nc"},
		{"table rows are lines and cells are spaced", "<table><tr><td>k</td><td>v</td></tr><tr><td>k2</td><td>v2</td></tr></table>", "k v\nk2 v2"},
		{"inline markup is text", "<div>Contact: <a href='mailto:a@b.org'>Alice</a>, <b>a@b.org</b></div>", "Contact: Alice, a@b.org"},
		{"source white space collapses, pre keeps it", "<p>Product\n   name:  Foo</p><pre>a  b\n/c</pre>", "Product name: Foo\na  b\n/c"},
		{"non-breaking spaces are spaces", "Name:&nbsp;Foo", "Name: Foo"},
		{"plain text passes through", "just text", "just text"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromHTML(tc.in); got != tc.want {
				t.Errorf("FromHTML:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestFromTaggedText(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"no markup: unchanged", "a\n\n  b\n", "a\n\n  b\n"},
		{"line breaks of the text are kept", "<b>name:</b> Foo\nmotivation: bar<br>baz", "name: Foo\nmotivation: bar\nbaz"},
		{"angle brackets that are no element stay", "contact: Jane Doe <jane.doe@example.org>, <product name><br>", "contact: Jane Doe <jane.doe@example.org>, <product name>"},
		{"an address in angle brackets stays, Word's tags go", "contact: Jane <mailto:jane@example.org><o:p></o:p>", "contact: Jane <mailto:jane@example.org>"},
		{"entities are decoded line by line", "a &amp; b&#10;/approve\nc", "a & b /approve\nc"},
		{"a style block is dropped", "x<style>p { color: red }</style>y", "xy"},
		{"a lone < keeps the text after it", "a <p b\n<br>c < d", "a <p b\n\nc < d"},
		{"an unclosed comment is text", "a <!-- b\nc", "a <!-- b\nc"},
		{"a closed comment is dropped", "a<!-- b\n -->c", "ac"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromTaggedText(tc.in); got != tc.want {
				t.Errorf("FromTaggedText:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	cases := []struct {
		name                  string
		in                    string
		own, forwarded, quote string
	}{
		{"> lines are quoted, text around them is own", "/approve\n> /reject no\n> more\nthanks",
			"/approve\n\nthanks", "", "> /reject no\n> more"},
		{"On … wrote: quotes everything after it", "ok\n\nOn Mon, 2 Nov 2026 at 09:00, Jane <jane@example.org> wrote:\n/approve\nbelow",
			"ok", "", "On Mon, 2 Nov 2026 at 09:00, Jane <jane@example.org> wrote:\n/approve\nbelow"},
		{"a header wrapped over two lines", "ok\nOn Mon, 2 Nov 2026 at 09:00, Jane Doe <\njane@example.org> wrote:\n/approve",
			"ok", "", "On Mon, 2 Nov 2026 at 09:00, Jane Doe <\njane@example.org> wrote:\n/approve"},
		{"Am … schrieb:", "gut\nAm 02.11.2026 um 09:00 schrieb Jane Doe:\n/approve", "gut", "", "Am 02.11.2026 um 09:00 schrieb Jane Doe:\n/approve"},
		{"Original Message", "ok\n-----Original Message-----\nFrom: x\n/approve", "ok", "", "-----Original Message-----\nFrom: x\n/approve"},
		{"outlook's underscores and From/Sent block", "ok\n________________________________\nFrom: procbot\nSent: today\n/approve",
			"ok", "", "________________________________\nFrom: procbot\nSent: today\n/approve"},
		{"a From:/Sent: block without underscores", "ok\nFrom: procbot\nSent: today\n/approve", "ok", "", "From: procbot\nSent: today\n/approve"},
		{"forwarded message after its header", "FYI\n---------- Forwarded message ---------\nFrom: chief\n\n/approve\n> old\nOn Mon, Jane wrote:\nolder",
			"FYI", "---------- Forwarded message ---------\nFrom: chief\n\n/approve", "> old\nOn Mon, Jane wrote:\nolder"},
		{"a forward's own From:/Date: block is part of it", "a\n---------- Forwarded message ---------\nFrom: chief\nDate: today\n\nx", "a", "---------- Forwarded message ---------\nFrom: chief\nDate: today\n\nx", ""},
		{"thunderbird and apple forwards", "a\n-------- Forwarded Message --------\nx\n", "a", "-------- Forwarded Message --------\nx\n", ""},
		{"Begin forwarded message:", "a\nBegin forwarded message:\nx", "a", "Begin forwarded message:\nx", ""},
		{"a forward header inside a quote is quoted", "a\n> ---------- Forwarded message ---------\n> /approve", "a", "", "> ---------- Forwarded message ---------\n> /approve"},
		{"CR and CRLF line endings", "/approve\r\n> x\r/kind cloud", "/approve\n\n/kind cloud", "", "> x"},
		{"no quote at all", "just\ntext", "just\ntext", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Split(tc.in)
			if got.Own != tc.own || got.Forwarded != tc.forwarded || got.Quoted != tc.quote {
				t.Errorf("Split(%q):\n own %q\nwant %q\n fwd %q\nwant %q\n quoted %q\n  want %q", tc.in, got.Own, tc.own, got.Forwarded, tc.forwarded, got.Quoted, tc.quote)
			}
		})
	}
}

// TestNoQuotedCommandIsOwnText: in every mail client's reply, the quoted
// status note's "/approve" line ends up outside the author's own text.
func TestNoQuotedCommandIsOwnText(t *testing.T) {
	for name, body := range map[string]string{
		"gmail": gmailReply, "gmail forward": gmailForward, "outlook web": outlookWebReply,
		"outlook desktop": outlookDesktopReply, "thunderbird": thunderbirdReply,
		"apple mail": `<div>Fine.</div><div><br><blockquote type="cite"><div>On 3 Dec 2026, at 10:00, procbot wrote:</div><br>` + statusNote + `</blockquote></div>`,
	} {
		t.Run(name, func(t *testing.T) {
			own := Split(FromHTML(body)).Own
			for _, l := range strings.Split(own, "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), "/approve") {
					t.Errorf("own text has %q:\n%s", l, own)
				}
			}
		})
	}
}

// TestBounded: deep nesting and huge input neither fail nor lose the quote.
func TestBounded(t *testing.T) {
	t.Run("nesting deeper than followed quotes the rest", func(t *testing.T) {
		in := "top" + strings.Repeat("<div>", 100000) + "/approve" + strings.Repeat("</div>", 100000)
		got := Split(FromHTML(in))
		if got.Own != "top" || !strings.Contains(got.Quoted, "/approve") {
			t.Errorf("own %q, quoted %.80q", got.Own, got.Quoted)
		}
	})
	t.Run("deep blockquotes write at most a few marks", func(t *testing.T) {
		in := strings.Repeat("<blockquote>", 100000) + "x"
		if got, want := FromHTML(in), strings.Repeat("> ", maxLevels)+"x"; got != want {
			t.Errorf("got %.80q, want %q", got, want)
		}
	})
}

func BenchmarkFromHTML(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   string
	}{
		{"nested-divs-1MB", strings.Repeat("<div>", 100000) + strings.Repeat("</div>", 100000)},
		{"gmail-thread-1MB", strings.Repeat(gmailReply, 1<<20/len(gmailReply))},
		{"text-lines-1MB", strings.Repeat("a line of text<br>", 1<<20/18)},
		{"nested-quote-containers-1MB", strings.Repeat(`<div class="gmail_quote">`, 500) + strings.Repeat("<br>", (1<<20-500*25)/4)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.in)))
			for i := 0; i < b.N; i++ {
				FromHTML(bc.in)
			}
		})
	}
}
