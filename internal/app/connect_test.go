package app_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/demo"
	"github.com/procbot/procbot/internal/rt"
	"github.com/procbot/procbot/internal/testlog"
)

// TestStartWithATrackerDown: GGUS refusing connections, or not answering
// in time, at start-up does not stop procbot; once GGUS is back, the next
// cycle uses it.
func TestStartWithATrackerDown(t *testing.T) {
	for _, down := range []string{"connection refused", "timeout"} {
		t.Run(down, func(t *testing.T) {
			t.Parallel()
			env, err := demo.NewEnv("")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(env.Close)
			parent, err := env.FileRequest(context.Background(), "FooStack", true)
			if err != nil {
				t.Fatal(err)
			}
			sim, _ := url.Parse(env.GGUS.URL())
			proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: sim.Scheme, Host: sim.Host})
			back := make(chan struct{})
			var addr string
			switch down {
			case "connection refused":
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr = ln.Addr().String()
				ln.Close() // nothing listens there until GGUS is back
			case "timeout":
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-back:
						proxy.ServeHTTP(w, r)
					case <-r.Context().Done():
					}
				}))
				t.Cleanup(srv.Close)
				addr = srv.Listener.Addr().String()
			}

			cfg := env.Config
			cfg.GGUS.URL = "http://" + addr + sim.Path
			cfg.GGUS.Timeout, cfg.PollInterval = time.Second, time.Second
			log := &testlog.Buffer{}
			a, err := app.New(context.Background(), cfg, zerolog.New(log), app.Options{})
			if err != nil {
				t.Fatalf("start-up with GGUS down (%s) failed: %v", down, err)
			}
			t.Cleanup(func() { a.Close() })
			if strings.Contains(log.String(), "PROCBOT_GGUS_TOKEN") {
				t.Errorf("the log blames the token for GGUS being down:\n%s", log.String())
			}
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- a.Run(ctx) }()
			<-log.Written(`"tracker":"ggus","failed_cycles":1`) // a cycle ran without GGUS

			switch down {
			case "connection refused":
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Skipf("the port GGUS was on is taken: %v", err)
				}
				srv := httptest.NewUnstartedServer(proxy)
				srv.Listener.Close()
				srv.Listener = ln
				srv.Start()
				t.Cleanup(srv.Close)
			case "timeout":
				close(back)
			}
			<-log.Written("GGUS answers")
			<-log.Written("posted status note")
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			arts, err := env.Operator.Articles(context.Background(), parent.Ref.ID)
			if err != nil || len(arts) != 2 {
				t.Errorf("%d articles on the request (%v), want the request and procbot's status note", len(arts), err)
			}
		})
	}
}

// TestRefusedCredentialsFailStartUp: a 401 or 403 at start-up fails,
// naming the variable with the credentials.
func TestRefusedCredentialsFailStartUp(t *testing.T) {
	tests := []struct {
		name, want string
		change     func(*config.Config, string)
	}{
		{"GGUS answers 401", "PROCBOT_GGUS_TOKEN", func(c *config.Config, url string) { c.GGUS.URL = url }},
		{"GGUS answers 403", "PROCBOT_GGUS_TOKEN", func(c *config.Config, url string) { c.GGUS.URL = url }},
		{"RT answers 401", "PROCBOT_RT_TOKEN", func(c *config.Config, url string) { c.RT.URL = url }},
		{"RT answers 403", "PROCBOT_RT_TOKEN", func(c *config.Config, url string) { c.RT.URL = url }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code := http.StatusUnauthorized
			if strings.HasSuffix(tc.name, "403") {
				code = http.StatusForbidden
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(code)
				w.Write([]byte(`{"error":"refused"}`))
			}))
			defer srv.Close()
			env, err := demo.NewEnv("")
			if err != nil {
				t.Fatal(err)
			}
			defer env.Close()
			cfg := env.Config
			tc.change(&cfg, srv.URL+"/api")
			_, err = app.New(context.Background(), cfg, zerolog.Nop(), app.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("start-up: %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

// TestWrongRTTimeZoneIsFound: RT reads TicketSQL times in its own zone,
// which REST 2.0 does not tell. A PROCBOT_RT_TIMEZONE that RT proves wrong
// fails start-up naming the setting and RT's offset; when procbot may see
// no ticket yet to prove it with, it starts, and stops using RT once a
// ticket proves the setting wrong.
func TestWrongRTTimeZoneIsFound(t *testing.T) {
	newTicket := func(t *testing.T, env *demo.Env) {
		t.Helper()
		cfg := env.Config
		c, err := rt.New(rt.Config{URL: cfg.RT.URL, Token: cfg.RT.Token.Reveal(), User: cfg.RT.User, Password: cfg.RT.Password.Reveal()})
		if err != nil {
			t.Fatal(err)
		}
		queue := ""
		for id := range env.Proc.InOrder() {
			if r := env.Proc.RouteOf(id); r.Tracker == core.TrackerRT {
				queue = r.Queue
			}
		}
		if _, err := c.Create(context.Background(), core.NewTicket{Queue: queue, Title: "a ticket to prove the zone with", Body: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	env, err := demo.NewEnv("")
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	cfg := env.Config
	cfg.RT.TimeZone = "Asia/Tokyo" // the simulator runs in UTC
	t.Run("with no ticket to prove it, procbot starts", func(t *testing.T) {
		var later atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(later.Load())) }
		a, err := app.New(context.Background(), cfg, zerolog.Nop(), app.Options{Now: now})
		if err != nil {
			t.Fatalf("start-up: %v", err)
		}
		defer a.Close()
		newTicket(t, env)
		if err := a.Connect(context.Background()); err != nil {
			t.Errorf("right after start-up: %v; an unproven zone is tried again only after a while", err)
		}
		later.Store(int64(11 * time.Minute))
		err = a.Connect(context.Background())
		if err == nil || !strings.Contains(err.Error(), "PROCBOT_RT_TIMEZONE") || !strings.Contains(err.Error(), "UTC+00:00") {
			t.Errorf("once a ticket proves the zone wrong: %v, want an error naming PROCBOT_RT_TIMEZONE and UTC+00:00", err)
		}
	})
	t.Run("a wrong zone fails start-up", func(t *testing.T) {
		_, err := app.New(context.Background(), cfg, zerolog.Nop(), app.Options{})
		if err == nil || !strings.Contains(err.Error(), "PROCBOT_RT_TIMEZONE") || !strings.Contains(err.Error(), "UTC+00:00") {
			t.Errorf("start-up: %v, want an error naming PROCBOT_RT_TIMEZONE and RT's offset UTC+00:00", err)
		}
	})
	t.Run("the right zone starts", func(t *testing.T) {
		right := env.Config
		a, err := app.New(context.Background(), right, zerolog.Nop(), app.Options{})
		if err != nil {
			t.Fatalf("start-up with RT's own zone %s: %v", right.RT.TimeZone, err)
		}
		a.Close()
	})
}
