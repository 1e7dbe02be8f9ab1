package demo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/rt"
	"github.com/procbot/procbot/internal/rt/rtsim"
	"github.com/procbot/procbot/internal/zammad"
	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

// Real-looking credentials of procbot's accounts.
const (
	secretGGUSToken  = "zmd_5f1c0a9e2b7d4c3a8e6f0b1d2c3e4f5a"
	secretRTToken    = "1-20-91d1ee74506c079b24fac189f840c9db"
	secretRTPassword = "Vq7#pL2x!Rt9-procbot"
)

// secretForms are the ways a credential could show: as is, its secret
// part, URL-escaped, base64-encoded, and the basic-auth header value.
func secretForms() []string {
	b64 := base64.StdEncoding.EncodeToString
	forms := []string{
		secretGGUSToken, strings.TrimPrefix(secretGGUSToken, "zmd_"),
		secretRTToken, secretRTToken[strings.LastIndexByte(secretRTToken, '-')+1:],
		secretRTPassword, url.QueryEscape(secretRTPassword),
		b64([]byte(rtRobot + ":" + secretRTPassword)),
	}
	for _, s := range []string{secretGGUSToken, secretRTToken, secretRTPassword} {
		forms = append(forms, b64([]byte(s)), base64.URLEncoding.EncodeToString([]byte(s)))
	}
	return forms
}

// TestSecretsNeverLogged runs the procedure with real-looking credentials
// and faults (401s among them, and RT down for two polls), with procbot
// logging at debug level, then searches its whole log, and every error its
// clients or the people met, for the credentials in every form they could
// take. procbot reaches RT with its token, its password being in its
// settings too; the clients are also made to fail with the password alone.
func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	sec := Secrets{GGUSToken: secretGGUSToken, RTToken: secretRTToken, RTPassword: secretRTPassword}
	res := runWithFaults(t, faultRun{Seed: 7, Secrets: sec, Extra401: true, Outages: true, Settings: func(c *config.Config) {
		c.RT.Password = config.Secret(secretRTPassword)
	}})
	checkCompleted(t, res)

	errs := append([]error(nil), res.errs...)
	errs = append(errs, clientErrors(t, res.env, sec, true)...)
	errs = append(errs, clientErrors(t, res.env, sec, false)...)

	// The log must hold errors of both trackers, refused logins among
	// them, or there would be little to search.
	log := string(res.log)
	for _, want := range []string{`"level":"warn","error":`, "ggus: ", "rt: ", core.ErrUnauthorized.Error()} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q: the test would not see a leak there", want)
		}
	}
	for _, s := range secretForms() {
		if strings.Contains(log, s) {
			t.Errorf("procbot's log contains the credential %q", s)
		}
		for _, err := range errs {
			if text := fmt.Sprintf("%v|%+v|%#v", err, err, err); strings.Contains(text, s) {
				t.Errorf("error contains the credential %q: %v", s, err)
			}
		}
	}
	t.Logf("%d log lines, %d errors searched; faults injected: ggus %d, rt %d", strings.Count(log, "\n"), len(errs), res.ggus, res.rt)
}

// clientErrors makes procbot's clients fail in every way the simulators
// know and returns the errors. rtToken: RT with the token, else with the
// user name and password.
func clientErrors(t *testing.T, env *Env, sec Secrets, rtToken bool) []error {
	t.Helper()
	ctx := context.Background()
	g, err := zammad.New(zammad.Config{URL: env.GGUS.URL(), Token: sec.GGUSToken, Timeout: 100 * time.Millisecond, ReadRetries: 1, RetryWait: time.Millisecond, RetryMaxWait: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rcfg := rt.Config{URL: env.RT.URL(), User: rtRobot, Password: sec.RTPassword, Timeout: 100 * time.Millisecond, ReadRetries: 1, RetryWait: time.Millisecond, RetryMaxWait: 2 * time.Millisecond}
	if rtToken {
		rcfg.Token = sec.RTToken
	}
	r, err := rt.New(rcfg)
	if err != nil {
		t.Fatal(err)
	}
	calls := []func() error{
		func() error { _, err := g.Get(ctx, "999999"); return err },
		func() error { _, err := g.Changed(ctx, "PROC19", time.Time{}); return err },
		func() error { return g.AddNote(ctx, "999999", "x", true) },
		func() error { _, err := r.Get(ctx, "999999"); return err },
		func() error { _, err := r.Changed(ctx, "PROC19", time.Time{}); return err },
		func() error { return r.AddNote(ctx, "999999", "x", true) },
	}
	var errs []error
	ggusKinds := []zammadsim.FaultKind{zammadsim.Fault401, zammadsim.Fault500, zammadsim.Fault502, zammadsim.Fault503, zammadsim.Fault429, zammadsim.FaultDrop, zammadsim.FaultSlow}
	rtKinds := []rtsim.FaultKind{rtsim.Fault401, rtsim.Fault500, rtsim.Fault502, rtsim.Fault503, rtsim.Fault429, rtsim.FaultDrop, rtsim.FaultSlow}
	for i := range ggusKinds {
		env.GGUS.SetFaults(zammadsim.Faults{Rate: 1, Kinds: ggusKinds[i : i+1], SlowDelay: time.Second})
		env.RT.SetFaults(rtsim.Faults{Rate: 1, Kinds: rtKinds[i : i+1], Delay: time.Second})
		for _, call := range calls {
			if err := call(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	env.GGUS.SetFaults(zammadsim.Faults{})
	env.RT.SetFaults(rtsim.Faults{})
	// Without faults: a missing ticket, and a refused login.
	for _, call := range calls {
		if err := call(); err != nil {
			errs = append(errs, err)
		}
	}
	badCfg := rcfg
	badCfg.Token, badCfg.Password = "", sec.RTPassword+"x"
	if !rtToken {
		badCfg.Token = sec.RTToken + "0"
	}
	bad, _ := rt.New(badCfg)
	if _, err := bad.Get(ctx, "1"); err != nil {
		errs = append(errs, err)
	}
	unauthorized := 0
	for _, err := range errs {
		if errors.Is(err, core.ErrUnauthorized) {
			unauthorized++
		}
	}
	if unauthorized == 0 {
		t.Error("no client error was a refused login")
	}
	return errs
}
