// Command procbot runs EGI operations procedures (PROC19 and others)
// through the GGUS helpdesk and Request Tracker.
//
//	procbot run                 the daemon, configured by PROCBOT_* variables
//	procbot validate [FILE...]  check procedure definitions
//	procbot rebuild             re-read everything from the trackers
//	procbot digest --dry-run    print the weekly digests that would go out now
//	procbot demo [--db FILE]    a whole PROC19 against local simulators
//	procbot bench [-n 1,10,100] procbot's costs against local simulators
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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/bench"
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
  procbot check                check the settings against the live trackers
  procbot validate [FILE...]   check procedure files (default: the built-in ones)
  procbot demo [--db FILE]     run a whole PROC19 against local GGUS and RT simulators
  procbot bench [-n 1,10,100]  measure procbot with N live procedures against local simulators

procbot COMMAND --help describes a command.
`

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// A command is one of procbot's subcommands.
type command struct {
	args    string // what follows the name in the usage line
	summary string
	// flags defines the command's flags on fs and returns what runs it.
	flags func(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"run": {"", "run the daemon (settings: PROCBOT_* variables, see README); SIGTERM or SIGINT finishes the cycle under way and stops, a second one stops at once",
		func(*flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			return func(_ []string, _, stderr io.Writer) error { return runDaemon(stderr) }
		}},
	"rebuild": {"", "re-read every request and child from the trackers (after a lost database)",
		func(*flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			return func(_ []string, _, stderr io.Writer) error { return rebuild(stderr) }
		}},
	"digest": {"--dry-run | --send-now", "print the weekly digests that would go out now, per recipient, or send them now",
		func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			dryRun := fs.Bool("dry-run", false, "print the digests that would go out now; send nothing")
			sendNow := fs.Bool("send-now", false, "send the digests now, whatever the schedule")
			return func(_ []string, stdout, stderr io.Writer) error { return digestCmd(*dryRun, *sendNow, stdout, stderr) }
		}},
	"check": {"", "check the settings against the live trackers: credentials, that procbot may create tickets in every route's group or queue, GGUS's states, RT's time zone; prints a table and exits 1 on a problem",
		func(*flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			return func(_ []string, stdout, stderr io.Writer) error { return check(stdout, stderr) }
		}},
	"validate": {"[FILE...]", "check procedure files (default: the built-in ones)",
		func(*flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			return func(args []string, stdout, _ io.Writer) error { return validate(args, stdout) }
		}},
	"demo": {"[--db FILE] [--product NAME] [--scenario cancel]", "run a whole PROC19 against local GGUS and RT simulators",
		func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			db := fs.String("db", "", "keep the demo's database in `FILE` (default: a temporary file)")
			product := fs.String("product", "FooStack", "`NAME` of the product the demo integrates")
			scenario := fs.String("scenario", "", "`NAME` of another scenario: cancel (an operator cancels the request while it runs)")
			return func(_ []string, stdout, _ io.Writer) error { return runDemo(*db, *product, *scenario, stdout) }
		}},
	"bench": {"[-n 1,10,100,1000] [-cycles 7]", "measure procbot with N live procedures against local GGUS and RT simulators, beside a naive poller that re-reads every ticket each cycle, and print the figures as one table",
		func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			sizes := fs.String("n", "1,10,100,1000", "`SIZES`: comma-separated numbers of live procedures to measure")
			cycles := fs.Int("cycles", 7, "idle cycles measured per size (the median is printed)")
			return func(_ []string, stdout, stderr io.Writer) error { return runBench(*sizes, *cycles, stdout, stderr) }
		}},
}

// takesFiles are the commands that take arguments besides flags.
var takesFiles = map[string]bool{"validate": true}

// Main runs one procbot command and returns its exit code: 0 done, 1
// failed, 2 misused (an unknown command, flag or argument).
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "procbot: unknown command %q\n\n%s", name, usage)
		return 2
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // help goes to stdout, below
	run := cmd.flags(fs)
	err := fs.Parse(args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		help(stdout, name, cmd, fs)
		return 0
	case err != nil: // the flag package has named the problem
		fmt.Fprintf(stderr, "procbot %s --help shows its usage\n", name)
		return 2
	case fs.NArg() > 0 && !takesFiles[name]:
		fmt.Fprintf(stderr, "procbot %s: unexpected argument %q; procbot %s --help shows its usage\n", name, fs.Arg(0), name)
		return 2
	}
	if err := run(fs.Args(), stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "procbot %s: %v\n", name, err)
		return 1
	}
	return 0
}

func help(w io.Writer, name string, cmd command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: procbot %s %s\n\n%s\n", name, cmd.args, cmd.summary)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// signals returns a context that ends on the first SIGTERM or SIGINT; a
// second one calls abort, if set by then. stop releases the signals.
func signals() (ctx context.Context, setAbort func(func()), stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	var mu sync.Mutex
	var abort func()
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			mu.Lock()
			a := abort
			mu.Unlock()
			if a != nil {
				a()
			}
		case <-done:
		}
	}()
	setAbort = func(f func()) {
		mu.Lock()
		abort = f
		mu.Unlock()
	}
	stop = func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
	return ctx, setAbort, stop
}

// start reads the settings and wires procbot, with a context that ends on
// SIGTERM or SIGINT; a second signal aborts the app. The caller closes the
// app and calls stop.
func start(stderr io.Writer) (ctx context.Context, stop func(), a *app.App, err error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, nil, nil, err
	}
	log, err := app.Logger(cfg, stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, setAbort, stop := signals()
	if a, err = app.New(ctx, cfg, log, app.Options{}); err != nil {
		stop()
		return nil, nil, nil, err
	}
	setAbort(a.Abort)
	return ctx, stop, a, nil
}

func runDaemon(stderr io.Writer) error {
	ctx, stop, a, err := start(stderr)
	if err != nil {
		return err
	}
	defer stop()
	defer a.Close()
	a.LogCheck(ctx)
	return a.Run(ctx)
}

func check(stdout, stderr io.Writer) error {
	ctx, stop, a, err := start(stderr)
	if err != nil {
		return err
	}
	defer stop()
	defer a.Close()
	problems, err := app.PrintCheck(stdout, a.Check(ctx))
	if err != nil {
		return err
	}
	if problems > 0 {
		return fmt.Errorf("%d problems", problems)
	}
	return nil
}

func rebuild(stderr io.Writer) error {
	ctx, stop, a, err := start(stderr)
	if err != nil {
		return err
	}
	defer stop()
	defer a.Close()
	// A rebuild reads every ticket: a tracker that does not answer would
	// leave its part of the record missing.
	if err := a.Connect(ctx); err != nil {
		return fmt.Errorf("a rebuild needs every configured tracker: %w", err)
	}
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

func digestCmd(dryRun, sendNow bool, stdout, stderr io.Writer) error {
	if dryRun == sendNow {
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
	db, err := bolt.Open(cfg.DBPath, bolt.Options{ReadOnly: dryRun})
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := app.MailRoom(cfg, db, procs, log, nil)
	if err != nil {
		return err
	}
	now := time.Now()
	if dryRun {
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
		path, total := p.CriticalPath()
		var steps []string
		for _, id := range path {
			steps = append(steps, fmt.Sprintf("%s (%d d)", id, int(p.Due(id).Hours()/24)))
		}
		fmt.Fprintf(stdout, "  critical path: %s\n  earliest completion: %d days after the request, if every step takes its due_days\n",
			strings.Join(steps, " → "), int(total.Hours()/24))
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

func runDemo(db, product, scenario string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return demo.Run(ctx, demo.Options{DBPath: db, Product: product, Scenario: scenario, Out: stdout})
}

// benchEnv is added to the environment of the procbot run processes that
// procbot bench measures; the tests set it so that their binary acts as
// procbot.
var benchEnv []string

func runBench(sizes string, cycles int, stdout, stderr io.Writer) error {
	var ns []int
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-n %s: %q is not a number of live procedures (1 or more)", sizes, f)
		}
		ns = append(ns, n)
	}
	if cycles < 1 {
		return fmt.Errorf("-cycles %d: measure at least 1 idle cycle", cycles)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the procbot executable, to measure procbot run: %w", err)
	}
	rows, err := bench.Run(ctx, bench.Options{Sizes: ns, Cycles: cycles, Progress: stderr, Log: stderr,
		Procbot: self, ProcbotEnv: benchEnv})
	if len(rows) > 0 {
		if perr := bench.Print(stdout, rows); perr != nil {
			err = errors.Join(err, perr)
		}
	}
	return err
}
