package assertq

import (
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

// TestLongListArgumentsMeasured checks that NoLongLists sees an array
// argument however the driver is handed it, and does not take a document
// that holds a slice for a list.
func TestLongListArgumentsMeasured(t *testing.T) {
	ids := make([]int64, 5000)
	type document struct{ Items []int64 } // for a jsonb column
	tests := []struct {
		name string
		arg  any
		want int
	}{
		{"slice", ids, 5000},
		{"pointer to a slice", &ids, 5000},
		{"pgtype.Array", pgtype.Array[int64]{Elements: ids, Dims: []pgtype.ArrayDimension{{Length: 5000, LowerBound: 1}}, Valid: true}, 5000},
		{"pgtype.FlatArray", pgtype.FlatArray[int64](ids), 5000},
		{"bytes", make([]byte, 5000), 0},
		{"a document holding a slice", document{Items: ids}, 0},
		{"nil pointer", (*[]int64)(nil), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := measureLists(&Query{SQL: "SELECT * FROM item WHERE kind = $1 AND id = ANY($2)", Args: []any{"x", tt.arg}})
			if l.arg != tt.want {
				t.Fatalf("longest array argument = %d, want %d", l.arg, tt.want)
			}
			if tt.want > 0 && l.argIndex != 2 {
				t.Fatalf("argument position = $%d, want $2", l.argIndex)
			}
		})
	}
}
