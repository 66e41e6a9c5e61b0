package local

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/eventcheck/eventcheck/internal/opensearch/internal/providers"
	"github.com/eventcheck/eventcheck/internal/pki"
)

// The internal users of a secured local OpenSearch.
const (
	// AdminUser holds all_access.
	AdminUser = "admin"
	// WorkshopUser holds what the workshop's user needs and nothing more:
	// write and read on the events indices, no index templates.
	WorkshopUser = "workshop"
)

// securityDir keeps, across restarts of a kept run directory, what the
// security index was initialised with: the CA, the node certificate and
// the users' passwords (config/ is rewritten at every start, and the data
// keeps the first start's users).
const securityDir = "security"

// nodeDN is the node certificate's subject, which the plugin must know
// as a node's (plugins.security.nodes_dn) to accept transport connections.
const nodeDN = "CN=eventcheck-opensearch,O=eventcheck"

// secured is what a secured start has: the CA file and each user's
// password file.
type secured struct {
	caFile    string
	passwords map[string]string // user → password file
}

// ensureSecurity makes (once per run directory) the CA, the node
// certificate and the passwords, and copies the certificates into config/,
// where the plugin may read them.
func ensureSecurity(runDir string) (*secured, error) {
	dir := filepath.Join(runDir, securityDir)
	s := &secured{caFile: filepath.Join(dir, "ca.pem"), passwords: map[string]string{}}
	for _, u := range []string{AdminUser, WorkshopUser} {
		s.passwords[u] = filepath.Join(dir, u+".password")
	}
	if _, err := os.Stat(filepath.Join(dir, "node-key.pem")); errors.Is(err, fs.ErrNotExist) {
		if err := makeSecurity(dir, s); err != nil {
			return nil, fmt.Errorf("failed to make the secured OpenSearch's CA and users in %s: %w", dir, err)
		}
	}
	for _, f := range []string{"ca.pem", "node.pem", "node-key.pem"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, fmt.Errorf("secured OpenSearch: %w; delete %s to make new ones", err, dir)
		}
		if err := os.WriteFile(filepath.Join(runDir, "config", f), data, 0o600); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func makeSecurity(dir string, s *secured) error {
	tmp := dir + ".new"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	ca, err := pki.NewCA("eventcheck OpenSearch CA")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "ca.pem"), ca.PEM, 0o644); err != nil {
		return err
	}
	node, err := ca.Issue("eventcheck-opensearch", "localhost", "127.0.0.1", "::1")
	if err != nil {
		return err
	}
	if _, _, err := node.Write(tmp, "node"); err != nil {
		return err
	}
	for u := range s.passwords {
		if err := os.WriteFile(filepath.Join(tmp, u+".password"), []byte(newPassword()+"\n"), 0o600); err != nil {
			return err
		}
	}
	// Complete or absent: a start that died half-way makes new ones.
	return os.Rename(tmp, dir)
}

// newPassword is 24 random bytes, URL-safe base64: no character a shell,
// YAML or a URL would treat specially.
func newPassword() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// readPassword reads a password file written by makeSecurity.
func readPassword(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(data)), nil
}

// securitySettings are the opensearch.yml lines of a secured node: TLS on
// HTTP and transport from our CA, the security index made from the files
// of config/opensearch-security at first start.
var securitySettings = []string{
	"plugins.security.ssl.transport.pemcert_filepath: node.pem",
	"plugins.security.ssl.transport.pemkey_filepath: node-key.pem",
	"plugins.security.ssl.transport.pemtrustedcas_filepath: ca.pem",
	"plugins.security.ssl.transport.enforce_hostname_verification: false",
	"plugins.security.ssl.http.enabled: true",
	"plugins.security.ssl.http.pemcert_filepath: node.pem",
	"plugins.security.ssl.http.pemkey_filepath: node-key.pem",
	"plugins.security.ssl.http.pemtrustedcas_filepath: ca.pem",
	"plugins.security.allow_default_init_securityindex: true",
	`plugins.security.nodes_dn: ["` + nodeDN + `"]`,
	// No admin certificate is issued: the users are set at first start.
	`plugins.security.authcz.admin_dn: ["CN=eventcheck-admin,O=eventcheck"]`,
	"plugins.security.audit.type: noop",
	`plugins.security.restapi.roles_enabled: ["all_access"]`,
}

// writeSecurityConfig writes the plugin's users, roles and their mapping
// over the demo ones the plugin ships.
func writeSecurityConfig(configDir string, s *secured) error {
	hashes := map[string]string{}
	for u, file := range s.passwords {
		pw, err := readPassword(file)
		if err != nil {
			return err
		}
		h, err := bcrypt.GenerateFromPassword([]byte(pw), 10)
		if err != nil {
			return err
		}
		hashes[u] = string(h)
	}
	files := map[string]string{
		"config.yml": `_meta: {type: config, config_version: 2}
config:
  dynamic:
    http: {anonymous_auth_enabled: false}
    authc:
      basic_internal_auth_domain:
        http_enabled: true
        transport_enabled: true
        order: 0
        http_authenticator: {type: basic, challenge: true}
        authentication_backend: {type: intern}
`,
		"internal_users.yml": fmt.Sprintf(`_meta: {type: internalusers, config_version: 2}
%s:
  hash: %q
  description: eventcheck's administrator
%s:
  hash: %q
  description: the workshop's user; write and read on the events indices, no index templates
`, AdminUser, hashes[AdminUser], WorkshopUser, hashes[WorkshopUser]),
		// What the exporter and the checks do: bulk writes, searches,
		// counts and mappings on the events indices, health and version.
		"roles.yml": `_meta: {type: roles, config_version: 2}
workshop_events:
  description: write and read on eks-kubernetes-events*
  cluster_permissions: ["cluster:monitor/main", "cluster:monitor/health", "indices:data/write/bulk", "indices:data/read/scroll*", "indices:data/read/msearch"]
  index_permissions:
    - index_patterns: ["eks-kubernetes-events*"]
      allowed_actions: [crud, create_index, "indices:admin/mappings/get", "indices:admin/refresh*", "indices:monitor/settings/get", "indices:admin/get"]
`,
		"roles_mapping.yml": fmt.Sprintf(`_meta: {type: rolesmapping, config_version: 2}
all_access:
  users: [%s]
workshop_events:
  users: [%s]
`, AdminUser, WorkshopUser),
	}
	dir := filepath.Join(configDir, "opensearch-security")
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			return fmt.Errorf("secured OpenSearch: %w", err)
		}
	}
	return nil
}

// endpoints are the users' endpoints at url, admin first.
func (s *secured) endpoints(url string) ([]providers.Endpoint, error) {
	var eps []providers.Endpoint
	for _, u := range []string{AdminUser, WorkshopUser} {
		pw, err := readPassword(s.passwords[u])
		if err != nil {
			return nil, err
		}
		eps = append(eps, providers.Endpoint{URL: url, Username: u, Password: pw, TLS: providers.TLS{CAFile: s.caFile}})
	}
	return eps, nil
}
