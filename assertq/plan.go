// plan.go holds the shared plan-check machinery: plan state, the plan options, running a check over each plan.

package assertq

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dbsuite/dbsuite/internal/failure"
)

// planState is what a Recorder keeps for plan checks.
type planState struct {
	sources map[any]*planSource // by entry.src; guarded by Recorder.mu

	mu       sync.Mutex
	plans    map[planKey]*explained    // per database and fingerprint
	analyzed map[string]float64        // database + table -> changes counted when assertq ran ANALYZE on it
	verdicts map[planKey]*shapeVerdict // Preflight: the plan checks' verdict on each statement shape
}

type planKey struct{ db, fp string }

type planConfig struct {
	factor    float64
	minRows   float64
	maxItems  int
	maxParams int
	only      []Filter
	opts      []string // the options as written, for String
}

// planOption returns an Option of the plan checks.
func planOption(name string, set func(*planConfig)) Option {
	return &option{name: name, where: forPlan, set: func(o *options) { set(&o.plan) }}
}

// Factor sets how many times the largest table under a join its estimated rows may be before [NoRowExplosion]
// flags it. Default: 10.
func Factor(f float64) Option {
	return planOption(fmt.Sprintf("Factor(%g)", f), func(c *planConfig) { c.factor = f })
}

// MinRows sets the row floor of a plan check: [NoRowExplosion] flags no join estimated below it (default 10,000,
// so that a tiny legitimate cross join passes); [NoSeqScan] flags no sequential scan of a table with fewer rows
// (default 10,000).
func MinRows(n float64) Option {
	return planOption(fmt.Sprintf("MinRows(%g)", n), func(c *planConfig) { c.minRows = n })
}

// MaxItems sets how many items an IN (...) list, an array argument (= ANY($1)) or a VALUES list may hold before
// [NoLongLists] flags it. Default: 1,000.
func MaxItems(n int) Option {
	return planOption(fmt.Sprintf("MaxItems(%d)", n), func(c *planConfig) { c.maxItems = n })
}

// MaxParams sets how many bind parameters one statement may have before [NoLongLists] flags it. Default: 10,000
// (PostgreSQL refuses more than 65,535).
func MaxParams(n int) Option {
	return planOption(fmt.Sprintf("MaxParams(%d)", n), func(c *planConfig) { c.maxParams = n })
}

// Only limits a plan check to the statements every filter selects (several kinds: any of them):
// NoSeqScan(Only(Delete, Table("deliveries"))).
func Only(filters ...Filter) Option {
	codes := make([]string, len(filters))
	for i, f := range filters {
		codes[i] = f.code()
	}
	return planOption("Only("+strings.Join(codes, ", ")+")", func(c *planConfig) { c.only = filters })
}

// newPlanConfig applies opts to the defaults. An option of New or ExpectScaling given to a plan check is a
// mistake in the test, found where the check is written: it panics, naming the option.
func newPlanConfig(opts []Option) planConfig {
	o := options{plan: planConfig{factor: 10, minRows: 10_000, maxItems: 1_000, maxParams: 10_000}}
	if err := o.apply(opts, forPlan); err != nil {
		panic(err.Error())
	}
	return o.plan
}

func (c planConfig) name(check string) string { return check + "(" + strings.Join(c.opts, ", ") + ")" }

// planCheck is a Check that reads each statement shape's plan.
type planCheck interface {
	Check
	config() planConfig
	judge(q *Query, p *explained) []error
}

// checkPlans explains each statement shape of qs once and hands its plan to c. A statement with no plan is a
// violation that says why; a statement that failed when it ran and cannot be explained either is left out.
func checkPlans(qs Queries, c planCheck) error {
	cfg := c.config()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var ss sessions
	defer ss.close()
	var errs []error
	seen := map[planKey]bool{}
	for i := range qs {
		q := &qs[i]
		if !explainable(q) || !matchAll(q, cfg.only) {
			continue
		}
		if q.plan == nil {
			k := planKey{"", q.Fingerprint}
			if !seen[k] {
				seen[k] = true
				errs = append(errs, noPlan(c, q, errors.New("the query was not recorded by a Recorder that knows its connection (built by hand, or copied from another run)")))
			}
			continue
		}
		k := planKey{q.plan.database(), q.Fingerprint}
		if seen[k] {
			continue
		}
		seen[k] = true
		p, err := q.plan.rec.planFor(ctx, &ss, q, true)
		if err != nil {
			if q.Err != nil && !errors.Is(err, ErrPreflight) && !errors.Is(q.Err, ErrPreflight) {
				continue // it failed when it ran: nothing ran to check
			}
			errs = append(errs, noPlan(c, q, err))
			continue
		}
		errs = append(errs, c.judge(q, p)...)
	}
	return errors.Join(errs...)
}

// noPlan is the violation of a statement that could not be explained.
func noPlan(c Check, q *Query, err error) error {
	fix := "plan checks need the PostgreSQL the statement ran on: run this test on a real database (containers.Postgres(t).Database(t)), or leave " + c.String() + " out of it"
	if errors.Is(err, errSideTemp) {
		fix = "plan checks explain in the code's session only inside its open transaction: run the statements over temporary tables in a transaction still open when the check runs, or check them with assertq.Preflight, which explains before each statement in its own session"
	}
	return &failure.Error{
		Pkg:      "assertq",
		Headline: "no plan for a statement, want its plan checked by " + c.String(),
		Details:  []string{"why: " + err.Error(), statementLine(q)},
		Fixes:    []string{fix},
		Err:      err,
	}
}

// statementLine shows a statement and where it was called in a detail.
func statementLine(q *Query) string {
	site := q.Caller.String()
	if q.Caller == (Frame{}) {
		site = "call site unknown"
	}
	return "statement: " + clip(q.Fingerprint, maxFingerprint) + "\n  at " + site
}
