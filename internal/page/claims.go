package page

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
)

// outputClaims are the claims of one command's sample output.
func (d *deriver) outputClaims(c Command) {
	if len(c.Output) == 0 {
		return
	}
	st := d.stages(c)
	if len(st) == 0 {
		return
	}
	first := st[0]
	switch tool(first) {
	case "kubectl":
		k := kubectlFlags.read(first)
		pos := k.positional
		switch {
		case len(pos) > 0 && pos[0] == "apply" && k.flags["kustomize"] != "":
			d.applyClaims(c)
		case startsJSON(c.Output):
			if isEvents(pos) {
				d.documentClaim(c, namespaceOf(k), true)
			}
		case len(pos) > 1 && pos[0] == "get" && slices.Contains([]string{"pods", "pod", "po"}, pos[1]):
			d.podClaims(c, k)
		case isEvents(pos):
			d.eventClaims(c, k)
		}
	case "curl":
		if startsJSON(c.Output) {
			d.documentClaim(c, "", false)
		}
	}
}

// isEvents says whether kubectl's positional arguments list events
// (kubectl get events, kubectl events).
func isEvents(pos []string) bool {
	if len(pos) > 0 && pos[0] == "events" {
		return true
	}
	return len(pos) > 1 && pos[0] == "get" && slices.Contains([]string{"events", "event", "ev", "events.events.k8s.io"}, pos[1])
}

// namespaceOf is the namespace a kubectl command lists: -n, "" for
// --all-namespaces (the rows say), else the learner's default.
func namespaceOf(k call) string {
	if ns := k.flags["namespace"]; ns != "" {
		return ns
	}
	if k.has("all-namespaces") {
		return ""
	}
	return "default"
}

func startsJSON(out []Line) bool {
	for _, l := range out {
		if t := strings.TrimSpace(l.Text); t != "" {
			return strings.HasPrefix(t, "{")
		}
	}
	return false
}

// applyLine is a line of kubectl apply output: RESOURCE[.GROUP]/NAME ACTION.
var applyLine = regexp.MustCompile(`^([a-z0-9-]+)(?:\.([a-z0-9.-]+))?/(\S+) (created|unchanged|configured|serverside-applied|deleted|pruned)\b`)

func (d *deriver) applyClaims(c Command) {
	ph := d.phaseIndex(c.Line + 1)
	for _, l := range c.Output {
		text := strings.TrimSpace(l.Text)
		m := applyLine.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		a := AppliedObject{Resource: m[1], Group: m[2], Name: m[3], Action: m[4]}
		if ph >= 0 {
			for _, o := range d.story.Phases[ph].Objects {
				if strings.EqualFold(o.Kind, a.Resource) && o.Name == a.Name && apiGroup(o.APIVersion) == a.Group {
					a.Kind, a.Namespace = o.Kind, o.Namespace
					break
				}
			}
		}
		if a.Kind == "" {
			d.problem(l.Line, "the apply output names %s/%s, which the phase's kustomization does not render", m[1]+dotted(m[2]), a.Name)
		}
		d.claim(Claim{Line: l.Line, Text: l.Text, Context: c.Text, Expect: a}, m[1]+dotted(m[2]), a.Name)
	}
}

func dotted(group string) string {
	if group == "" {
		return ""
	}
	return "." + group
}

func apiGroup(apiVersion string) string {
	group, _, found := strings.Cut(apiVersion, "/")
	if !found {
		return ""
	}
	return group
}

func (d *deriver) podClaims(c Command, k call) {
	t := d.table(c.Output)
	if t == nil || !t.hasColumn("NAME") {
		return
	}
	for _, r := range t.rows {
		ns := r.get("NAMESPACE")
		if ns == "" {
			ns = namespaceOf(k)
		}
		pod := PodRow{Namespace: ns, Name: r.get("NAME"), Ready: r.get("READY"), Status: r.get("STATUS")}
		pod.NamePrefix = d.prefix(pod.Name)
		d.claim(Claim{Line: r.line, Text: r.text, Context: c.Text, Skip: d.skipNamespace(ns), Expect: pod}, ns, pod.NamePrefix)
	}
}

func (d *deriver) eventClaims(c Command, k call) {
	t := d.table(c.Output)
	if t == nil || !t.hasColumn("REASON") {
		return
	}
	for _, r := range t.rows {
		ns := r.get("NAMESPACE")
		if ns == "" {
			ns = namespaceOf(k)
		}
		ev := EventRow{Namespace: ns, Type: r.get("TYPE"), Reason: r.get("REASON"), Message: r.get("MESSAGE")}
		ev.ObjectKind, ev.ObjectName = objectRef(r.get("OBJECT"))
		ev.ObjectPrefix = d.prefix(ev.ObjectName)
		d.claim(Claim{Line: r.line, Text: r.text, Context: c.Text, Skip: d.skipNamespace(ns), Expect: ev},
			ns, ev.Type, ev.Reason, ev.ObjectKind, ev.ObjectPrefix)
	}
}

// kinds maps the lower-case kind kubectl prints (pod/x) to the Kind.
var kinds = map[string]string{}

func init() {
	for _, k := range []string{"Pod", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob",
		"Node", "Service", "Endpoints", "EndpointSlice", "PersistentVolumeClaim", "PersistentVolume",
		"HorizontalPodAutoscaler", "Namespace", "ConfigMap", "Secret", "ServiceAccount", "Ingress", "Lease",
		"PodDisruptionBudget"} {
		kinds[strings.ToLower(k)] = k
	}
}

// objectRef reads an OBJECT cell (pod/scenario-a-6d988b8d84-x7k2p).
func objectRef(cell string) (kind, name string) {
	res, name, found := strings.Cut(cell, "/")
	if !found || res == "" {
		return "", cell
	}
	res, _, _ = strings.Cut(res, ".")
	if k, ok := kinds[strings.ToLower(res)]; ok {
		return k, name
	}
	r := []rune(res)
	r[0] = unicode.ToUpper(r[0])
	return string(r), name
}

// prefix is NamePrefix, preferring a workload of the story that the name
// starts with.
func (d *deriver) prefix(name string) string {
	for _, w := range d.story.Workloads {
		if name == w || (strings.HasPrefix(name, w+"-") && NamePrefix(name) == w) {
			return w
		}
	}
	return NamePrefix(name)
}

// hashAlphabet is the alphabet Kubernetes writes pod-template hashes and
// generated name suffixes in (no vowels, so that no word appears).
const hashAlphabet = `[bcdfghjklmnpqrstvwxz2456789]`

var generatedSuffix = regexp.MustCompile(`^(.+?)(?:-` + hashAlphabet + `{6,10}-` + hashAlphabet + `{5}|-` + hashAlphabet + `{6,10}|-` + hashAlphabet + `{5})$`)

// NamePrefix is the name of the object a generated name belongs to: a
// pod's name without its ReplicaSet hash and suffix
// (scenario-a-6d988b8d84-x7k2p → scenario-a), a ReplicaSet's without its
// hash (scenario-c-6d988b8d84 → scenario-c). A name with no such suffix is
// returned as it is. The page and a run name different pods of the same
// workload; the prefix is what they share.
func NamePrefix(name string) string {
	if m := generatedSuffix.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return name
}

// table is kubectl's tabular output: a header and rows.
type table struct {
	columns []column
	rows    []row
}

type column struct {
	name  string
	start int // in runes
}

type row struct {
	text  string
	line  int
	cells map[string]string
}

func (t *table) hasColumn(name string) bool {
	return slices.ContainsFunc(t.columns, func(c column) bool { return c.name == name })
}

func (r row) get(name string) string { return r.cells[name] }

// multiWordHeaders are kubectl's column names with a space in them.
var multiWordHeaders = []string{"LAST SEEN", "FIRST SEEN", "NOMINATED NODE", "READINESS GATES"}

// table reads kubectl's tabular output by the header's column positions,
// as a MESSAGE holds spaces. A row that does not line up with the header
// (hand-edited) is read by words instead, the last column taking the rest.
// Lines that are only ... are cuts and are dropped.
func (d *deriver) table(out []Line) *table {
	i := 0
	for i < len(out) && strings.TrimSpace(out[i].Text) == "" {
		i++
	}
	if i == len(out) {
		return nil
	}
	header := []rune(out[i].Text)
	t := &table{}
	for at := 0; at < len(header); {
		if header[at] == ' ' || header[at] == '\t' {
			at++
			continue
		}
		end := at
		for end < len(header) && header[end] != ' ' && header[end] != '\t' {
			end++
		}
		name := string(header[at:end])
		for _, mw := range multiWordHeaders {
			if strings.HasPrefix(string(header[at:]), mw) {
				name, end = mw, at+len([]rune(mw))
			}
		}
		if strings.ToUpper(name) != name {
			return nil
		}
		t.columns = append(t.columns, column{name: name, start: at})
		at = end
	}
	for _, l := range out[i+1:] {
		text := strings.TrimRight(l.Text, " \t")
		if trimmed := strings.TrimSpace(text); trimmed == "" || trimmed == "..." || trimmed == "…" {
			continue
		}
		r := row{text: l.Text, line: l.Line, cells: map[string]string{}}
		runes := []rune(text)
		if aligned(runes, t.columns) {
			for ci, col := range t.columns {
				end := len(runes)
				if ci+1 < len(t.columns) {
					end = min(t.columns[ci+1].start, len(runes))
				}
				if col.start < end {
					r.cells[col.name] = strings.TrimSpace(string(runes[col.start:end]))
				}
			}
		} else {
			d.problem(l.Line, "the row does not line up with its header: read by words")
			words := strings.Fields(text)
			for ci, col := range t.columns {
				if ci >= len(words) {
					break
				}
				if ci == len(t.columns)-1 {
					r.cells[col.name] = strings.Join(words[ci:], " ")
				} else {
					r.cells[col.name] = words[ci]
				}
			}
		}
		t.rows = append(t.rows, r)
	}
	return t
}

// aligned says whether every column of the header starts, in the row,
// after a space (or past the row's end, as an empty trailing cell).
func aligned(row []rune, cols []column) bool {
	for _, c := range cols[1:] {
		if c.start >= len(row) {
			continue
		}
		if row[c.start-1] != ' ' && row[c.start-1] != '\t' {
			return false
		}
	}
	return len(row) > 0 && row[0] != ' '
}

// cut is a sample line that is only an ellipsis: the page left lines out.
func cut(s string) bool {
	t := strings.TrimSpace(s)
	return t == "..." || t == "…"
}

var (
	elidedContainer = regexp.MustCompile(`([{\[])\s*(?:\.\.\.|…)\s*([}\]])`)
	trailingComma   = regexp.MustCompile(`,(\s*[}\]])`)
)

// documentClaim reads a JSON sample leniently: lines that are only ... are
// dropped, {...} is {}, and a comma left before a closing brace by a cut is
// removed. A sample that still is not JSON is a claim skipped with the
// parser's complaint, at the line it points at.
func (d *deriver) documentClaim(c Command, namespace string, kubectl bool) {
	var kept []Line
	for _, l := range c.Output {
		if !cut(l.Text) && strings.TrimSpace(l.Text) != "" {
			kept = append(kept, l)
		}
	}
	texts := make([]string, len(c.Output))
	for i, l := range c.Output {
		texts[i] = l.Text
	}
	claim := Claim{Line: c.Output[0].Line, Text: strings.Join(texts, "\n"), Context: c.Text}
	lines := make([]string, len(kept))
	for i, l := range kept {
		lines[i] = l.Text
	}
	joined := strings.Join(lines, "\n")
	joined = elidedContainer.ReplaceAllString(joined, "$1$2")
	joined = trailingComma.ReplaceAllString(joined, "$1")
	var v any
	err := json.Unmarshal([]byte(joined), &v)
	root, isObject := v.(map[string]any)
	if err == nil && !isObject {
		err = fmt.Errorf("it is not a JSON object")
	}
	if err != nil {
		line := claim.Line
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			line = kept[min(strings.Count(joined[:min(int(syntax.Offset), len(joined))], "\n"), len(kept)-1)].Line
		}
		d.problem(line, "the sample JSON cannot be parsed: %v", err)
		claim.Skip = fmt.Sprintf("the sample JSON cannot be parsed at line %d: %v", line, err)
		claim.Expect = EventDocument{}
		d.claim(claim, normalise(c.Text))
		return
	}
	root = documentSource(root)
	doc := EventDocument{Fields: Fields(root), Kubectl: kubectl}
	doc.Type, _ = root["type"].(string)
	doc.Reason, _ = root["reason"].(string)
	doc.Message, _ = root["message"].(string)
	for _, obj := range []string{"involvedObject", "regarding"} {
		if o, ok := root[obj].(map[string]any); ok {
			doc.ObjectKind, _ = o["kind"].(string)
			doc.ObjectName, _ = o["name"].(string)
			if doc.Namespace == "" {
				doc.Namespace, _ = o["namespace"].(string)
			}
		}
	}
	if m, ok := root["metadata"].(map[string]any); ok && doc.Namespace == "" {
		doc.Namespace, _ = m["namespace"].(string)
	}
	if doc.Namespace == "" {
		doc.Namespace = namespace
	}
	doc.ObjectPrefix = d.prefix(doc.ObjectName)
	claim.Expect = doc
	claim.Skip = d.skipNamespace(doc.Namespace)
	d.claim(claim, normalise(c.Text))
}

// documentSource is the document inside an OpenSearch answer (its _source,
// or the first hit's), or the object itself.
func documentSource(root map[string]any) map[string]any {
	if src, ok := root["_source"].(map[string]any); ok {
		return src
	}
	if hits, ok := root["hits"].(map[string]any); ok {
		if list, ok := hits["hits"].([]any); ok && len(list) > 0 {
			if first, ok := list[0].(map[string]any); ok {
				if src, ok := first["_source"].(map[string]any); ok {
					return src
				}
			}
		}
	}
	return root
}

// Fields are the field paths of a JSON object and the kinds of their
// values, sorted by path; an array's elements are path[].
func Fields(root map[string]any) []Field {
	seen := map[string]JSONKind{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		if path != "" {
			seen[path] = jsonKind(v)
		}
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, child)
			}
		case []any:
			for _, child := range v {
				walk(path+"[]", child)
			}
		}
	}
	walk("", root)
	out := make([]Field, 0, len(seen))
	for p, k := range seen {
		out = append(out, Field{Path: p, Kind: k})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func jsonKind(v any) JSONKind {
	switch v.(type) {
	case string:
		return JSONString
	case float64:
		return JSONNumber
	case bool:
		return JSONBool
	case map[string]any:
		return JSONObject
	case []any:
		return JSONArray
	}
	return JSONNull
}

var (
	camelCase = regexp.MustCompile(`^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*$`)
	// notReasons are pod statuses and phases a page quotes that are no
	// event's reason (Failed is both, and stays a reason).
	notReasons = []string{"Pending", "Running", "Succeeded", "Unknown", "Completed", "Terminating",
		"ContainerCreating", "PodInitializing", "ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff",
		"CreateContainerConfigError", "CreateContainerError", "InvalidImageName", "OOMKilled", "Error"}
	eventTypes = []string{"Normal", "Warning"}
	// commandWords start a code span that is a command, not a message.
	commandWords = []string{"kubectl", "helm", "curl", "jq", "aws", "eksctl", "docker", "git", "cat", "echo",
		"export", "cd", "ls", "grep", "printf", "sed", "awk", "watch", "kustomize", "sleep"}
)

// spanRole is what a code span of prose names.
type spanRole int

const (
	roleOther spanRole = iota
	roleWorkload
	roleReason
	roleMessage
	roleType
)

func (d *deriver) role(s string) (spanRole, string) {
	t := strings.TrimSpace(s)
	if w := d.prefix(t); slices.Contains(d.story.Workloads, w) && !strings.ContainsAny(t, " /") {
		return roleWorkload, w
	}
	if slices.Contains(eventTypes, t) {
		return roleType, t
	}
	if camelCase.MatchString(t) && !slices.Contains(notReasons, t) {
		return roleReason, t
	}
	if strings.Contains(t, " ") {
		first := strings.Fields(t)[0]
		if first == "$" || slices.Contains(commandWords, first) {
			return roleOther, t
		}
		return roleMessage, t
	}
	return roleOther, t
}

// proseClaims are the events a prose unit names in code spans: each
// workload it names (or a pod of one), with each reason (a CamelCase span)
// and the message (a span with spaces that is not a command) nearest after
// that reason. A message before any reason goes with the first one; a
// unit with messages and no reason claims each message alone. The words
// around the spans are never read, so a translation that keeps its code
// makes the same claims.
//
// An admonition after the second or a later phase whose spans name an
// event type (`Normal`, `Warning`) makes a Rise claim for each: the
// workshop's "the counts only go up" tip. A tip without such a span makes
// none, as the words that say so are prose.
func (d *deriver) proseClaims(u Prose) {
	type pair struct {
		reason, message CodeSpan
	}
	var workloads []string
	var pairs []pair
	var types []CodeSpan
	var messages []CodeSpan
	for _, s := range u.Code {
		role, text := d.role(s.Text)
		switch role {
		case roleWorkload:
			if !slices.Contains(workloads, text) {
				workloads = append(workloads, text)
			}
		case roleReason:
			pairs = append(pairs, pair{reason: s})
		case roleMessage:
			if len(pairs) == 0 {
				messages = append(messages, s)
			} else if last := &pairs[len(pairs)-1]; last.message.Text == "" {
				last.message = s
			} else {
				pairs = append(pairs, pair{reason: last.reason, message: s})
			}
		case roleType:
			types = append(types, s)
		}
	}
	// Messages before the first reason: with it, or alone without one.
	for i := len(messages) - 1; i >= 0; i-- {
		m := messages[i]
		if len(pairs) > 0 && pairs[0].message.Text == "" {
			pairs[0].message = m
		} else {
			pairs = append([]pair{{message: m}}, pairs...)
		}
	}
	for _, w := range workloads {
		for _, p := range pairs {
			line := p.reason.Line
			if line == 0 {
				line = p.message.Line
			}
			text := []string{"`" + w + "`"}
			for _, s := range []CodeSpan{p.reason, p.message} {
				if s.Text != "" {
					text = append(text, "`"+s.Text+"`")
				}
			}
			reason := p.reason.Text
			keyReason := reason
			if keyReason == "" {
				keyReason = "-"
			}
			d.claim(Claim{Line: line, Text: strings.Join(text, " "), Context: u.Text,
				Expect: ProseEvent{Workload: w, Reason: reason, Message: p.message.Text}}, w, keyReason)
		}
	}
	if u.Admonition == "" {
		return
	}
	ph := d.phaseIndex(u.Line)
	if ph < 1 {
		return
	}
	var claimed []string
	for _, s := range types {
		if slices.Contains(claimed, s.Text) {
			continue
		}
		claimed = append(claimed, s.Text)
		d.claim(Claim{Line: s.Line, Text: "`" + s.Text + "`", Context: u.Text,
			Expect: Rise{Type: s.Text, Before: d.story.Phases[ph-1].Name}}, s.Text)
	}
}
