//go:build !unix

package containers

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Templates are kept across runs only with a local server, which needs a
// Unix system.

type keepPlan struct{}

func (s *Server) planKeep(context.Context, *pgx.Conn) keepPlan                 { return keepPlan{} }
func (s *Server) saveKept(context.Context, *pgx.Conn, string, keepPlan) string { return "" }
func (s *Server) restoreKept(context.Context, *pgx.Conn, string) bool          { return false }
