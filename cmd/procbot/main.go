// Command procbot runs EGI operations procedures (PROC19 and others)
// through the GGUS helpdesk and Request Tracker.
//
//	procbot run                 the daemon, configured by PROCBOT_* variables
//	procbot validate [FILE...]  check procedure definitions
//	procbot rebuild             re-read everything from the trackers
//	procbot digest --dry-run    print the weekly digests that would go out now
//	procbot demo [--db FILE]    a whole PROC19 against local simulators
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	netmail "net/mail"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/bolt"
	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/demo"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/templates"
)

const usage = `procbot runs EGI operations procedures through ticket systems.

Usage:
  procbot run                  run the daemon (settings: PROCBOT_* variables, see README)
  procbot rebuild              re-read every request and child from the trackers (after a lost database)
  procbot digest --dry-run     print the weekly digests that would go out now, per recipient
  procbot digest --send-now    send them now
  procbot validate [FILE...]   check procedure files (default: the built-in ones)
  procbot demo [--db FILE]     run a whole PROC19 against local GGUS and RT simulators
`

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs one procbot command and returns its exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = runDaemon(stderr)
	case "rebuild":
		err = rebuild(stderr)
	case "digest":
		err = digestCmd(args[1:], stdout, stderr)
	case "validate":
		err = validate(args[1:], stdout)
	case "demo":
		err = runDemo(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "procbot: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "procbot %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// start reads the settings and wires procbot, with a context that ends on
// SIGTERM or SIGINT. The caller closes the app and calls stop.
func start(stderr io.Writer) (ctx context.Context, stop func(), a *app.App, err error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, nil, nil, err
	}
	log, err := app.Logger(cfg, stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, stop = signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	if a, err = app.New(ctx, cfg, log, app.Options{}); err != nil {
		stop()
		return nil, nil, nil, err
	}
	return ctx, stop, a, nil
}

func runDaemon(stderr io.Writer) error {
	ctx, stop, a, err := start(stderr)
	if err != nil {
		return err
	}
	defer stop()
	defer a.Close()
	cfg, log := a.Config, a.Log
	log.Info().Str("db", cfg.DBPath).Dur("poll_interval", cfg.PollInterval).Bool("dry_run", cfg.DryRun).Msg("procbot started")
	var mailDone sync.WaitGroup
	if !cfg.DryRun {
		mailDone.Add(1)
		go func() {
			defer mailDone.Done()
			if err := a.Mail.Run(ctx); err != nil {
				log.Error().Err(err).Msg("weekly digest stopped")
			}
		}()
	}
	err = a.Daemon.Run(ctx, cfg.PollInterval)
	mailDone.Wait() // a digest run under way finishes
	log.Info().Msg("procbot stopped")
	return err
}

func rebuild(stderr io.Writer) error {
	ctx, stop, a, err := start(stderr)
	if err != nil {
		return err
	}
	defer stop()
	defer a.Close()
	if err := a.Daemon.Rebuild(ctx); err != nil {
		return err
	}
	insts, err := a.Store.Instances()
	if err != nil {
		return err
	}
	open := 0
	for _, inst := range insts {
		if inst.Pending() {
			open++
		}
	}
	a.Log.Info().Int("requests", len(insts)).Int("open", open).Msg("rebuilt from the trackers")
	return nil
}

func digestCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("digest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dryRun := fs.Bool("dry-run", false, "print the digests that would go out now; send nothing")
	sendNow := fs.Bool("send-now", false, "send the digests now, whatever the schedule")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dryRun == *sendNow {
		return errors.New("give one of --dry-run and --send-now")
	}
	cfg, err := config.LoadMail()
	if err != nil {
		return err
	}
	log, err := app.Logger(cfg, stderr)
	if err != nil {
		return err
	}
	procs, err := app.Procedures(cfg.Procedures, cfg.Routes)
	if err != nil {
		return err
	}
	db, err := bolt.Open(cfg.DBPath, bolt.Options{ReadOnly: *dryRun})
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := app.MailRoom(cfg, db, procs, log, nil)
	if err != nil {
		return err
	}
	now := time.Now()
	if *dryRun {
		previews, err := m.Previews(now)
		if err != nil {
			return err
		}
		if len(previews) == 0 {
			fmt.Fprintln(stdout, "No digest would go out now: no open or recently completed procedure has a task force (PROCBOT_TASKFORCE adds members to all).")
		}
		for i, p := range previews {
			if i > 0 {
				fmt.Fprintln(stdout, strings.Repeat("=", 72))
			}
			fmt.Fprintf(stdout, "To: %s\nSubject: %s\n\n%s\n", (&netmail.Address{Name: p.To.Name, Address: p.To.Email}).String(), p.Subject, p.Text)
		}
		return nil
	}
	if m.Mailer == nil {
		return errors.New("no SMTP server: set PROCBOT_SMTP_HOST and PROCBOT_SMTP_FROM")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	res, err := m.SendDigests(ctx, now.Truncate(time.Minute))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "digests: %d sent, %d failed, %d already sent\n", res.Sent, res.Failed, res.Skipped)
	if res.Failed > 0 {
		return fmt.Errorf("%d digests could not be sent (see the log)", res.Failed)
	}
	return nil
}

func validate(files []string, stdout io.Writer) error {
	var errs []error
	check := func(name string, p *procedure.Procedure, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		fmt.Fprintf(stdout, "%s: %s %s, %d steps in %d areas: valid\n", name, p.ID, p.Version, len(p.Steps), len(p.Areas()))
	}
	if len(files) == 0 {
		for _, name := range templates.Names() {
			p, err := procedure.Embedded(name)
			check("built-in "+name, p, err)
		}
	}
	for _, f := range files {
		p, err := procedure.Load(f)
		check(f, p, err)
	}
	return errors.Join(errs...)
}

func runDemo(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	db := fs.String("db", "", "keep the demo's database in `FILE` (default: a temporary file)")
	product := fs.String("product", "FooStack", "name of the product the demo integrates")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return demo.Run(ctx, demo.Options{DBPath: *db, Product: *product, Out: stdout})
}
