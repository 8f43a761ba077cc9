package envoytypes

import (
	udpaannotations "github.com/cncf/xds/go/udpa/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Successors maps the previous_message_type of each registered message
// (its udpa.annotations.versioning option) to that message:
// envoy.api.v2.Cluster to envoy.config.cluster.v3.Cluster. It walks the
// options of every descriptor in protoregistry.GlobalFiles (some 16 ms), so
// package envoy reads a table generated from it by
// hack/gen-envoy-successors instead, and its tests compare the two.
func Successors() map[protoreflect.FullName]protoreflect.FullName {
	next := map[protoreflect.FullName]protoreflect.FullName{}
	var visit func(protoreflect.MessageDescriptors)
	visit = func(mds protoreflect.MessageDescriptors) {
		for i := 0; i < mds.Len(); i++ {
			md := mds.Get(i)
			visit(md.Messages())
			opts := md.Options()
			if opts == nil || !proto.HasExtension(opts, udpaannotations.E_Versioning) {
				continue
			}
			va, _ := proto.GetExtension(opts, udpaannotations.E_Versioning).(*udpaannotations.VersioningAnnotation)
			if prev := protoreflect.FullName(va.GetPreviousMessageType()); prev != "" {
				next[prev] = md.FullName()
			}
		}
	}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		visit(fd.Messages())
		return true
	})
	return next
}
