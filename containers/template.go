package containers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbsuite/dbsuite/internal/dsn"
)

// Template is a template database that [Server.Database] clones: built
// once by SetupTemplate (schema, views, seed data) into an empty database,
// and reused for as long as its name and hash stay the same — across test
// binaries, and across runs on a server that outlives them. A
// *fixtures.DataSet is one; [NewTemplate] makes one from a function.
type Template interface {
	// TemplateName names the template in logs and in the database name:
	// letters, digits and underscores.
	TemplateName() string
	// TemplateHash must change whenever what SetupTemplate builds changes:
	// a hash of the migration files, of the schema text, of the seed's
	// parameters. [HashOf] computes one.
	TemplateHash() string
	// SetupTemplate builds the template's content on a connection to an
	// empty database. For a migration tool that wants a connection string,
	// use conn.Config().ConnString().
	SetupTemplate(ctx context.Context, conn *pgx.Conn) error
}

// NewTemplate returns a [Template] named name, keyed by hash, that setup
// builds: for templates that are not a fixtures data set, such as the
// output of a migration tool.
func NewTemplate(name, hash string, setup func(ctx context.Context, conn *pgx.Conn) error) Template {
	return funcTemplate{name: name, hash: hash, setup: setup}
}

type funcTemplate struct {
	name, hash string
	setup      func(ctx context.Context, conn *pgx.Conn) error
}

func (f funcTemplate) TemplateName() string { return f.name }
func (f funcTemplate) TemplateHash() string { return f.hash }
func (f funcTemplate) SetupTemplate(ctx context.Context, conn *pgx.Conn) error {
	if f.setup == nil {
		return errors.New("NewTemplate was given a nil setup function")
	}
	return f.setup(ctx, conn)
}

// HashOf returns a short hex hash of its arguments, for
// [Template.TemplateHash].
func HashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\x00", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

type templateEntry struct {
	once sync.Once
	name string
	how  string // what getting it took, for the log line of the first test
	err  error
}

var templateNameRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// templatePrefix is the start of the database names of every version of
// the template named tname.
func templatePrefix(tname string) string {
	slug := strings.ToLower(tname)
	if len(slug) > 30 {
		slug = slug[:30]
	}
	return "dbsuite_tpl_" + slug + "_"
}

// template returns the database to clone for t, building it first if
// needed: once per process (sync.Once), once per server across processes
// (an advisory lock, and datistemplate as the mark of a finished build),
// and on a local server once per content hash across runs (kept in the
// cache). note says, to the first caller only, how it was had.
func (s *Server) template(ctx context.Context, t Template) (name, note string, err error) {
	if t == nil {
		return "template1", "", nil
	}
	tname, thash := t.TemplateName(), t.TemplateHash()
	switch {
	case !templateNameRE.MatchString(tname):
		return "", "", fmt.Errorf("containers: template name %q: want letters, digits and underscores", tname)
	case thash == "":
		return "", "", fmt.Errorf("containers: template %q has no hash: make TemplateHash return something that changes when what SetupTemplate builds changes, such as containers.HashOf(schemaSQL)", tname)
	}
	name = templatePrefix(tname) + HashOf(tname, thash)[:12]
	s.mu.Lock()
	if s.templates == nil {
		s.templates = map[string]*templateEntry{}
	}
	e, ok := s.templates[name]
	if !ok {
		e = &templateEntry{name: name}
		s.templates[name] = e
	}
	s.mu.Unlock()
	first := false
	e.once.Do(func() {
		first = true
		// The template outlives the test that first asks for it.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
		defer cancel()
		e.how, e.err = s.buildTemplate(bctx, t, name)
	})
	if first && e.err == nil {
		note = fmt.Sprintf("containers: template %s (%s): %s", tname, name, e.how)
	}
	if e.err == nil {
		s.touchTemplate(ctx, name)
	}
	return e.name, note, e.err
}

// buildTemplate makes the template database name, unless another test
// binary did: restored from the cache when a run before kept it, else
// built by t.SetupTemplate (and kept for the next run). It says which.
func (s *Server) buildTemplate(ctx context.Context, t Template, name string) (string, error) {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return "", s.errorf("containers: template %q: connect: %v", t.TemplateName(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// Another test binary may be building it: wait for it.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", "dbsuite-template:"+name); err != nil {
		return "", s.errorf("containers: template %q: lock: %v", t.TemplateName(), err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1))", "dbsuite-template:"+name)
	var done bool
	err = conn.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&done)
	if err == nil && done {
		return "reused (built earlier on this server)", nil
	}
	ident := pgx.Identifier{name}.Sanitize()
	drop := func() { _ = dropDB(context.WithoutCancel(ctx), conn, name) }
	drop() // a build that died halfway
	seal := func() error {
		// Sealed: no one can connect to it by mistake and block the clones.
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
			return err
		}
		_, err := conn.Exec(ctx, markUsed(name))
		return err
	}
	t0 := time.Now()
	if s.restoreKept(ctx, conn, name) && seal() == nil {
		return fmt.Sprintf("reused: restored from the cache in %v (built by an earlier run; its hash is unchanged)",
			time.Since(t0).Round(time.Millisecond)), nil
	}
	drop()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", s.errorf("containers: template %q: CREATE DATABASE %s: %v", t.TemplateName(), name, err)
	}
	tdsn, err := dsn.WithDatabase(s.dsn, name)
	if err != nil {
		drop()
		return "", s.errorf("containers: %v", err)
	}
	tconn, err := pgx.Connect(ctx, tdsn)
	if err != nil {
		drop()
		return "", s.errorf("containers: template %q: connect: %v", t.TemplateName(), err)
	}
	t0 = time.Now()
	serr := t.SetupTemplate(ctx, tconn)
	took := time.Since(t0).Round(time.Millisecond)
	var keep keepPlan
	if serr == nil {
		keep = s.planKeep(ctx, tconn)
	}
	tconn.Close(context.WithoutCancel(ctx))
	if serr != nil {
		drop()
		return "", s.errorf("containers: template %q: SetupTemplate failed after %v: %v", t.TemplateName(), took, serr)
	}
	// Its clones start with its relation cache, which planKeep's VACUUM
	// or SetupTemplate may have removed (relcache.go). A hint: a template
	// that refuses the connection (CONNECTION LIMIT 0, REVOKE CONNECT)
	// still clones, so its refusal is not the build's failure.
	_ = primeRelcache(ctx, tdsn)
	if err := seal(); err != nil {
		drop()
		return "", s.errorf("containers: template %q: %v", t.TemplateName(), err)
	}
	how := fmt.Sprintf("rebuilt: SetupTemplate took %v", took)
	if note := s.saveKept(ctx, conn, name, keep); note != "" {
		how += "; " + note
	}
	s.dropStaleTemplates(ctx, conn, name)
	return how, nil
}
