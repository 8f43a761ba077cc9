package inzone.rules.custom_no_latest_test

import data.inzone.rules.custom_no_latest

test_flags_latest if {
	count(custom_no_latest.violation) == 1 with input as {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "x:latest"}]}}
}

test_allows_pinned if {
	count(custom_no_latest.violation) == 0 with input as {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "x:1.0"}]}}
}
