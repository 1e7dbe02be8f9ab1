package app_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/demo"
)

// TestCheck: procbot check against the demo's trackers passes; a route to
// a group GGUS does not have, one to a queue RT does not have and a close
// state GGUS does not know are each a problem naming what is wrong.
func TestCheck(t *testing.T) {
	env, err := demo.NewEnv("")
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	run := func(t *testing.T, cfg config.Config) (string, int) {
		t.Helper()
		a, err := app.New(context.Background(), cfg, zerolog.Nop(), app.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		var out bytes.Buffer
		problems, err := app.PrintCheck(&out, a.Check(context.Background()))
		if err != nil {
			t.Fatal(err)
		}
		return out.String(), problems
	}
	t.Run("the demo's settings pass", func(t *testing.T) {
		out, problems := run(t, env.Config)
		if problems != 0 {
			t.Errorf("%d problems:\n%s", problems, out)
		}
		for _, want := range []string{"credentials", "route", "states", "time zone", "operator"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %s check in:\n%s", want, out)
			}
		}
	})
	t.Run("an operator who is no user is a problem", func(t *testing.T) {
		cfg := env.Config
		cfg.Operators = append(slices.Clone(cfg.Operators), "nobody@nowhere.example")
		out, problems := run(t, cfg)
		if problems != 1 || !strings.Contains(out, "nobody@nowhere.example") || !strings.Contains(out, "no tracker has a user") {
			t.Errorf("%d problems, want 1 naming nobody@nowhere.example:\n%s", problems, out)
		}
	})
	t.Run("wrong routes and a wrong state are problems", func(t *testing.T) {
		cfg := env.Config
		cfg.Routes = "gocdb=ggus:No::Such Group;argo=rt:No Such Queue"
		cfg.GGUS.CloseState = "archived"
		out, problems := run(t, cfg)
		if problems != 3 {
			t.Errorf("%d problems, want 3:\n%s", problems, out)
		}
		for _, want := range []string{"No::Such Group", "No Such Queue", `no state "archived"`} {
			if !strings.Contains(out, want) {
				t.Errorf("%q not named:\n%s", want, out)
			}
		}
	})
}
