package intake

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/procbot/procbot/internal/procedure"
)

// proc19Fields are PROC19's prerequisite data as the request template in the
// procedure's step 1 asks for it, plus the optional kind of product.
var proc19Fields = []procedure.Field{
	{Key: "product", Label: "name of Technology Product", Required: true,
		Help: "the name of the product to integrate"},
	{Key: "provider", Label: "Technology Provider (person representing or leading the team) contact details (name, email)",
		Aliases: []string{"Technology Provider contact"}, Required: true, Format: procedure.FormatContact,
		Help: "name and email of the person leading the Technology Provider team, e.g. Jane Doe, jane@example.org"},
	{Key: "customers", Label: "customers of the Product (eg. user community, Operations Centre)", Required: true,
		Help: "who will use the product"},
	{Key: "motivation", Label: "motivation", Required: true, Help: "why the product should be integrated"},
	{Key: "kind", Label: "kind", Aliases: []string{"kind of product"}, Format: procedure.FormatChoice,
		Choices: []string{"cloud", "middleware"}, Help: "cloud or middleware"},
}

// seedTemplate is the request body from PROC19 step 1, filled in.
const seedTemplate = `Dear Operations,

We would like to request for starting procedure of integrating FooStack to EGI Production Infrastructure: PROC19 Integration of new cloud management framework or middleware stack in the EGI Infrastructure

Prerequisite data:
* name of Technology Product: FooStack
* Technology Provider (person representing or leading the team) contact details(name, email): Jane Doe, jane.doe@example.org
* customers of the Product (eg. user community, Operations Centre): EGI-ACE communities, NGI_IT
* motivation: FooStack lets our sites
  offer GPUs to the VOs.

Best Regards
Jane
`

// seedOneLine is the template as the procedure's HTML renders it, on one line.
const seedOneLine = `<p>Dear Operations,</p> <p>We would like to request for starting procedure of integrating FooStack to EGI Production Infrastructure: PROC19 Integration of new cloud management framework or middleware stack in the EGI Infrastructure</p> <p>Prerequisite data: * name of Technology Product: FooStack * Technology Provider (person representing or leading the team) contact details(name, email): Jane Doe, jane.doe@example.org * customers of the Product (eg. user community, Operations Centre): NGI_IT * motivation: GPUs for the VOs</p> <p>Best Regards XXX</p>`

// fullData is what seedTemplate yields.
var fullData = map[string]string{
	"product":        "FooStack",
	"provider_name":  "Jane Doe",
	"provider_email": "jane.doe@example.org",
	"customers":      "EGI-ACE communities, NGI_IT",
	"motivation":     "FooStack lets our sites\noffer GPUs to the VOs.",
}

func problem(key, msg string) Problem {
	for _, f := range proc19Fields {
		if f.Key == key {
			return Problem{Field: key, Label: f.Label, Message: msg, Help: f.Help}
		}
	}
	panic("no field " + key)
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// bodyWith returns seedTemplate with the line starting with prefix replaced.
func bodyWith(prefix, line string) string {
	var out []string
	found := false
	for _, l := range strings.Split(seedTemplate, "\n") {
		if strings.HasPrefix(l, prefix) {
			found = true
			if line == "" {
				continue
			}
			l = line
		}
		out = append(out, l)
	}
	if !found {
		panic("no line " + prefix)
	}
	return strings.Join(out, "\n")
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		data     map[string]string
		problems []Problem
	}{
		{
			name: "the seed template filled in is complete",
			body: seedTemplate,
			data: fullData,
		},
		{
			name: "the one-line HTML form of the template is split at its bullets",
			body: seedOneLine,
			data: with(fullData, "customers", "NGI_IT", "motivation", "GPUs for the VOs"),
		},
		{
			name: "the one-line form as plain text",
			body: "Prerequisite data: * name of Technology Product: FooStack * Technology Provider (person representing or leading the team) contact details(name, email): Jane Doe, jane.doe@example.org * customers of the Product (eg. user community, Operations Centre): NGI_IT * motivation: GPUs * and more\n\nBest Regards XXX",
			data: with(fullData, "customers", "NGI_IT", "motivation", "GPUs * and more"),
		},
		{
			name:     "the empty template reports every required field missing",
			body:     "Prerequisite data: * name of Technology Product: * Technology Provider (person representing or leading the team) contact details(name, email): * customers of the Product (eg. user community, Operations Centre): * motivation:\n\nBest Regards XXX",
			data:     map[string]string{},
			problems: []Problem{problem("product", "missing"), problem("provider", "missing"), problem("customers", "missing"), problem("motivation", "missing")},
		},
		{
			name:     "an empty body reports every required field missing",
			body:     "",
			data:     map[string]string{},
			problems: []Problem{problem("product", "missing"), problem("provider", "missing"), problem("customers", "missing"), problem("motivation", "missing")},
		},
		{
			name:     "missing product name",
			body:     bodyWith("* name of", ""),
			data:     with(fullData, "product", ""),
			problems: []Problem{problem("product", "missing")},
		},
		{
			name:     "missing provider contact",
			body:     bodyWith("* Technology Provider", ""),
			data:     with(fullData, "provider_name", "", "provider_email", ""),
			problems: []Problem{problem("provider", "missing")},
		},
		{
			name:     "missing customers",
			body:     bodyWith("* customers", "* customers of the Product (eg. user community, Operations Centre):"),
			data:     with(fullData, "customers", ""),
			problems: []Problem{problem("customers", "missing")},
		},
		{
			name:     "missing motivation",
			body:     "* name of Technology Product: FooStack\n* Technology Provider contact: Jane Doe, jane.doe@example.org\n* customers of the Product: EGI-ACE communities, NGI_IT\n",
			data:     with(fullData, "motivation", ""),
			problems: []Problem{problem("motivation", "missing")},
		},
		{
			name:     "template placeholder values count as missing",
			body:     "* name of Technology Product: XXX\n* Technology Provider contact: XXX\n* customers of the Product: xxx\n* motivation: ...\n",
			data:     map[string]string{},
			problems: []Problem{problem("product", "missing"), problem("provider", "missing"), problem("customers", "missing"), problem("motivation", "missing")},
		},
		{
			name:     "a contact without email",
			body:     bodyWith("* Technology Provider", "* Technology Provider contact: Jane Doe"),
			data:     with(fullData, "provider_email", ""),
			problems: []Problem{problem("provider", "missing email address")},
		},
		{
			name:     "a contact without name",
			body:     bodyWith("* Technology Provider", "* Technology Provider contact: jane.doe@example.org"),
			data:     with(fullData, "provider_name", ""),
			problems: []Problem{problem("provider", "missing name")},
		},
		{
			name:     "a contact with an invalid email",
			body:     bodyWith("* Technology Provider", "* Technology Provider contact: Jane Doe, foo@"),
			data:     with(fullData, "provider_email", "foo@"),
			problems: []Problem{problem("provider", `not a valid email address: "foo@"`)},
		},
		{
			name:     "a contact whose email domain has no dot",
			body:     bodyWith("* Technology Provider", "* Technology Provider contact: Jane Doe, jane@localhost"),
			data:     with(fullData, "provider_email", "jane@localhost"),
			problems: []Problem{problem("provider", `not a valid email address: "jane@localhost"`)},
		},
		{
			name: "a contact as Name <email>",
			body: bodyWith("* Technology Provider", "* Technology Provider contact: Jane Doe <jane.doe@example.org>"),
			data: fullData,
		},
		{
			name: "a contact as email (Name)",
			body: bodyWith("* Technology Provider", "* Technology Provider contact: jane.doe@example.org (Jane Doe)"),
			data: fullData,
		},
		{
			name: "a contact with name: and email: labels",
			body: bodyWith("* Technology Provider", "* Technology Provider contact: name: Jane Doe, email:jane.doe@example.org"),
			data: fullData,
		},
		{
			name:     "prompts and fillers such as <name>, [XXX], TBD and - count as missing",
			body:     "* name of Technology Product: <product name>\n* Technology Provider contact: [XXX]\n* customers of the Product: TBD\n* motivation: -\n",
			data:     map[string]string{},
			problems: []Problem{problem("product", "missing"), problem("provider", "missing"), problem("customers", "missing"), problem("motivation", "missing")},
		},
		{
			name: "labels written without their parenthesised parts, or with other ones",
			body: "name of Technology Product: FooStack\nTechnology Provider contact details: Jane Doe, jane.doe@example.org\ncustomers of the Product (e.g. VOs): EGI-ACE communities, NGI_IT\nmotivation (why): FooStack lets our sites\noffer GPUs to the VOs.",
			data: fullData,
		},
		{
			name:     "text before a colon that is not a label is not a field",
			body:     "name of Technology Product and more: FooStack\n" + strings.Repeat("motivation ", 500) + ": GPUs\n",
			data:     map[string]string{},
			problems: []Problem{problem("product", "missing"), problem("provider", "missing"), problem("customers", "missing"), problem("motivation", "missing")},
		},
		{
			name: "a contact on the line after its label",
			body: bodyWith("* Technology Provider", "* Technology Provider contact:\n  Jane Doe\n  jane.doe@example.org"),
			data: fullData,
		},
		{
			name: "a valid kind is stored as the canonical choice",
			body: seedTemplate + "\n* Kind: Cloud\n",
			data: with(fullData, "kind", "cloud"),
		},
		{
			name: "a kind by its alias",
			body: seedTemplate + "\n- kind of product: MIDDLEWARE\n",
			data: with(fullData, "kind", "middleware"),
		},
		{
			name:     "an invalid kind is reported and not stored",
			body:     seedTemplate + "\n* kind: storage\n",
			data:     fullData,
			problems: []Problem{problem("kind", `not one of cloud, middleware: "storage"`)},
		},
		{
			name: "an absent kind is no problem",
			body: seedTemplate,
			data: fullData,
		},
		{
			name:     "a continuation runs to the next label line",
			body:     "* motivation: first\nsecond\n  third\n* name of Technology Product: FooStack\n",
			data:     map[string]string{"motivation": "first\nsecond\nthird", "product": "FooStack"},
			problems: []Problem{problem("provider", "missing"), problem("customers", "missing")},
		},
		{
			name:     "a continuation stops at an empty line",
			body:     "* name of Technology Product: FooStack\n\nThis is not part of the name.\n",
			data:     map[string]string{"product": "FooStack"},
			problems: []Problem{problem("provider", "missing"), problem("customers", "missing"), problem("motivation", "missing")},
		},
		{
			name:     "a continuation stops at a closing line",
			body:     "* motivation: GPUs\nBest regards, Jane\n",
			data:     map[string]string{"motivation": "GPUs"},
			problems: []Problem{problem("product", "missing"), problem("provider", "missing"), problem("customers", "missing")},
		},
		{
			name: "labels ignore case, spacing and a numbered bullet",
			body: "1. NAME OF   technology product :  FooStack\n2) Technology Provider (person representing or leading the team) contact details(name,email): Jane Doe, jane.doe@example.org\n- Customers of the product: EGI-ACE communities, NGI_IT\nMotivation: FooStack lets our sites\noffer GPUs to the VOs.",
			data: fullData,
		},
		{
			name: "bold labels as written in Markdown",
			body: "**name of Technology Product:** FooStack\n**Technology Provider contact**: Jane Doe, jane.doe@example.org\n**customers of the Product:** EGI-ACE communities, NGI_IT\n__motivation__: FooStack lets our sites\noffer GPUs to the VOs.",
			data: fullData,
		},
		{
			name: "HTML leftovers are stripped and entities decoded",
			body: "<div><p>Prerequisite data:</p><ul><li><b>name of Technology Product:</b> Foo&amp;Stack</li><li>Technology Provider contact: Jane Doe &lt;jane.doe@example.org&gt;</li><li>customers of the Product: EGI-ACE communities, NGI_IT</li><li>motivation: FooStack lets our sites<br>offer GPUs to the VOs.</li></ul><p>Best Regards<br/>Jane</p><style>p { color: red }</style><!-- a comment --></div>",
			data: with(fullData, "product", "Foo&Stack"),
		},
		{
			name:     "quoted lines are ignored",
			body:     "> * name of Technology Product: FooStack\n* motivation: GPUs\n",
			data:     map[string]string{"motivation": "GPUs"},
			problems: []Problem{problem("product", "missing"), problem("provider", "missing"), problem("customers", "missing")},
		},
		{
			name:     "the message replied to is not read",
			body:     "* motivation: GPUs\n\nOn Mon, 3 Mar 2025, Jane Doe wrote:\n* name of Technology Product: OldName\n",
			data:     map[string]string{"motivation": "GPUs"},
			problems: []Problem{problem("product", "missing"), problem("provider", "missing"), problem("customers", "missing")},
		},
		{
			name: "a forwarded request is read and the author's own text wins",
			body: "* motivation: FooStack lets our sites\noffer GPUs to the VOs.\n\n---------- Forwarded message ---------\nFrom: Jane Doe <jane.doe@example.org>\nDate: Mon, 2 Nov 2026\n\n" + strings.Replace(seedTemplate, "motivation:", "motivation: an older reason. Was:", 1),
			data: fullData,
		},
		{
			name: "a label given twice keeps the last real value",
			body: seedTemplate + "\n* name of Technology Product: BarStack\n* name of Technology Product: XXX\n",
			data: with(fullData, "product", "BarStack"),
		},
		{
			name:     "invalid UTF-8 is replaced and control characters removed",
			body:     "* name of Technology Product: Foo\xff\x00Stack\x07\n* motivation: ok\x1b[31m\n",
			data:     map[string]string{"product": "Foo\uFFFDStack", "motivation": "ok[31m"},
			problems: []Problem{problem("provider", "missing"), problem("customers", "missing")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseRequest(proc19Fields, tt.body)
			if !reflect.DeepEqual(got.Data, tt.data) {
				t.Errorf("Data:\n got %q\nwant %q", got.Data, tt.data)
			}
			if !reflect.DeepEqual(got.Problems, tt.problems) {
				t.Errorf("Problems:\n got %+v\nwant %+v", got.Problems, tt.problems)
			}
			if got.Complete() != (len(tt.problems) == 0) {
				t.Errorf("Complete() = %v with problems %+v", got.Complete(), got.Problems)
			}
		})
	}
}

func TestParseRequestEmailField(t *testing.T) {
	fields := []procedure.Field{{Key: "security", Label: "security contact", Format: procedure.FormatEmail, Help: "an email address"}}
	tests := []struct {
		name     string
		body     string
		data     map[string]string
		problems []Problem
	}{
		{"a bare address", "security contact: csirt@example.org", map[string]string{"security": "csirt@example.org"}, nil},
		{"an address with a display name", "security contact: CSIRT <csirt@example.org>", map[string]string{"security": "csirt@example.org"}, nil},
		{"an address in prose", "security contact: write to csirt@example.org please", map[string]string{"security": "csirt@example.org"}, nil},
		{"an invalid address", "security contact: foo@", map[string]string{"security": "foo@"},
			[]Problem{{Field: "security", Label: "security contact", Message: `not a valid email address: "foo@"`, Help: "an email address"}}},
		{"no address at all", "security contact: ask Jane", map[string]string{"security": "ask Jane"},
			[]Problem{{Field: "security", Label: "security contact", Message: `not a valid email address: "ask Jane"`, Help: "an email address"}}},
		{"an optional email left out", "", map[string]string{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseRequest(fields, tt.body)
			if !reflect.DeepEqual(got.Data, tt.data) {
				t.Errorf("Data = %q, want %q", got.Data, tt.data)
			}
			if !reflect.DeepEqual(got.Problems, tt.problems) {
				t.Errorf("Problems = %+v, want %+v", got.Problems, tt.problems)
			}
		})
	}
}

func TestParseRequestCapsLongValues(t *testing.T) {
	long := strings.Repeat("word ", 1000) // 5000 characters
	got := ParseRequest(proc19Fields, "* motivation: "+long+"\n"+long+"\n")
	v := got.Data["motivation"]
	if n := utf8.RuneCountInString(v); n != MaxValueLen {
		t.Errorf("value has %d characters, want %d", n, MaxValueLen)
	}
	if !strings.HasSuffix(v, "…") {
		t.Errorf("truncated value does not end in …: %q", v[len(v)-20:])
	}
	short := ParseRequest(proc19Fields, "* motivation: "+strings.Repeat("a", MaxValueLen)).Data["motivation"]
	if short != strings.Repeat("a", MaxValueLen) {
		t.Errorf("a value of exactly %d characters was changed", MaxValueLen)
	}
}

func TestParseRequestHugeBody(t *testing.T) {
	// 5 MB of filler around a filled-in template must be read, and read
	// correctly; the cost is linear, so no timing is asserted.
	filler := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit * sed do: eiusmod.\n", 5<<20/76)
	hugeLine := strings.Repeat("<p x * y: z ", 200000)
	body := filler + "\n" + seedTemplate + "\n" + hugeLine + "\n\n" + filler
	got := ParseRequest(proc19Fields, body)
	if !reflect.DeepEqual(got.Data, fullData) || !got.Complete() {
		t.Errorf("Data = %q, Problems = %+v", got.Data, got.Problems)
	}

	// One value 5 MB long is cut to the cap.
	got = ParseRequest(proc19Fields, "motivation: "+strings.Repeat("é", 5<<20))
	if v := got.Data["motivation"]; utf8.RuneCountInString(v) != MaxValueLen || !strings.HasSuffix(v, "…") {
		t.Errorf("5 MB value: %d characters", utf8.RuneCountInString(v))
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		data     map[string]string
		problems []Problem
	}{
		{"complete data", fullData, nil},
		{"a supplied update removes missing", MergeData(with(fullData, "motivation", ""), map[string]string{"motivation": "GPUs"}), nil},
		{"a blank value is missing", with(fullData, "product", "  "), []Problem{problem("product", "missing")}},
		{"a placeholder value is missing", with(fullData, "customers", "XXX"), []Problem{problem("customers", "missing")}},
		{"an invalid email is reported", with(fullData, "provider_email", "jane@"), []Problem{problem("provider", `not a valid email address: "jane@"`)}},
		{"a long invalid email is quoted shortened", with(fullData, "provider_email", strings.Repeat("a", 150)+"@"),
			[]Problem{problem("provider", `not a valid email address: "`+strings.Repeat("a", 100)+`…"`)}},
		{"an invalid kind is reported", with(fullData, "kind", "grid"), []Problem{problem("kind", `not one of cloud, middleware: "grid"`)}},
		{"a kind in other case is accepted", with(fullData, "kind", "Cloud"), nil},
		{"nil data misses every required field", nil, []Problem{problem("product", "missing"), problem("provider", "missing"), problem("customers", "missing"), problem("motivation", "missing")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Validate(proc19Fields, tt.data); !reflect.DeepEqual(got, tt.problems) {
				t.Errorf("Validate = %+v, want %+v", got, tt.problems)
			}
		})
	}
}

func TestMergeData(t *testing.T) {
	older := map[string]string{"product": "FooStack", "provider_name": "Jane Doe", "provider_email": "jane@old.example.org"}
	newer := map[string]string{"provider_email": "jane@new.example.org", "motivation": "GPUs", "product": "  "}
	want := map[string]string{"product": "FooStack", "provider_name": "Jane Doe", "provider_email": "jane@new.example.org", "motivation": "GPUs"}

	t.Run("newer non-blank values win and blank ones do not erase", func(t *testing.T) {
		if got := MergeData(older, newer); !reflect.DeepEqual(got, want) {
			t.Errorf("MergeData = %q, want %q", got, want)
		}
	})
	t.Run("the inputs are not changed", func(t *testing.T) {
		MergeData(older, newer)
		if older["provider_email"] != "jane@old.example.org" || len(older) != 3 || len(newer) != 3 {
			t.Errorf("inputs changed: %q %q", older, newer)
		}
	})
	t.Run("nil maps are empty", func(t *testing.T) {
		if got := MergeData(nil, nil); got == nil || len(got) != 0 {
			t.Errorf("MergeData(nil, nil) = %#v", got)
		}
	})
	t.Run("a later article supplies what the first lacked", func(t *testing.T) {
		first := ParseRequest(proc19Fields, strings.Replace(seedTemplate, "FooStack lets our sites\n  offer GPUs to the VOs.", "XXX", 1))
		second := ParseRequest(proc19Fields, "Sorry, here it is:\nmotivation: GPUs for the VOs\n")
		merged := MergeData(first.Data, second.Data)
		if first.Complete() || second.Complete() {
			t.Fatalf("each article alone should be incomplete")
		}
		if p := Validate(proc19Fields, merged); p != nil {
			t.Errorf("merged data still has problems: %+v", p)
		}
		if merged["motivation"] != "GPUs for the VOs" {
			t.Errorf("motivation = %q", merged["motivation"])
		}
	})
}

func TestRequiredWhen(t *testing.T) {
	fields := []procedure.Field{
		{Key: "requester", Label: "requester", Required: true, Format: procedure.FormatChoice, Choices: []string{"Resource Centre", "Operations Centre"}},
		{Key: "oc", Label: "Operations Centre of the Resource Centre", RequiredWhen: "requester=Resource Centre", Help: "name the OC"},
	}
	missingOC := []Problem{{Field: "oc", Label: "Operations Centre of the Resource Centre", Message: "missing", Help: "name the OC"}}
	tests := []struct {
		name     string
		data     map[string]string
		problems []Problem
	}{
		{"a Resource Centre must name its OC", map[string]string{"requester": "Resource Centre"}, missingOC},
		{"the value compares as a choice does", map[string]string{"requester": "resource centre"}, missingOC},
		{"a Resource Centre that names its OC", map[string]string{"requester": "Resource Centre", "oc": "NGI_IT"}, nil},
		{"an Operations Centre need not", map[string]string{"requester": "Operations Centre"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Validate(fields, tt.data); !reflect.DeepEqual(got, tt.problems) {
				t.Errorf("Validate = %+v, want %+v", got, tt.problems)
			}
		})
	}
}
