#!/bin/bash
# As the official image's entrypoint: every environment variable that looks
# like a setting (lower case, with a dot: discovery.type=single-node) becomes
# -E setting=value. The integration-test distribution has no security
# plugin, so DISABLE_SECURITY_PLUGIN and DISABLE_INSTALL_DEMO_CONFIG need
# nothing; OPENSEARCH_JAVA_OPTS is read by bin/opensearch itself.
set -euo pipefail
settings=()
host=(-E network.host=0.0.0.0) # reachable from outside the container, unless set
while IFS='=' read -r -d '' name value; do
  if [[ "$name" =~ ^[a-z0-9_]+\.[a-z0-9_.-]+$ ]]; then
    settings+=("-E" "$name=$value")
    if [[ "$name" == network.host ]]; then host=(); fi
  fi
done < <(env -0)
exec "${OPENSEARCH_HOME:-/usr/share/opensearch}/bin/opensearch" "${host[@]}" "${settings[@]}" "$@"
