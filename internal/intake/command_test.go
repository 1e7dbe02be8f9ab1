package intake

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCommands(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []Command
	}{
		{"approve alone", "/approve", []Command{{Name: "approve"}}},
		{"reject with a reason", "/reject not a middleware stack\n", []Command{{Name: "reject", Args: "not a middleware stack"}}},
		{"kind with its value", "/kind cloud", []Command{{Name: "kind", Args: "cloud"}}},
		{"na with a step and reason", "/na 3a  no BDII for cloud  ", []Command{{Name: "na", Args: "3a no BDII for cloud"}}},
		{"taskforce with members", "/taskforce jane@example.org, joe@example.org", []Command{{Name: "taskforce", Args: "jane@example.org, joe@example.org"}}},
		{"the name is lowercased and the args keep their case", "/Approve\n/REJECT Out Of Scope", []Command{{Name: "approve"}, {Name: "reject", Args: "Out Of Scope"}}},
		{"leading spaces, tabs and no-break spaces are allowed", "  /approve\n\t/kind cloud\n\u00a0/na 1a done elsewhere", []Command{{Name: "approve"}, {Name: "kind", Args: "cloud"}, {Name: "na", Args: "1a done elsewhere"}}},
		{"commands among prose", "Thanks, looks good.\n\n/approve\n\nCheers", []Command{{Name: "approve"}}},
		{"quoted lines are ignored", "> /approve\n  > /reject no\n>/kind cloud", nil},
		{"a command mid-line is not recognised", "please /approve this\nI will /reject it", nil},
		{"a slash not followed by letters is not a command", "/ approve\n/123\n//approve\n/", nil},
		{"a path is not a command", "/usr/bin/foo\n/approve.", nil},
		{"unknown names are returned for the caller to ignore", "/lgtm ship it", []Command{{Name: "lgtm", Args: "ship it"}}},
		{"CRLF line endings", "/approve\r\n/kind middleware\r\n", []Command{{Name: "approve"}, {Name: "kind", Args: "middleware"}}},
		{"HTML leftovers", "<p>/approve</p><div>/kind&nbsp;cloud</div>", []Command{{Name: "approve"}, {Name: "kind", Args: "cloud"}}},
		{"the message replied to is not read", "/kind cloud\n\nOn Tue, 4 Mar 2025 at 10:00, Joe wrote:\n/reject copied from an old mail", []Command{{Name: "kind", Args: "cloud"}}},
		{"a forwarded message is not read", "FYI\n\n---------- Forwarded message ---------\nFrom: Chief <chief@example.org>\n\n/approve", nil},
		{"an entity cannot start a line in a quote", "> waiting &#10;/approve on this ticket\n> x&#13;/reject no", nil},
		{"own text below a quote counts", "> Waiting for approval\n/approve", []Command{{Name: "approve"}}},
		{"control characters are removed from args", "/reject bad\x00\x1b input", []Command{{Name: "reject", Args: "bad input"}}},
		{"no commands", "Just a comment.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseCommands(tt.body); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCommands(%q) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

func TestParseCommandsReturnsAtMostTwenty(t *testing.T) {
	got := ParseCommands(strings.Repeat("/approve\n", 1000))
	if len(got) != MaxCommands {
		t.Errorf("got %d commands, want %d", len(got), MaxCommands)
	}
}

func TestParseCommandsCapsArgs(t *testing.T) {
	got := ParseCommands("/reject " + strings.Repeat("x", 5000))
	if len(got) != 1 || len([]rune(got[0].Args)) != MaxValueLen || !strings.HasSuffix(got[0].Args, "…") {
		t.Errorf("args not capped at %d characters: %d", MaxValueLen, len([]rune(got[0].Args)))
	}
}
