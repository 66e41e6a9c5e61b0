package exporterenv

import "testing"

// Namespace and ServiceAccount name what exporter/deploy creates: the
// helm backend's default, the readiness waits and the lease all rely on it.
func TestConstantsNameWhatTheDeployCreates(t *testing.T) {
	objs, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace":
			found["namespace "+o.GetName()] = true
		case "ServiceAccount":
			found["serviceaccount "+o.GetNamespace()+"/"+o.GetName()] = true
		}
	}
	for _, want := range []string{"namespace " + Namespace, "serviceaccount " + Namespace + "/" + ServiceAccount} {
		if !found[want] {
			t.Errorf("exporter/deploy does not create %s (it creates %v)", want, found)
		}
	}
}
