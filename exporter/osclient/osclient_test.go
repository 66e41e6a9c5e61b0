package osclient

import (
	"strings"
	"testing"
)

// A URL that does not parse is named with its credentials masked, and a
// query (where a password may hide) is refused.
func TestCheckURLMasksCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"http://admin:s3cret@[::1":       `"http://admin:xxxxx@[::1": want http(s)://host[:port]`,
		"http://admin:s3cret@ho st":      `"http://admin:xxxxx@ho st": want http(s)://host[:port]`,
		"admin:s3cret@host":              `"admin:xxxxx@host": want http(s)://host[:port]`,
		"http://admin:s3cret@h/%zz":      `"http://admin:xxxxx@h/%zz": want http(s)://host[:port]`,
		"http://admin:s3cret@h:9200":     `"http://admin:xxxxx@h:9200": put credentials in the username and password settings`,
		"http://h:9200/?password=s3cret": `"http://h:9200/?password=xxxxx": a query or fragment has no place`,
	} {
		err := CheckURL(in)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("CheckURL(%q) = %v, want %s", in, err, want)
		}
	}
	for _, good := range []string{"http://127.0.0.1:9200", "https://search.example:443/prefix", "http://[::1]:9200"} {
		if err := CheckURL(good); err != nil {
			t.Errorf("CheckURL(%q) = %v", good, err)
		}
	}
}
