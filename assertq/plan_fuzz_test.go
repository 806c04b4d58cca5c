package assertq

import "testing"

// FuzzParsePlan: the EXPLAIN reader and the rules never panic on any input.
func FuzzParsePlan(f *testing.F) {
	f.Add(`[{"Plan": {"Node Type": "Nested Loop", "Join Type": "Inner", "Plan Rows": 25000000, "Plans": [
		{"Node Type": "Seq Scan", "Relation Name": "stores", "Schema": "public", "Alias": "s", "Plan Rows": 2},
		{"Node Type": "Hash Join", "Hash Cond": "(p.store_id = s.id)", "Plan Rows": 5000, "Plans": [
			{"Node Type": "Seq Scan", "Relation Name": "products", "Parent Relationship": "Outer", "Plan Rows": 5000}]}]}}]`)
	f.Add(`[{"Plan": {"Node Type": "Result"}}]`)
	f.Add(`[]`)
	f.Add(`{`)
	f.Fuzz(func(t *testing.T, raw string) {
		roots, err := parsePlan(raw)
		if err != nil {
			return
		}
		cfg := newPlanConfig(nil)
		cfg.minRows, cfg.factor = 0, 0
		for _, r := range roots {
			for _, x := range explosions(r, cfg) {
				_ = explosionError(rowExplosion{cfg}, &Query{Fingerprint: "SELECT ?"}, x, nil).Error()
			}
			walk(r, func(n *planNode) { _ = filterColumn(n.Filter) })
		}
	})
}

// FuzzMeasureLists: reading lists and parameters from SQL never panics.
func FuzzMeasureLists(f *testing.F) {
	f.Add("DELETE FROM deliveries WHERE mailer_id IN (1, 2, 3)")
	f.Add("INSERT INTO t VALUES (1, 'a'), (2, 'b') RETURNING id")
	f.Add("SELECT ARRAY[1, 2, (3)] WHERE x = ANY($1) AND y IN (SELECT 1) AND z = $70000")
	f.Add("SELECT ((((")
	f.Fuzz(func(t *testing.T, sql string) {
		_ = measureLists(&Query{SQL: sql})
		_ = multiStatement(sql)
	})
}
