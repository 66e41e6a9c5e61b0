package page

import (
	"regexp"
	"strings"
)

// heredocStart finds a here-document's delimiter (<<EOF, <<-'EOF', << "X");
// a here-string (<<<) is not one.
var heredocStart = regexp.MustCompile(`<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)['"]?`)

// prompt is the text of a line after its "$ " prompt.
func prompt(s string) (string, bool) {
	t := strings.TrimLeft(s, " \t")
	if t == "$" {
		return "", true
	}
	return strings.CutPrefix(t, "$ ")
}

// commands splits a bash block into its commands, as the workshop harness
// does: a line starting with "$ " starts a command, a trailing backslash
// continues it, a here-document runs to its delimiter, and every other line
// until the next prompt is the command's sample output. With raw=true the
// whole block is one script. A block without any prompt is, for us, one
// command per non-empty line that is not a # comment (the harness would
// run nothing of it; the page is told so).
func (r *reader) commands(b Block, lines []Line) []Command {
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1].Text) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		r.problem(b.Line, "the bash block is empty")
		return nil
	}
	if b.Annotations.Raw {
		text := make([]string, len(lines))
		for i, l := range lines {
			text[i] = l.Text
		}
		return []Command{{Text: strings.Join(text, "\n"), Line: lines[0].Line}}
	}
	prompted := false
	for _, l := range lines {
		if _, ok := prompt(l.Text); ok {
			prompted = true
			break
		}
	}
	if !prompted {
		r.problem(b.Line, "the bash block has no \"$ \" prompt: each line is taken as a command, but the workshop harness runs none of them")
	}
	var out []Command
	var cur *Command
	continued := false
	heredoc := ""
	for _, l := range lines {
		switch {
		case heredoc != "":
			cur.Text += "\n" + l.Text
			if strings.TrimLeft(l.Text, "\t") == heredoc {
				heredoc = ""
			}
			continue
		case continued:
			cur.Text += " " + strings.TrimSpace(l.Text)
		default:
			text, isCommand := prompt(l.Text)
			if !prompted {
				text, isCommand = l.Text, strings.TrimSpace(l.Text) != "" && !strings.HasPrefix(strings.TrimSpace(l.Text), "#")
			}
			if !isCommand {
				if strings.TrimSpace(l.Text) == "" || !prompted {
					continue
				}
				if cur == nil {
					r.problem(l.Line, "this line of the bash block comes before any \"$ \" prompt: it is neither run nor output")
					continue
				}
				cur.Output = append(cur.Output, l)
				continue
			}
			out = append(out, Command{Text: strings.TrimSpace(text), Line: l.Line})
			cur = &out[len(out)-1]
		}
		continued = strings.HasSuffix(strings.TrimRight(cur.Text, " \t"), `\`)
		if continued {
			cur.Text = strings.TrimSpace(strings.TrimSuffix(strings.TrimRight(cur.Text, " \t"), `\`))
		}
		if continued || strings.Contains(cur.Text, "\n") {
			continue
		}
		if m := heredocStart.FindStringSubmatchIndex(cur.Text); m != nil && (m[0] == 0 || cur.Text[m[0]-1] != '<') {
			heredoc = cur.Text[m[4]:m[5]]
		}
	}
	return out
}
