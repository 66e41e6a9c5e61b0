// Package redact keeps credentials out of messages: a URL's userinfo,
// query values and fragment, and the values YAML type errors quote. It
// works on text that does not parse (a malformed URL is the one an error
// names), so it never needs the input to be valid.
package redact

import (
	"regexp"
	"strings"
)

// Mask replaces what is hidden.
const Mask = "xxxxx"

// URL returns s with its credentials replaced by Mask: the password of
// user:password@ (or the whole userinfo when it has no colon: a token),
// every query value and the fragment. The rest (scheme, host, path) is
// kept, so the message still says which URL is wrong:
// http://admin:s3cret@[::1 becomes http://admin:xxxxx@[::1.
func URL(s string) string {
	rest, suffix := s, ""
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest, suffix = rest[:i], rest[i:]
	}
	start := 0
	if i := strings.Index(rest, "://"); i >= 0 {
		start = i + len("://")
	}
	// The userinfo ends at the last @: a password may hold / or @.
	if at := strings.LastIndex(rest[start:], "@"); at >= 0 {
		at += start
		user := rest[start:at]
		masked := Mask
		if name, _, ok := strings.Cut(user, ":"); ok {
			masked = name + ":" + Mask
		}
		rest = rest[:start] + masked + rest[at:]
	}
	return rest + query(suffix)
}

// query masks every value of a ?query and a whole #fragment.
func query(s string) string {
	if s == "" {
		return ""
	}
	q, frag, hasFrag := s, "", false
	if i := strings.Index(s, "#"); i >= 0 {
		q, frag, hasFrag = s[:i], s[i:], true
	}
	if strings.HasPrefix(q, "?") {
		pairs := strings.Split(q[1:], "&")
		for i, p := range pairs {
			if k, v, ok := strings.Cut(p, "="); ok && v != "" {
				pairs[i] = k + "=" + Mask
			} else if !ok && p != "" {
				pairs[i] = Mask // a bare token
			}
		}
		q = "?" + strings.Join(pairs, "&")
	}
	if hasFrag && len(frag) > 1 {
		frag = "#" + Mask
	}
	return q + frag
}

// quoted is the part of a YAML error that quotes the content: a type
// error's value ("cannot unmarshal !!str `hunter2` into int": yaml keeps
// up to seven characters, enough of a password to matter) or a token
// ("unknown anchor 'x' referenced").
var quoted = regexp.MustCompile(" `[^`]*`| '[^']*'")

// YAML returns the message of a YAML error without what it quotes of the
// content: "line 3: cannot unmarshal !!str into int".
func YAML(msg string) string {
	return quoted.ReplaceAllString(msg, "")
}
