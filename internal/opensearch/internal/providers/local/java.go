package local

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// OpenSearch 2.19 runs on Java 11 to 21.
const minJava, maxJava = 11, 21

// javaMajor reads the major version from a JDK's release file.
func javaMajor(home string) (int, error) {
	f, err := os.Open(filepath.Join(home, "release"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		v, ok := strings.CutPrefix(s.Text(), "JAVA_VERSION=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"`)
		v = strings.TrimPrefix(v, "1.") // 1.8.0 -> 8
		major, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
		if err != nil {
			return 0, fmt.Errorf("unreadable JAVA_VERSION %q", v)
		}
		return major, nil
	}
	return 0, fmt.Errorf("no JAVA_VERSION in %s/release", home)
}

// FindJava returns a JDK OpenSearch can run on: explicit, else $JAVA_HOME if
// its version fits, else the newest fitting JDK under /usr/lib/jvm. The
// error names every JDK it looked at.
func FindJava(explicit string) (string, int, error) {
	var seen []string
	try := func(home string) (int, bool) {
		if home == "" {
			return 0, false
		}
		if _, err := os.Stat(filepath.Join(home, "bin", "java")); err != nil {
			seen = append(seen, home+" (no bin/java)")
			return 0, false
		}
		v, err := javaMajor(home)
		if err != nil {
			seen = append(seen, fmt.Sprintf("%s (%v)", home, err))
			return 0, false
		}
		if v < minJava || v > maxJava {
			seen = append(seen, fmt.Sprintf("%s (Java %d)", home, v))
			return v, false
		}
		return v, true
	}
	if explicit != "" {
		if v, ok := try(explicit); ok {
			return explicit, v, nil
		}
		return "", 0, fmt.Errorf("JDK %s cannot run OpenSearch 2.19, which needs Java %d to %d: %s", explicit, minJava, maxJava, strings.Join(seen, ", "))
	}
	if v, ok := try(os.Getenv("JAVA_HOME")); ok {
		return os.Getenv("JAVA_HOME"), v, nil
	}
	homes, _ := filepath.Glob("/usr/lib/jvm/*")
	best, bestV := "", 0
	for _, h := range homes {
		if st, err := os.Lstat(h); err != nil || st.Mode()&os.ModeSymlink != 0 {
			continue // symlinked aliases of the same JDK
		}
		if v, ok := try(h); ok && v > bestV {
			best, bestV = h, v
		}
	}
	if best == "" {
		return "", 0, fmt.Errorf("no JDK for OpenSearch 2.19 (needs Java %d to %d); found: %s; install openjdk-17-jdk-headless or set JAVA_HOME / --java-home", minJava, maxJava, orNone(seen))
	}
	return best, bestV, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
