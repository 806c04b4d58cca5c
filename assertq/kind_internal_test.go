package assertq

import (
	"testing"

	"github.com/dbsuite/dbsuite/internal/fingerprint"
)

func TestKindsMatchFingerprint(t *testing.T) {
	t.Parallel()
	pairs := map[fingerprint.Kind]Kind{
		fingerprint.Other: Other, fingerprint.Select: Select, fingerprint.Insert: Insert,
		fingerprint.Update: Update, fingerprint.Delete: Delete, fingerprint.Transaction: Transaction,
	}
	for fk, k := range pairs {
		if kindOf(fk) != k {
			t.Errorf("kindOf(%d) = %s, want %s", fk, kindOf(fk), k)
		}
	}
}
