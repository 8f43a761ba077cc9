package audit

// withLists returns a copy of rep whose lists are empty where they are nil,
// so that its JSON and YAML forms write [] where there is nothing, never
// null: the same contract as `inzone lint --format json`'s "findings" and
// "errors". Edges stay nil: they are absent without a call graph.
func (rep *Report) withLists() *Report {
	c := *rep
	c.Zones = nonNil(c.Zones)
	c.Workloads = nonNil(c.Workloads)
	c.Coverage = nonNil(c.Coverage)
	c.NodesWithoutZone = nonNil(c.NodesWithoutZone)
	c.Services = nonNil(c.Services)
	c.ELBReferences = nonNil(c.ELBReferences)
	c.LintFindings = nonNil(c.LintFindings)
	c.LintErrors = nonNil(c.LintErrors)
	return &c
}

// nonNil returns s, or an empty slice when s is nil.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
