package inzone.rules.istio_service_entry_dns_test

import data.inzone.rules.istio_service_entry_dns as rule

_entry(spec) := {
	"apiVersion": "networking.istio.io/v1",
	"kind": "ServiceEntry",
	"metadata": {"name": "payments", "namespace": "shop"},
	"spec": spec,
}

test_flags_dns_resolution if {
	vs := rule.violation with input as _entry({"hosts": ["payments.example.com"], "resolution": "DNS"})
	count(vs) == 1
	some v in vs
	v.path == ["spec", "resolution"]
	startswith(v.msg, "ServiceEntry shop/payments: resolution is DNS: Istio makes it a STRICT_DNS cluster")
}

test_flags_dns_round_robin if {
	vs := rule.violation with input as _entry({"hosts": ["payments.example.com"], "resolution": "DNS_ROUND_ROBIN"})
	some v in vs
	contains(v.msg, "LOGICAL_DNS")
}

test_allows_static_and_none if {
	count(rule.violation) == 0 with input as _entry({"hosts": ["db.internal"], "resolution": "STATIC", "endpoints": [{"address": "10.0.0.1", "locality": "us-east-1/us-east-1a"}]})
	count(rule.violation) == 0 with input as _entry({"hosts": ["*.example.com"], "resolution": "NONE"})
	count(rule.violation) == 0 with input as _entry({"hosts": ["x.example.com"]})
}

test_allows_other_groups if {
	count(rule.violation) == 0 with input as object.union(_entry({"resolution": "DNS"}), {"apiVersion": "example.com/v1"})
}

test_allows_odd_inputs if {
	count(rule.violation) == 0 with input as {"kind": "ServiceEntry"}
	count(rule.violation) == 0 with input as object.union(_entry({"resolution": ["DNS"]}), {"apiVersion": 1})
	count(rule.violation) == 0 with input as _entry("DNS")
}
