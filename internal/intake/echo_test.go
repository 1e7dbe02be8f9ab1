package intake

import (
	"reflect"
	"testing"
)

// TestParseRequestIgnoresProblemEcho: procbot's missing-data note pasted
// back into a request, unquoted, lists the labels followed by problem
// messages; those lines and their help are not values.
func TestParseRequestIgnoresProblemEcho(t *testing.T) {
	note := "Before EGI Operations can ask for its approval, the request needs:\n\n" +
		"  - name of Technology Product: missing\n    the name of the product to integrate\n" +
		"  - Technology Provider (person representing or leading the team) contact details (name, email): not a valid email address: \"jane@\"\n" +
		"    name and email of the person leading the Technology Provider team, e.g. Jane Doe, jane@example.org\n" +
		"  - motivation: missing\n    why the product should be integrated\n" +
		"  - kind: not one of cloud, middleware: \"vm\"\n    cloud or middleware\n"
	tests := []struct {
		name string
		body string
		data map[string]string
	}{
		{"the note alone supplies nothing", note, map[string]string{}},
		{"the applicant's answers after the note count", note + "\nname of Technology Product: FooStack\nmotivation: users asked\n",
			map[string]string{"product": "FooStack", "motivation": "users asked"}},
		{"a real value that starts like a message is kept", "motivation: missing features in the current middleware\n",
			map[string]string{"motivation": "missing features in the current middleware"}},
		{"a contact missing a name, echoed", "Technology Provider contact: missing name\n", map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseRequest(proc19Fields, tc.body)
			if !reflect.DeepEqual(got.Data, tc.data) {
				t.Errorf("data = %q, want %q", got.Data, tc.data)
			}
		})
	}
}
