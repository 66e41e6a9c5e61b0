package exporter

import (
	"regexp"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/eventcheck/eventcheck/exporter/config"
	"github.com/eventcheck/eventcheck/exporter/document"
)

// router applies the routing tree with upstream's semantics: a matching
// drop rule stops the event at that route; every matching match rule with a
// receiver sends the event there; sub-routes see the event only when every
// match rule matched.
type router struct {
	root config.Route
	mu   sync.Mutex
	re   map[string]*regexp.Regexp
}

func newRouter(r config.Route) *router { return &router{root: r, re: map[string]*regexp.Regexp{}} }

// receivers returns the names of the receivers the event goes to.
func (r *router) receivers(ev *corev1.Event, obj document.Object) map[string]bool {
	out := map[string]bool{}
	r.walk(r.root, ev, obj, out)
	return out
}

func (r *router) walk(route config.Route, ev *corev1.Event, obj document.Object, out map[string]bool) {
	for _, rule := range route.Drop {
		if r.matches(rule, ev, obj) {
			return
		}
	}
	all := true
	for _, rule := range route.Match {
		if r.matches(rule, ev, obj) {
			if rule.Receiver != "" {
				out[rule.Receiver] = true
			}
		} else {
			all = false
		}
	}
	if all {
		for _, sub := range route.Routes {
			r.walk(sub, ev, obj, out)
		}
	}
}

func (r *router) matches(rule config.Rule, ev *corev1.Event, obj document.Object) bool {
	for _, f := range [...]struct{ pattern, value string }{
		{rule.Message, ev.Message}, {rule.APIVersion, ev.InvolvedObject.APIVersion}, {rule.Kind, ev.InvolvedObject.Kind},
		{rule.Namespace, ev.Namespace}, {rule.Reason, ev.Reason}, {rule.Type, ev.Type},
		{rule.Component, ev.Source.Component}, {rule.Host, ev.Source.Host},
	} {
		if f.pattern != "" && !r.match(f.pattern, f.value) {
			return false
		}
	}
	for k, pattern := range rule.Labels {
		if v, ok := obj.Labels[k]; !ok || !r.match(pattern, v) {
			return false
		}
	}
	for k, pattern := range rule.Annotations {
		if v, ok := obj.Annotations[k]; !ok || !r.match(pattern, v) {
			return false
		}
	}
	return rule.MinCount == 0 || ev.Count >= rule.MinCount
}

// match uses compiled patterns; config validation already rejected
// patterns that do not compile.
func (r *router) match(pattern, value string) bool {
	r.mu.Lock()
	re, ok := r.re[pattern]
	if !ok {
		re = regexp.MustCompile(pattern)
		r.re[pattern] = re
	}
	r.mu.Unlock()
	return re.MatchString(value)
}

// Receivers says which receivers route sends an event about obj to, with
// the exporter's own semantics (for tools that check a config without
// running it).
func Receivers(route config.Route, ev *corev1.Event, obj document.Object) map[string]bool {
	return newRouter(route).receivers(ev, obj)
}
