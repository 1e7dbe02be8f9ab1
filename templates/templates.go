// Package templates holds procbot's built-in procedure definitions (one
// <name>.yaml per procedure) and texts (notes/*.tmpl), embedded in the binary so that the daemon
// runs without any file beside it.
//
// Procedures are data: adding or changing one is an edit here, not a code
// change. Package procedure parses and validates them.
package templates

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// FS holds the embedded procedure definitions and, under notes/, the texts
// of child tickets and notes (see package render).
//
//go:embed *.yaml notes/*.tmpl mail/*.tmpl
var FS embed.FS

// Procedure returns the embedded definition of the named procedure, e.g.
// "proc19" for proc19.yaml. The name is matched case-insensitively.
func Procedure(name string) ([]byte, error) {
	file := strings.ToLower(name) + ".yaml"
	if name == "" || strings.ContainsAny(name, `/\`) || !fs.ValidPath(file) {
		return nil, fmt.Errorf("procedure %q: not a procedure name (want e.g. \"proc19\")", name)
	}
	data, err := FS.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("procedure %q: no embedded definition %s (have: %s)",
			name, file, strings.Join(Names(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("procedure %q: %w", name, err)
	}
	return data, nil
}

// Names lists the embedded procedures, sorted, without the .yaml suffix.
func Names() []string {
	files, _ := fs.Glob(FS, "*.yaml") // the pattern is valid, so no error
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(path.Base(f), ".yaml"))
	}
	sort.Strings(names)
	return names
}
