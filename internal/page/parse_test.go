package page

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const docFile = "website/docs/mod/page.md"

// md builds markdown from lines, with ``` written as ”' so that tests can
// hold fences in Go raw strings.
func md(lines ...string) []byte {
	return []byte(strings.ReplaceAll(strings.Join(lines, "\n"), "'''", "```") + "\n")
}

func mustParse(t *testing.T, src []byte) *Page {
	t.Helper()
	p, err := Parse(docFile, src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func TestParseAnnotations(t *testing.T) {
	tests := []struct {
		info    string
		want    Annotations
		unknown int
	}{
		{"bash", Annotations{Timeout: DefaultTimeout, Test: true}, 0},
		{"bash timeout=180 wait=30", Annotations{Timeout: 180 * time.Second, Wait: 30 * time.Second, Test: true}, 0},
		{"bash test=false", Annotations{Timeout: DefaultTimeout, Test: false}, 0},
		{"bash hook=install hookTimeout=300", Annotations{Timeout: DefaultTimeout, Test: true, Hook: "install", HookTimeout: 300 * time.Second}, 0},
		{"bash expectError=true raw=true", Annotations{Timeout: DefaultTimeout, Test: true, ExpectError: true, Raw: true}, 0},
		{"bash title=x showLineNumbers", Annotations{Timeout: DefaultTimeout, Test: true,
			Unknown: []Annotation{{Key: "title", Value: "x"}, {Key: "showLineNumbers"}}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.info, func(t *testing.T) {
			p := mustParse(t, md("'''"+tt.info, "$ true", "'''"))
			if len(p.Blocks) != 1 {
				t.Fatalf("blocks = %d, want 1", len(p.Blocks))
			}
			if got := p.Blocks[0].Annotations; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("annotations = %+v, want %+v", got, tt.want)
			}
			if len(p.Problems) != tt.unknown {
				t.Errorf("problems = %v, want %d (one per unknown annotation)", p.Problems, tt.unknown)
			}
			for _, pr := range p.Problems {
				if pr.Line != 1 || pr.File != docFile {
					t.Errorf("problem %v: want %s line 1", pr, docFile)
				}
			}
		})
	}
}

func TestParseRefusesBadAnnotationWithFileAndLine(t *testing.T) {
	for _, info := range []string{"bash timeout=soon", "bash wait=-1", "bash test=no", "bash hook="} {
		t.Run(info, func(t *testing.T) {
			_, err := Parse(docFile, md("intro", "", "'''"+info, "$ true", "'''"))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *page.Error", err)
			}
			if pe.File != docFile || pe.Line != 3 {
				t.Errorf("error at %s:%d, want %s:3 (%v)", pe.File, pe.Line, docFile, err)
			}
		})
	}
}

func TestParseOnlyBashBlocksRun(t *testing.T) {
	p := mustParse(t, md("'''yaml", "kind: Pod", "'''", "", "'''shell", "$ ls", "'''", "", "'''", "$ plain", "'''", "", "'''bash", "$ kept", "'''"))
	if len(p.Blocks) != 1 || p.Blocks[0].Commands[0].Text != "kept" {
		t.Fatalf("blocks = %+v, want only the bash one", p.Blocks)
	}
}

func TestParseCommands(t *testing.T) {
	type cmd struct {
		text   string
		line   int
		output []Line
	}
	tests := []struct {
		name     string
		info     string
		body     []string
		want     []cmd
		problems int
	}{
		{"prompt and sample output", "bash", []string{
			"$ kubectl get pods -n test",
			"NAME   READY",
			"",
			"a-1    0/1",
		}, []cmd{{"kubectl get pods -n test", 2, []Line{{"NAME   READY", 3}, {"a-1    0/1", 5}}}}, 0},
		{"continuations joined", "bash", []string{
			"$ helm install r \\",
			"    chart \\",
			"    --wait",
			"STATUS: deployed",
			"$ echo next",
		}, []cmd{{"helm install r chart --wait", 2, []Line{{"STATUS: deployed", 5}}}, {"echo next", 6, nil}}, 0},
		{"here-document", "bash", []string{
			"$ cat <<EOF | kubectl apply -f -",
			"kind: ConfigMap",
			"$ not a prompt inside",
			"EOF",
			"configmap/x created",
		}, []cmd{{"cat <<EOF | kubectl apply -f -\nkind: ConfigMap\n$ not a prompt inside\nEOF", 2, []Line{{"configmap/x created", 6}}}}, 0},
		{"here-string is no here-document", "bash", []string{
			"$ grep x <<<abc",
			"$ echo two",
		}, []cmd{{"grep x <<<abc", 2, nil}, {"echo two", 3, nil}}, 0},
		{"raw block is one script", "bash raw=true", []string{
			"for i in 1 2; do",
			"  echo $i",
			"done",
		}, []cmd{{"for i in 1 2; do\n  echo $i\ndone", 2, nil}}, 0},
		{"no prompt: one command a line", "bash", []string{
			"# set up",
			"kubectl create ns a",
			"",
			"kubectl create ns b \\",
			"  --dry-run=client",
		}, []cmd{{"kubectl create ns a", 3, nil}, {"kubectl create ns b --dry-run=client", 5, nil}}, 1},
		{"line before any prompt", "bash", []string{
			"stray",
			"$ echo ok",
		}, []cmd{{"echo ok", 3, nil}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := append([]string{"'''" + tt.info}, tt.body...)
			p := mustParse(t, md(append(lines, "'''")...))
			var got []cmd
			for _, c := range p.Blocks[0].Commands {
				got = append(got, cmd{c.Text, c.Line, c.Output})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("commands =\n%#v\nwant\n%#v", got, tt.want)
			}
			if len(p.Problems) != tt.problems {
				t.Errorf("problems = %v, want %d", p.Problems, tt.problems)
			}
		})
	}
}

func TestParseFrontMatterKeepsFileLines(t *testing.T) {
	p := mustParse(t, md(
		"---",
		`title: "Events"`,
		"sidebar_position: 3",
		"---",
		"",
		"Look at `scenario-a`.",
		"",
		"'''bash timeout=10",
		"$ echo hi",
		"'''",
	))
	if p.Title != "Events" {
		t.Errorf("title = %q", p.Title)
	}
	if len(p.Prose) != 1 || p.Prose[0].Line != 6 || p.Prose[0].Code[0].Line != 6 {
		t.Errorf("prose = %+v, want one unit at line 6", p.Prose)
	}
	if b := p.Blocks[0]; b.Line != 8 || b.Commands[0].Line != 9 {
		t.Errorf("block at %d, command at %d; want 8 and 9", b.Line, b.Commands[0].Line)
	}
}

func TestParseFrontMatterNeverClosed(t *testing.T) {
	_, err := Parse(docFile, md("---", "title: x", "", "text"))
	var pe *Error
	if !errors.As(err, &pe) || pe.Line != 1 {
		t.Fatalf("err = %v, want a page error at line 1", err)
	}
}

func TestParseAdmonitions(t *testing.T) {
	p := mustParse(t, md(
		"Before.",
		"",
		":::tip",
		"Same paragraph, `Normal` here.",
		":::",
		"",
		":::caution[Careful]",
		"",
		"First body paragraph.",
		"",
		"- an item with `Warning`",
		"",
		":::",
		"",
		"After.",
		"",
		":::info Title words",
		"Body and close together.",
		":::",
	))
	type unit struct {
		line       int
		admonition string
		text       string
	}
	var got []unit
	for _, u := range p.Prose {
		got = append(got, unit{u.Line, u.Admonition, u.Text})
	}
	want := []unit{
		{1, "", "Before."},
		{4, "tip", "Same paragraph, Normal here."},
		{9, "caution", "First body paragraph."},
		{11, "caution", "an item with Warning"},
		{15, "", "After."},
		{18, "info", "Body and close together."},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("prose =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseProseUnits(t *testing.T) {
	p := mustParse(t, md(
		"A paragraph with `one`, a [link](https://example.com/a) and <https://example.com/b>.",
		"",
		"- outer item `a`",
		"  - nested item `b`",
		"- loose item",
		"",
		"  second paragraph of it, `c`",
		"",
		"| pod | reason |",
		"| --- | ------ |",
		"| `scenario-a` | `FailedMount` |",
		"",
		"A span `across",
		"two lines` ends here.",
	))
	type unit struct {
		kind ProseKind
		line int
		code []string
	}
	var got []unit
	for _, u := range p.Prose {
		var code []string
		for _, c := range u.Code {
			code = append(code, c.Text)
		}
		got = append(got, unit{u.Kind, u.Line, code})
	}
	want := []unit{
		{Paragraph, 1, []string{"one"}},
		{ListItem, 3, []string{"a"}},
		{ListItem, 4, []string{"b"}},
		{ListItem, 5, []string{"c"}},
		{TableRow, 11, []string{"scenario-a", "FailedMount"}},
		{Paragraph, 13, []string{"across two lines"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("prose =\n%+v\nwant\n%+v", got, want)
	}
	wantLinks := []Link{{"https://example.com/a", 1}, {"https://example.com/b", 1}}
	if !reflect.DeepEqual(p.Links, wantLinks) {
		t.Errorf("links = %+v, want %+v", p.Links, wantLinks)
	}
	if p.Prose[4].Text != "scenario-a | FailedMount" {
		t.Errorf("table row text = %q", p.Prose[4].Text)
	}
}

func TestParseLanguageFromPath(t *testing.T) {
	tests := []struct {
		file, lang, path string
	}{
		{"website/docs/observability/opensearch/events.md", "", "observability/opensearch/events.md"},
		{"/repo/website/docs/a/b.md", "", "a/b.md"},
		{"website/i18n/ja/docusaurus-plugin-content-docs/current/observability/opensearch/events.md", "ja", "observability/opensearch/events.md"},
		{"/x/website/i18n/zh-Hans/docusaurus-plugin-content-docs/current/a.md", "zh-Hans", "a.md"},
		{"elsewhere/page.md", "", "page.md"},
	}
	for _, tt := range tests {
		p, err := Parse(tt.file, []byte("text\n"))
		if err != nil {
			t.Fatal(err)
		}
		if p.Lang != tt.lang || p.Path != tt.path {
			t.Errorf("%s: lang %q path %q, want %q %q", tt.file, p.Lang, p.Path, tt.lang, tt.path)
		}
	}
}
