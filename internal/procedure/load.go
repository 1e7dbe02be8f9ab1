package procedure

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/procbot/procbot/templates"
)

// Parse reads one procedure definition and validates it.
//
// Decoding is strict: a key the format does not know is an error (a typo
// such as "afer:" would otherwise silently drop a dependency). Errors name
// the line and the step, field or unit it belongs to.
//
// Parse fills in defaults, so that users of the result need not: a step
// without a kind is a task (KindTask) and a field without a format is text
// (FormatText).
func Parse(data []byte) (*Procedure, error) {
	var p Procedure
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("procedure: empty definition")
		}
		return nil, explainYAML(data, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, fmt.Errorf("procedure %s: more than one YAML document (line %d); put one procedure per file", orUnnamed(p.ID), extra.Line)
	case !errors.Is(err, io.EOF):
		return nil, explainYAML(data, err)
	}
	p.fillDefaults()
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("procedure %s: %w", orUnnamed(p.ID), err)
	}
	return &p, nil
}

// Load reads and parses the procedure definition in the named file.
func Load(path string) (*Procedure, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load procedure: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Embedded parses the procedure built into procbot under the given name,
// e.g. "proc19" (see package templates).
func Embedded(name string) (*Procedure, error) {
	data, err := templates.Procedure(name)
	if err != nil {
		return nil, err
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("embedded %s.yaml: %w", strings.ToLower(name), err)
	}
	return p, nil
}

func (p *Procedure) fillDefaults() {
	for i := range p.Steps {
		if p.Steps[i].Kind == "" {
			p.Steps[i].Kind = KindTask
		}
	}
	for i := range p.Request.Fields {
		if p.Request.Fields[i].Format == "" {
			p.Request.Fields[i].Format = FormatText
		}
	}
}

func orUnnamed(id string) string {
	if id == "" {
		return "(no id)"
	}
	return id
}

// --- Making YAML decoding errors point at the step ---

var (
	lineRE         = regexp.MustCompile(`^line (\d+): `)
	unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
)

// knownKeys lists the keys of each type a definition is decoded into, for
// the hint on an unknown key.
var knownKeys = map[string][]string{}

func init() {
	for _, v := range []any{Procedure{}, Request{}, Field{}, Unit{}, Route{}, Step{}} {
		t := reflect.TypeOf(v)
		var keys []string
		for i := range t.NumField() {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
				keys = append(keys, tag)
			}
		}
		knownKeys[t.String()] = keys
	}
}

// explainYAML rewrites a decoding error so that each problem names where in
// the procedure it is ("step 3a", "unit gocdb", "field contact") and, for an
// unknown key, which keys are allowed there.
func explainYAML(data []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("procedure: %w", err)
	}
	spans := locate(data)
	problems := make([]error, 0, len(te.Errors))
	for _, msg := range te.Errors {
		line := 0
		if m := lineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = msg[len(m[0]):]
		}
		if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("unknown key %q", m[1])
			if keys := knownKeys[m[2]]; len(keys) > 0 {
				msg += " (known keys here: " + strings.Join(keys, ", ") + ")"
			}
		}
		var b strings.Builder
		b.WriteString("procedure: ")
		if line > 0 {
			fmt.Fprintf(&b, "line %d: ", line)
		}
		if where := spans.at(line); where != "" {
			b.WriteString(where + ": ")
		}
		b.WriteString(msg)
		problems = append(problems, errors.New(b.String()))
	}
	return errors.Join(problems...)
}

// span is the lines a named part of the definition occupies.
type span struct {
	first, last int
	name        string // "step 3a", "unit gocdb", "field contact", "request"
}

type spans []span

// at names the innermost part of the definition that contains line, or "".
func (ss spans) at(line int) string {
	best := -1
	for i, s := range ss {
		if line < s.first || line > s.last {
			continue
		}
		if best < 0 || s.last-s.first < ss[best].last-ss[best].first {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return ss[best].name
}

// locate finds the steps, units, request and fields in the YAML source. It
// is best effort: on a syntax error it finds nothing.
func locate(data []byte) spans {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	var ss spans
	add := func(n *yaml.Node, name string) {
		ss = append(ss, span{first: n.Line, last: lastLine(n), name: name})
	}
	eachPair(root, func(k, v *yaml.Node) {
		switch k.Value {
		case "steps":
			for i, item := range seqItems(v) {
				name := "step #" + strconv.Itoa(i+1)
				if id := scalarAt(item, "id"); id != "" {
					name = "step " + id
				}
				add(item, name)
			}
		case "units":
			eachPair(v, func(uk, uv *yaml.Node) {
				ss = append(ss, span{first: uk.Line, last: lastLine(uv), name: "unit " + uk.Value})
			})
		case "request":
			add(v, "request")
			eachPair(v, func(rk, rv *yaml.Node) {
				if rk.Value != "fields" {
					return
				}
				for i, item := range seqItems(rv) {
					name := "request field #" + strconv.Itoa(i+1)
					if key := scalarAt(item, "key"); key != "" {
						name = "request field " + key
					}
					add(item, name)
				}
			})
		}
	})
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].first < ss[j].first })
	return ss
}

func eachPair(n *yaml.Node, f func(k, v *yaml.Node)) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		f(n.Content[i], n.Content[i+1])
	}
}

func seqItems(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

func scalarAt(n *yaml.Node, key string) string {
	var val string
	eachPair(n, func(k, v *yaml.Node) {
		if k.Value == key && v.Kind == yaml.ScalarNode {
			val = v.Value
		}
	})
	return val
}

// lastLine is the last line on which n or anything inside it starts.
func lastLine(n *yaml.Node) int {
	last := n.Line
	for _, c := range n.Content {
		if l := lastLine(c); l > last {
			last = l
		}
	}
	return last
}
