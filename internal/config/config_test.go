package config_test

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/config"
)

// TestREADMEListsEverySetting keeps the README's settings table and the
// settings the same, both ways.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		if m := tableRow.FindStringSubmatch(line); m != nil {
			documented[m[1]] = true
		}
	}
	known := map[string]bool{}
	for _, name := range config.Names() {
		known[name] = true
		if !documented[name] {
			t.Errorf("README.md's settings table does not document %s", name)
		}
	}
	for name := range documented {
		if !known[name] {
			t.Errorf("README.md's settings table documents %s, which is no setting", name)
		}
	}
}

// TestDeployFilesUseOnlySettings: the deployment files set no PROCBOT_
// variable that would fail start-up as unknown.
func TestDeployFilesUseOnlySettings(t *testing.T) {
	known := map[string]bool{}
	for _, name := range config.Names() {
		known[name] = true
	}
	for _, f := range []string{"../../Dockerfile", "../../deploy/systemd/procbot.service", "../../deploy/systemd/procbot.env.example", "../../deploy/kubernetes/procbot.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range regexp.MustCompile(`PROCBOT_[A-Z0-9_]*[A-Z0-9]`).FindAllString(string(b), -1) {
			if !known[name] {
				t.Errorf("%s sets %s, which is no setting", f, name)
			}
		}
	}
}

var tableRow = regexp.MustCompile("^\\| `(PROCBOT_[A-Z0-9_]+)` \\|")

// clearEnv unsets every PROCBOT_ variable for the test.
func clearEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "PROCBOT_") {
			t.Setenv(name, "") // restored after the test
			os.Unsetenv(name)
		}
	}
}

// minimal sets the few variables a valid configuration needs.
func minimal(t *testing.T) {
	clearEnv(t)
	t.Setenv("PROCBOT_GGUS_URL", "https://helpdesk.example/api/v1")
	t.Setenv("PROCBOT_GGUS_TOKEN", "procbot-token")
	t.Setenv("PROCBOT_OPERATORS", "ops@egi.eu")
}

// TestSettingsComeOnlyFromProcbotVariables: variables without the PROCBOT_
// prefix, as every shell and service manager sets some of them, are never
// read as settings.
func TestSettingsComeOnlyFromProcbotVariables(t *testing.T) {
	minimal(t)
	want, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{
		"USER": "root", "TOKEN": "leaked-token", "HOST": "smtp.elsewhere.example", "PORT": "2525",
		"URL": "https://elsewhere.example/api/v1", "DRY_RUN": "true", "DB_PATH": "/tmp/elsewhere.db",
		"PASSWORD": "leaked-password", "TIMEZONE": "Asia/Tokyo", "OPERATORS": "intruder@example.com",
		"RT_URL": "https://rt.elsewhere.example/REST/2.0", "RT_USER": "root", "RT_TOKEN": "leaked", "GGUS_TOKEN": "leaked",
		"SMTP_HOST": "smtp.elsewhere.example", "POLL_INTERVAL": "1h", "ROUTES": "3d=rt:elsewhere",
	} {
		t.Setenv(name, value)
	}
	got, err := config.Load()
	if err != nil {
		t.Fatalf("unprefixed variables changed the settings: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unprefixed variables changed the settings:\n got %+v\nwant %+v", got, want)
	}
	if got.RT.User != "" || got.SMTP.Host != "" || got.SMTP.Port != 587 || got.DryRun || got.DBPath != "procbot.db" || got.GGUS.Token.Reveal() != "procbot-token" {
		t.Errorf("a setting came from an unprefixed variable: %+v", got)
	}
}

// TestDefaultsIgnoreTheEnvironment: the demo runs on the defaults, whatever
// the environment holds.
func TestDefaultsIgnoreTheEnvironment(t *testing.T) {
	t.Setenv("DRY_RUN", "true")
	t.Setenv("PROCBOT_DRY_RUN", "true")
	t.Setenv("DB_PATH", "/tmp/elsewhere.db")
	if c := config.Defaults(); c.DryRun || c.DBPath != "procbot.db" {
		t.Errorf("Defaults read the environment: dry run %v, database %s", c.DryRun, c.DBPath)
	}
}

// TestDefaultsAreLoadsDefaults: with no variable set, Load gives Defaults.
func TestDefaultsAreLoadsDefaults(t *testing.T) {
	clearEnv(t)
	got, err := config.Read()
	if err != nil {
		t.Fatal(err)
	}
	if want := config.Defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("Load's defaults differ from Defaults:\n load %+v\n defaults %+v", got, want)
	}
}

// TestUnknownVariableFailsNamingTheClosest: a misspelt setting fails
// start-up instead of being ignored.
func TestUnknownVariableFailsNamingTheClosest(t *testing.T) {
	tests := []struct{ set, want string }{
		{"PROCBOT_DRYRUN", "PROCBOT_DRY_RUN"},
		{"PROCBOT_GGUS_TOKN", "PROCBOT_GGUS_TOKEN"},
		{"PROCBOT_RT_USR", "PROCBOT_RT_USER"},
		{"PROCBOT_POLLINTERVAL", "PROCBOT_POLL_INTERVAL"},
	}
	for _, tc := range tests {
		t.Run(tc.set, func(t *testing.T) {
			minimal(t)
			t.Setenv(tc.set, "true")
			_, err := config.Load()
			if err == nil || !strings.Contains(err.Error(), tc.set+" is not a procbot setting") || !strings.Contains(err.Error(), "did you mean "+tc.want+"?") {
				t.Errorf("error %v, want one naming %s and %s", err, tc.set, tc.want)
			}
		})
	}
}

// TestInvalidValueFailsNamingTheVariable: every bad value fails start-up
// with the variable's name, never later and never with a panic.
func TestInvalidValueFailsNamingTheVariable(t *testing.T) {
	tests := []struct {
		name, variable, value string
		load                  func() (config.Config, error)
	}{
		{"a negative overlap", "PROCBOT_POLL_OVERLAP", "-2m", config.Load},
		{"a negative reminder interval", "PROCBOT_REMINDER_EVERY", "-1h", config.Load},
		{"a negative cycle timeout", "PROCBOT_CYCLE_TIMEOUT", "-90s", config.Load},
		{"a negative tracker timeout", "PROCBOT_GGUS_TIMEOUT", "-30s", config.Load},
		{"a digest retry of 0", "PROCBOT_DIGEST_RETRY", "0", config.Load},
		{"a digest retry of 0 for procbot digest", "PROCBOT_DIGEST_RETRY", "0s", config.LoadMail},
		{"a negative SMTP timeout", "PROCBOT_SMTP_TIMEOUT", "-1s", config.LoadMail},
		{"a duration without a unit", "PROCBOT_POLL_INTERVAL", "120", config.Load},
		{"a bad cron spec", "PROCBOT_DIGEST_SCHEDULE", "every monday", config.Load},
		{"an unknown digest time zone", "PROCBOT_DIGEST_TIMEZONE", "Mars/Olympus", config.Load},
		{"an unknown RT time zone", "PROCBOT_RT_TIMEZONE", "Mars/Olympus", config.Load},
		{"a route to an unknown tracker", "PROCBOT_ROUTES", "3d=jira:Operations", config.Load},
		{"a route to a tracker that is not configured", "PROCBOT_ROUTES", "3d=rt:sw-rel", config.Load},
		{"a boolean that is not one", "PROCBOT_DRY_RUN", "yes please", config.Load},
		{"a port that is not a number", "PROCBOT_SMTP_PORT", "smtp", config.Load},
		{"a size with an SI unit", "PROCBOT_MAX_ANSWER_SIZE", "4MB", config.Load},
		{"a size of 0", "PROCBOT_MAX_ARTICLE_ANSWER_SIZE", "0", config.Load},
		{"a negative size", "PROCBOT_MAX_ANSWER_SIZE", "-1KiB", config.Load},
		{"a close path without a queue", "PROCBOT_RT_CLOSE_PATHS", "accepted>resolved", config.Load},
		{"a close path that ends where no step completes", "PROCBOT_RT_CLOSE_PATHS", "Requirements=accepted>in progress", config.Load},
		{"a queue with two close paths", "PROCBOT_RT_CLOSE_PATHS", "Requirements=accepted>resolved;requirements=resolved", config.Load},
		{"a queue's terminal statuses without a queue", "PROCBOT_RT_QUEUE_TERMINAL_STATES", "resolved,rejected", config.Load},
		{"a queue's terminal statuses without its close status", "PROCBOT_RT_QUEUE_TERMINAL_STATES", "Requirements=done,rejected", config.Load},
		{"terminal statuses without the close status", "PROCBOT_RT_TERMINAL_STATES", "done", config.Load},
		{"GGUS terminal states without the close state", "PROCBOT_GGUS_TERMINAL_STATES", "solved,verified", config.Load},
		{"a GGUS close state that fails a step", "PROCBOT_GGUS_FAILED_STATES", "unsolved,closed", config.Load},
		{"an RT close status that fails a step", "PROCBOT_RT_FAILED_STATES", "resolved", config.Load},
		{"a queue's failed statuses without a queue", "PROCBOT_RT_QUEUE_FAILED_STATES", "rejected", config.Load},
		{"a queue whose close path ends where a step fails", "PROCBOT_RT_QUEUE_FAILED_STATES", "Requirements=resolved", config.Load},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			minimal(t)
			t.Setenv(tc.variable, tc.value)
			_, err := tc.load()
			if err == nil || !strings.Contains(err.Error(), tc.variable) {
				t.Errorf("%s=%s: error %v, want one naming %s", tc.variable, tc.value, err, tc.variable)
			}
		})
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		in   string
		want config.Size
	}{
		{"4MiB", 4 << 20}, {"512KiB", 512 << 10}, {"1GiB", 1 << 30}, {"65536", 65536}, {"100B", 100}, {" 16MiB ", 16 << 20},
	}
	for _, tc := range tests {
		var s config.Size
		if err := s.Decode(tc.in); err != nil || s != tc.want {
			t.Errorf("%q: %d, %v; want %d", tc.in, s, err, tc.want)
		}
	}
	for _, bad := range []string{"4MB", "4 megabytes", "", "1.5MiB", "-1", "99999999999GiB"} {
		var s config.Size
		if err := s.Decode(bad); err == nil {
			t.Errorf("%q was taken as %d bytes", bad, s)
		}
	}
	if d := config.Defaults(); d.MaxAnswer != 4<<20 || d.MaxArticleAnswer != 16<<20 {
		t.Errorf("default sizes %s and %s, want 4MiB and 16MiB", d.MaxAnswer, d.MaxArticleAnswer)
	}
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

// TestLifecyclesByQueue: a queue's close status is the end of its close
// path, its terminal statuses its own; other queues keep the defaults.
func TestLifecyclesByQueue(t *testing.T) {
	minimal(t)
	t.Setenv("PROCBOT_RT_CLOSE_PATHS", " Requirements = accepted > in progress > done ;")
	t.Setenv("PROCBOT_RT_QUEUE_TERMINAL_STATES", "requirements=done, rejected;ARGO Monitoring=resolved")
	c, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := c.RT.Paths()
	if err != nil {
		t.Fatal(err)
	}
	terminal, err := c.RT.QueueTerminals()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		queue, close string
		terminal     []string
	}{
		{"Requirements", "done", []string{"done", "rejected"}},
		{"REQUIREMENTS", "done", []string{"done", "rejected"}},
		{"ARGO Monitoring", "resolved", []string{"resolved"}},
		{"PROC19 Integration", "resolved", []string{"resolved", "rejected"}},
	} {
		if got := c.RT.CloseStateOf(paths, tc.queue); got != tc.close {
			t.Errorf("close status of %q = %q, want %q", tc.queue, got, tc.close)
		}
		if got := c.RT.TerminalOf(terminal, tc.queue); !slices.Equal(got, tc.terminal) {
			t.Errorf("terminal statuses of %q = %q, want %q", tc.queue, got, tc.terminal)
		}
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
		{"a queue whose close path ends at a status of its own that completes a step there", func(c *config.Config) {
			c.RT.ClosePaths, c.RT.QueueTerminal = "Requirements=accepted>in progress>done", "requirements=done,rejected"
		}, ""},
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
