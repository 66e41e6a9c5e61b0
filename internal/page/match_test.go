package page

import (
	"strings"
	"testing"
)

func TestCompareHolds(t *testing.T) {
	tests := []struct {
		name, page, run string
	}{
		{"identical", `MountVolume.SetUp failed for volume "secret-volume" : secret "misspelt-secret-name" not found`,
			`MountVolume.SetUp failed for volume "secret-volume" : secret "misspelt-secret-name" not found`},
		{"pod hash and node name", `Successfully assigned test/scenario-a-6d988b8d84-x7k2p to ip-10-42-1-23.us-west-2.compute.internal`,
			`Successfully assigned test/scenario-a-7fdffc4676-g9jqb to node-2`},
		{"kind node", `Successfully assigned test/scenario-a-6d988b8d84-x7k2p to node-1`,
			`Successfully assigned test/scenario-a-7fdffc4676-g9jqb to eventcheck-worker2`},
		{"ReplicaSet hash", `Scaled down replica set scenario-c-6d988b8d84 from 1 to 0`, `Scaled down replica set scenario-c-54b48d8575 from 1 to 0`},
		{"created pod", `Created pod: scenario-b-7c9f4b5d6d-m4n8t`, `Created pod: scenario-b-cff56c84-xn9hh`},
		{"a cut at the end", `Failed to pull image "wrong-image": rpc error: code = NotFound desc = failed...`,
			`Failed to pull image "wrong-image": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/wrong-image:latest"`},
		{"a cut in the middle", `0/3 nodes are available: ... 3 Preemption is not helpful for scheduling.`,
			`0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.`},
		{"the scheduler's node count", `0/3 nodes are available: 3 Insufficient cpu...`,
			`0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.`},
		{"a full stop prose adds", `Back-off pulling image "wrong-image".`, `Back-off pulling image "wrong-image"`},
		{"white space", "Back-off  pulling\nimage", "Back-off pulling image"},
		{"durations", `Successfully pulled image "nginx" in 627.545722ms (627.553403ms including waiting)`,
			`Successfully pulled image "nginx" in 1.2s (1.2s including waiting)`},
		{"an age and <unknown>", `Pod sandbox changed 2m10s ago, last seen <unknown>`, `Pod sandbox changed 5s ago, last seen 3h`},
		{"an IP and port", `Readiness probe failed: Get "http://10.42.127.4:8080/health": dial tcp 10.42.127.4:8080: connect: connection refused`,
			`Readiness probe failed: Get "http://10.244.0.7:8080/health": dial tcp 10.244.0.7:8080: connect: connection refused`},
		{"an RFC 3339 time", `Job completed at 2023-10-19T21:49:44Z`, `Job completed at 2026-01-02T03:04:05.123+01:00`},
		{"a UID", `Deleted object 7b12f29b-2c83-4b3b-8aa3-a4c8b22d8a38`, `Deleted object e56aa6b2-9808-45a8-8863-ec9112f23822`},
		{"a resourceVersion", `the object has been modified; resourceVersion 1485908 is old`, `the object has been modified; resourceVersion 22 is old`},
		{"a digest", `Pulled image "nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31"`,
			`Pulled image "nginx@sha256:bc5eac5eafc581aeda3008b4b1f07ebba230de2f27d47767129a6a905c84f470"`},
		{"an event name", `Event scenario-c.178fa09ddad7c5e3 dropped`, `Event scenario-c.1890e1c2a3b4c5d6 dropped`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			holds, diff := Compare(tt.page, tt.run)
			if !holds {
				t.Errorf("does not hold:\n page %s\n run  %s\n pattern %s\n diff %s", tt.page, tt.run, MessagePattern(tt.page), diff)
			}
			if diff != "" {
				t.Errorf("a holding comparison has a diff: %q", diff)
			}
		})
	}
}

func TestCompareDrifts(t *testing.T) {
	tests := []struct {
		name, page, run string
		// diff must hold these, and not hold notIn.
		in, notIn []string
	}{
		{"a pull failure's new code",
			`Failed to pull image "wrong-image": rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/wrong-image:latest"...`,
			`Failed to pull image "wrong-image": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/wrong-image:latest": failed to resolve reference "docker.io/library/wrong-image:latest": docker.io/library/wrong-image:latest: not found`,
			[]string{"[-Unknown-]", "{+NotFound+}"}, []string{"resolve", `[-"docker.io`}},
		{"the scheduler's new preemption wording",
			`0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.`,
			`0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.`,
			[]string{"[-No preemption victims found-]", "{+Preemption is not helpful+}", "[-incoming pod-]", "{+scheduling+}"}, []string{"Insufficient cpu. [-", "[-0/3"}},
		{"a scale-down in the new word order",
			`Scaled down replica set scenario-c-6d988b8d84 to 0 from 1`,
			`Scaled down replica set scenario-c-54b48d8575 from 1 to 0`,
			[]string{"from 1", "to 0"}, []string{"54b48d8575", "[-scenario-c"}},
		{"another workload", `Created pod: scenario-a-6d988b8d84-x7k2p`, `Created pod: scenario-b-6d988b8d84-x7k2p`,
			[]string{"[-scenario-a-6d988b8d84-x7k2p-]", "{+scenario-b-6d988b8d84-x7k2p+}"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			holds, diff := Compare(tt.page, tt.run)
			if holds {
				t.Fatalf("holds, want drifted: pattern %s", MessagePattern(tt.page))
			}
			for _, s := range tt.in {
				if !strings.Contains(diff, s) {
					t.Errorf("diff %q does not name %q", diff, s)
				}
			}
			for _, s := range tt.notIn {
				if strings.Contains(diff, s) {
					t.Errorf("diff %q names %q, which did not drift", diff, s)
				}
			}
		})
	}
}

func TestMessagePatternKeepsTheRest(t *testing.T) {
	p := MessagePattern(`secret "misspelt-secret-name" not found (x+y)`)
	for _, run := range []string{`secret "other" not found (x+y)`, `secret "misspelt-secret-name" not found (xxy)`, `secret "misspelt-secret-name" not found (x+y) again`} {
		if p.MatchString(run) {
			t.Errorf("%s matches %q", p, run)
		}
	}
}
