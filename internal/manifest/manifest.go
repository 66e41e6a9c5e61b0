// Package manifest renders kustomizations with kustomize's krusty and
// applies the result with server-side apply.
package manifest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// FieldManager is the server-side apply field manager.
const FieldManager = "eventcheck"

// Render builds the kustomization in dir of fs (disk: filesys.MakeFsOnDisk(),
// tests: filesys.MakeFsInMemory()). Kustomize's own message is kept.
func Render(fs filesys.FileSystem, dir string) ([]*unstructured.Unstructured, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(fs, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomization %s does not render: %w", dir, err)
	}
	var out []*unstructured.Unstructured
	for _, r := range res.Resources() {
		// Through JSON, so numbers are int64/float64 as apimachinery's
		// deep copy expects (krusty's maps hold Go ints).
		data, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("kustomization %s: %w", dir, err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("kustomization %s: %w", dir, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// Applier applies objects to one cluster.
type Applier struct {
	client dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

// NewApplier connects to the cluster.
func NewApplier(cfg *rest.Config) (*Applier, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Applier{client: client, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

// order puts what others depend on first: namespaces and CRDs.
func order(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	rank := func(o *unstructured.Unstructured) int {
		switch o.GetKind() {
		case "Namespace":
			return 0
		case "CustomResourceDefinition":
			return 1
		}
		return 2
	}
	out := slices.Clone(objs)
	slices.SortStableFunc(out, func(a, b *unstructured.Unstructured) int { return rank(a) - rank(b) })
	return out
}

// Applied is what an apply did to one object, in kubectl's words:
// created, configured or unchanged.
type Applied struct {
	Kind, Namespace, Name string
	Action                string
}

// Apply server-side applies the objects (namespaces and CRDs first).
func (a *Applier) Apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	_, err := a.ApplyAll(ctx, objs)
	return err
}

// ApplyAll is Apply, saying what it did to each object: created when it
// did not exist, unchanged when the apply left its resourceVersion,
// configured otherwise (what kubectl apply prints, and a page quotes).
func (a *Applier) ApplyAll(ctx context.Context, objs []*unstructured.Unstructured) ([]Applied, error) {
	var out []Applied
	for _, o := range order(objs) {
		ri, err := a.resource(o)
		if err != nil {
			return out, err
		}
		data, err := o.MarshalJSON()
		if err != nil {
			return out, err
		}
		before := ""
		if live, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{}); err == nil {
			before = live.GetResourceVersion()
		}
		force := true
		after, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
		if err != nil {
			return out, fmt.Errorf("failed to apply %s: %w", describe(o), err)
		}
		action := "configured"
		switch {
		case before == "":
			action = "created"
		case after.GetResourceVersion() == before:
			action = "unchanged"
		}
		out = append(out, Applied{Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Action: action})
		if o.GetKind() == "CustomResourceDefinition" {
			a.mapper.Reset()
		}
	}
	return out, nil
}

// DryRun validates the objects against the cluster with a server-side
// dry-run apply; every failure is reported.
func (a *Applier) DryRun(ctx context.Context, objs []*unstructured.Unstructured) error {
	var errs []error
	for _, o := range order(objs) {
		ri, err := a.resource(o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		data, _ := o.MarshalJSON()
		force := true
		if _, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, data,
			metav1.PatchOptions{FieldManager: FieldManager, Force: &force, DryRun: []string{metav1.DryRunAll}}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("%s: %w", describe(o), err))
		}
	}
	return errors.Join(errs...)
}

// Delete removes the objects (in reverse order) and waits, up to timeout,
// for namespaces to be gone. Objects already gone are fine.
func (a *Applier) Delete(ctx context.Context, objs []*unstructured.Unstructured, timeout time.Duration) error {
	ordered := order(objs)
	slices.Reverse(ordered)
	var errs []error
	for _, o := range ordered {
		ri, err := a.resource(o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		policy := metav1.DeletePropagationForeground
		if err := ri.Delete(ctx, o.GetName(), metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("failed to delete %s: %w", describe(o), err))
		}
	}
	deadline := time.Now().Add(timeout)
	for _, o := range ordered {
		if o.GetKind() != "Namespace" {
			continue
		}
		ri, _ := a.resource(o)
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, max(time.Until(deadline), 0), true, func(ctx context.Context) (bool, error) {
			_, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		switch {
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			errs = append(errs, fmt.Errorf("namespace %s still terminating after %s", o.GetName(), timeout))
		}
	}
	return errors.Join(errs...)
}

func (a *Applier) resource(o *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := o.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		a.mapper.Reset()
		if m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return nil, fmt.Errorf("%s: the cluster does not know %s: %w", describe(o), gvk, err)
		}
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := o.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		return a.client.Resource(m.Resource).Namespace(ns), nil
	}
	return a.client.Resource(m.Resource), nil
}

func describe(o *unstructured.Unstructured) string {
	s := o.GetKind() + " " + o.GetName()
	if ns := o.GetNamespace(); ns != "" {
		s = o.GetKind() + " " + ns + "/" + o.GetName()
	}
	return s
}

// Select returns the objects of the given kinds.
func Select(objs []*unstructured.Unstructured, kinds ...string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if slices.Contains(kinds, o.GetKind()) {
			out = append(out, o)
		}
	}
	return out
}

// Get reads the live state of an object.
func (a *Applier) Get(ctx context.Context, o *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ri, err := a.resource(o)
	if err != nil {
		return nil, err
	}
	return ri.Get(ctx, o.GetName(), metav1.GetOptions{})
}
