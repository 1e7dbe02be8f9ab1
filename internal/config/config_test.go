package config_test

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/config"
)

// TestREADMEListsEverySetting keeps the README's settings table complete.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range settings(reflect.TypeOf(config.Config{}), "PROCBOT_") {
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("README.md does not document %s", name)
		}
	}
}

func settings(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := prefix + f.Tag.Get("envconfig")
		if f.Type.Kind() == reflect.Struct && f.Type.Name() != "Time" {
			out = append(out, settings(f.Type, name+"_")...)
			continue
		}
		out = append(out, name)
	}
	return out
}

func TestSecretsNeverPrint(t *testing.T) {
	c := config.Defaults()
	c.GGUS.Token = "zammad-token-5f1c0a9e2b7d"
	c.RT.Password = "rt-password-91d1ee74"
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", c.GGUS)} {
		if strings.Contains(s, "5f1c0a9e2b7d") || strings.Contains(s, "91d1ee74") {
			t.Errorf("a secret printed: %s", s)
		}
	}
	if c.GGUS.Token.Reveal() != "zammad-token-5f1c0a9e2b7d" {
		t.Error("Reveal lost the token")
	}
}

func TestValidate(t *testing.T) {
	base := func() config.Config {
		c := config.Defaults()
		c.GGUS.URL, c.GGUS.Token = "https://helpdesk.example/api/v1", "t"
		c.Operators = []string{"ops@egi.eu"}
		return c
	}
	tests := []struct {
		name    string
		change  func(*config.Config)
		wantErr string // "" = valid
	}{
		{"https GGUS with a token and operators is valid", func(*config.Config) {}, ""},
		{"no tracker at all", func(c *config.Config) { c.GGUS.URL = "" }, "PROCBOT_GGUS_URL or PROCBOT_RT_URL"},
		{"plain http is refused", func(c *config.Config) { c.GGUS.URL = "http://helpdesk.example/api/v1" }, "must use https"},
		{"plain http allowed explicitly", func(c *config.Config) { c.GGUS.URL = "http://127.0.0.1:8080/api/v1"; c.AllowHTTP = true }, ""},
		{"credentials in the URL are refused and not echoed", func(c *config.Config) { c.RT.URL = "https://root:hunter2@rt.example/REST/2.0"; c.RT.Token = "x" }, "not in the URL"},
		{"GGUS without a token", func(c *config.Config) { c.GGUS.Token = "" }, "PROCBOT_GGUS_TOKEN is required"},
		{"RT without credentials", func(c *config.Config) { c.RT.URL, c.RT.User = "https://rt.example/REST/2.0", "procbot" }, "PROCBOT_RT_TOKEN"},
		{"RT without the user procbot acts as", func(c *config.Config) { c.RT.URL, c.RT.Token = "https://rt.example/REST/2.0", "1-20-x" }, "PROCBOT_RT_USER is required"},
		{"unknown RT time zone", func(c *config.Config) { c.RT.TimeZone = "Mars/Olympus" }, "PROCBOT_RT_TIMEZONE"},
		{"nobody can approve", func(c *config.Config) { c.Operators = nil }, "nobody could approve"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.change(&c)
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}
