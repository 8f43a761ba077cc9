package inject

// maxEdits bounds the diff; past it the whole document is re-encoded.
const maxEdits = 2000

// lcs matches the items of two sequences along a longest common subsequence
// (Myers' O(ND) algorithm): m[i] is the index in the second sequence that
// item i of the first is matched with, or -1. ok is false when more than
// maxEdits edits separate them.
func lcs(n, m int, eq func(i, j int) bool) (match []int, ok bool) {
	match = make([]int, n)
	for i := range match {
		match[i] = -1
	}
	pre := 0
	for pre < n && pre < m && eq(pre, pre) {
		match[pre] = pre
		pre++
	}
	suf := 0
	for suf < n-pre && suf < m-pre && eq(n-1-suf, m-1-suf) {
		match[n-1-suf] = m - 1 - suf
		suf++
	}
	N, M := n-pre-suf, m-pre-suf
	if N == 0 || M == 0 {
		return match, true
	}
	eqm := func(x, y int) bool { return eq(pre+x, pre+y) }
	maxD := min(N+M, maxEdits)
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	var trace [][]int // trace[d] holds v[k] for k in [-d-1, d+1] after step d
	for d := 0; d <= maxD; d++ {
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || k != d && v[off+k-1] < v[off+k+1] {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < N && y < M && eqm(x, y) {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= N && y >= M {
				// Walk back through the trace.
				for dd := d; dd > 0; dd-- {
					prev := trace[dd-1]
					at := func(k int) int { return prev[k+dd] } // prev covers [-dd, dd]
					k := x - y
					var pk int
					if k == -dd || k != dd && at(k-1) < at(k+1) {
						pk = k + 1
					} else {
						pk = k - 1
					}
					px := at(pk)
					py := px - pk
					for x > px && y > py {
						x, y = x-1, y-1
						match[pre+x] = pre + y
					}
					x, y = px, py
				}
				for x > 0 && y > 0 {
					x, y = x-1, y-1
					match[pre+x] = pre + y
				}
				return match, true
			}
		}
		snap := make([]int, 2*d+3)
		copy(snap, v[off-d-1:off+d+2])
		trace = append(trace, snap)
	}
	return nil, false
}
