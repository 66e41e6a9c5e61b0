package exporter_test

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// profiles, when set, is where the benchmarks that run the exporter as a
// process write its CPU profile over their measured phase and its heap
// profile at that phase's end (make profile).
var profiles = flag.String("profiles", "", "write the exporter's CPU and heap profiles of each benchmark under this directory")

// startExporterProcess runs the exporter binary with cfg (a config file's
// text) as the ServiceAccount, with profiling on, and returns it with its
// metrics address once it is ready. It is killed when b ends.
func startExporterProcess(b testing.TB, cfg string) (*exec.Cmd, string) {
	b.Helper()
	cfgPath := filepath.Join(b.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(env.exporter, "-conf", cfgPath, "-kubeconfig", env.saFile, "-metrics-address", addr, "-profiling")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitReady(b, "http://"+addr, true)
	return cmd, addr
}

// profileCPU starts a CPU profile of the exporter at addr lasting d, when
// -profiles is set; the returned function waits for it and writes it as
// DIR/name-cpu.pprof, with the heap of that moment beside it (saveHeap).
func profileCPU(b testing.TB, addr, name string, d time.Duration) (wait func()) {
	b.Helper()
	if *profiles == "" {
		return func() {}
	}
	done := make(chan error, 1)
	go func() {
		done <- saveProfile(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds())), name+"-cpu.pprof")
	}()
	return func() {
		if err := <-done; err != nil {
			b.Error(err)
		}
		saveHeap(b, addr, name)
	}
}

// saveHeap writes, when -profiles is set, the heap profile of the
// exporter at addr after a GC as DIR/name-heap.pprof, and the runtime's
// own account (MemStats) as DIR/name-memstats.txt.
func saveHeap(b testing.TB, addr, name string) {
	b.Helper()
	if err := saveProfile("http://"+addr+"/debug/pprof/heap?debug=1", name+"-memstats.txt"); err != nil {
		b.Error(err)
	}
	if err := saveProfile("http://"+addr+"/debug/pprof/heap?gc=1", name+"-heap.pprof"); err != nil {
		b.Error(err)
	}
}

// saveProfile writes what url serves as DIR/name when -profiles is set.
func saveProfile(url, name string) error {
	if *profiles == "" {
		return nil
	}
	if err := os.MkdirAll(*profiles, 0o755); err != nil {
		return err
	}
	return fetchProfile(url, filepath.Join(*profiles, name))
}

func fetchProfile(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return fmt.Errorf("profile %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("profile %s: %s: %s", url, resp.Status, body)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
