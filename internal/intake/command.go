package intake

import (
	"strings"

	"github.com/procbot/procbot/internal/mailtext"
)

// MaxCommands is how many commands ParseCommands returns from one article;
// the rest are ignored.
const MaxCommands = 20

// maxCommandName bounds the length of a command name.
const maxCommandName = 32

// Command is a slash command found in an article, such as "/reject out of
// scope": Name "reject", Args "out of scope".
type Command struct {
	Name string // lowercased, letters a-z only
	Args string // rest of the line, trimmed; may be empty
}

// ParseCommands returns the commands in an article body, in order, at most
// MaxCommands of them.
//
// A command is a line whose first non-space character is "/" followed by
// letters and then a space or the end of the line: "/approve", "/Reject not
// a middleware", "/kind cloud", "/na 3a no BDII for cloud". Text before the
// slash ("please /approve") and other characters after the name
// ("/usr/bin", "/approve.") do not count. Commands are read only from the
// author's own text (mailtext.Split): quoted lines ("> /approve"), anything
// after a reply header such as "On <date>, Jane wrote:" and a forwarded
// message do not count, so that quoting procbot's notes or someone else's
// mail never commands anything. HTML bodies reach here already rendered
// with their quotes marked (mailtext.FromHTML). Names are returned whatever
// they are; the caller decides which it knows.
func ParseCommands(body string) []Command {
	var out []Command
	rest := cleanPart(mailtext.Split(body).Own)
	for rest != "" && len(out) < MaxCommands {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		line = normLine(line)
		if c, ok := parseCommand(line); ok {
			out = append(out, c)
		}
	}
	return out
}

// parseCommand reads one normalized line as a command.
func parseCommand(line string) (Command, bool) {
	if len(line) < 2 || line[0] != '/' {
		return Command{}, false
	}
	i := 1
	for i < len(line) && isASCIILetter(line[i]) {
		i++
	}
	if i == 1 || i-1 > maxCommandName || i < len(line) && line[i] != ' ' {
		return Command{}, false
	}
	return Command{
		Name: strings.ToLower(line[1:i]),
		Args: collapseSpace(cleanValue(line[i:])),
	}, true
}
