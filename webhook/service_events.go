package webhook

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/inzone-io/inzone/elb"
)

// serviceEvents keeps an ELB index current from a Service informer: an add
// or update records the Service's claims, a delete (or its tombstone, when
// the informer missed the delete itself) forgets them.
func serviceEvents(x *elb.Index) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { setService(x, obj) },
		UpdateFunc: func(_, obj any) { setService(x, obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if svc, ok := obj.(*corev1.Service); ok {
				x.Delete(svc.Namespace, svc.Name)
			}
		},
	}
}

func setService(x *elb.Index, obj any) {
	if svc, ok := obj.(*corev1.Service); ok {
		x.Set(svc)
	}
}
