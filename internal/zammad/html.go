package zammad

import (
	"strings"

	"golang.org/x/net/html"
)

// Elements whose start and end break the line in the text rendering; br
// always adds one, so <br><br> leaves a blank line.
var blockElements = map[string]bool{
	"p": true, "div": true, "br": true, "li": true, "tr": true, "ul": true, "ol": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"blockquote": true, "pre": true, "table": true, "hr": true, "dl": true, "dt": true, "dd": true,
	"section": true, "article": true, "header": true, "footer": true,
}

// htmlToText renders an HTML article body as plain text for procbot's
// parsers: block elements become line breaks, entities are decoded, scripts
// and styles are dropped, runs of blank lines shrink to one.
func htmlToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0 // inside script/style
	pre := 0  // inside pre: keep white space
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidyText(b.String())
		case html.TextToken:
			if skip > 0 {
				continue
			}
			text := string(z.Text()) // entities already decoded
			if pre == 0 {
				text = collapseSpace(text)
			}
			b.WriteString(text)
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			tag := string(name)
			switch tag {
			case "script", "style":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
				continue
			case "pre":
				if tt == html.StartTagToken {
					pre++
				} else if tt == html.EndTagToken && pre > 0 {
					pre--
				}
			case "td", "th":
				if tt == html.EndTagToken {
					b.WriteString(" ")
				}
			}
			switch {
			case tag == "br":
				b.WriteString("\n")
			case blockElements[tag]:
				if out := b.String(); out != "" && !strings.HasSuffix(out, "\n") {
					b.WriteString("\n")
				}
			}
		}
	}
}

func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u00a0' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// tidyText trims each line and keeps at most one blank line in a row.
func tidyText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\u00a0", " "), "\n")
	var out []string
	blank := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			blank++
			if blank > 1 || len(out) == 0 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
