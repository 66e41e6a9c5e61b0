package exporter

import (
	"context"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/client-go/metadata"

	"github.com/eventcheck/eventcheck/exporter/document"
)

// enricher looks up the involved object's metadata (labels, annotations,
// owners, whether it still exists), as metadata only, cached and bounded.
type enricher struct {
	meta   metadata.Interface
	mapper meta.RESTMapper
	cache  *cache.LRUExpireCache
	ttl    time.Duration
	log    *slog.Logger

	mu     sync.Mutex
	warned map[schema.GroupKind]bool
}

func newEnricher(m metadata.Interface, mapper meta.RESTMapper, size int, ttl time.Duration, log *slog.Logger) *enricher {
	return &enricher{meta: m, mapper: mapper, cache: cache.NewLRUExpireCache(size), ttl: ttl, log: log, warned: map[schema.GroupKind]bool{}}
}

type objectKey struct {
	apiVersion, kind, namespace, name, uid string
}

// lookup never fails the event: what cannot be learned is left out.
func (e *enricher) lookup(ctx context.Context, ref corev1.ObjectReference) document.Object {
	key := objectKey{ref.APIVersion, ref.Kind, ref.Namespace, ref.Name, string(ref.UID)}
	if v, ok := e.cache.Get(key); ok {
		return v.(document.Object)
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || ref.Kind == "" || ref.Name == "" {
		return document.Object{}
	}
	mapping, err := e.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, gv.Version)
	if err != nil {
		e.warnOnce(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, "unknown kind; events about it are exported without enrichment", err)
		return document.Object{}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var res metadata.ResourceInterface = e.meta.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		res = e.meta.Resource(mapping.Resource).Namespace(ref.Namespace)
	}
	m, err := res.Get(ctx, ref.Name, metav1.GetOptions{})
	var obj document.Object
	switch {
	case apierrors.IsNotFound(err):
		obj.Deleted = true
	case err != nil:
		e.warnOnce(mapping.GroupVersionKind.GroupKind(), "cannot read involved objects (check the exporter's RBAC); exporting without enrichment", err)
		return document.Object{} // not cached: may be transient
	case ref.UID != "" && m.UID != ref.UID:
		// Same name, new object: the one the event is about is gone.
		obj.Deleted = true
	default:
		obj = document.Object{Labels: m.Labels, Annotations: m.Annotations, OwnerReferences: m.OwnerReferences}
	}
	e.cache.Add(key, obj, e.ttl)
	return obj
}

func (e *enricher) warnOnce(gk schema.GroupKind, msg string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.warned[gk] {
		e.warned[gk] = true
		e.log.Warn(msg, "kind", gk.String(), "err", err)
	}
}
