// Package inputfile reads the files a person names on the command line or
// in content (checks.yaml, exporter configs and Helm values, dashboards
// exports, kustomizations) within a bound: /dev/zero or a 50 MB file passed
// by mistake is refused with the file's name and the limit, not read into
// memory. A pipe (process substitution: --checks <(...)) is read up to the
// same bound.
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Limits of what each kind of file may hold: far above any real one.
const (
	// Checks is a checks.yaml.
	Checks = 1 << 20
	// Values is an exporter config or Helm values file.
	Values = 4 << 20
	// Dashboards is a saved-objects export.
	Dashboards = 32 << 20
	// Manifest is a file of a kustomization.
	Manifest = 8 << 20
	// Credential is a CA, certificate, key or kubeconfig file.
	Credential = 1 << 20
)

// Size says a limit in the unit that reads best.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// TooLarge is a file over its limit.
type TooLarge struct {
	What, Path string
	Limit      int64
}

func (e *TooLarge) Error() string {
	return fmt.Sprintf("%s %s is larger than %s, the most a %s may hold: is it the right file?", e.What, e.Path, Size(e.Limit), e.What)
}

// Read reads at most limit bytes of the file at path; what says what it
// is, for the messages, which all name the file.
func Read(what, path string, limit int64) ([]byte, error) {
	return read(what, path, limit, func() (io.ReadCloser, error) { return os.Open(path) })
}

// ReadFS is Read on a kustomize file system (disk or in memory); shown is
// how the messages name the file (a built-in one is on no disk).
func ReadFS(fsys filesys.FileSystem, what, shown, path string, limit int64) ([]byte, error) {
	return read(what, shown, limit, func() (io.ReadCloser, error) { return fsys.Open(path) })
}

func read(what, path string, limit int64, open func() (io.ReadCloser, error)) ([]byte, error) {
	f, err := open()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s %s does not exist", what, path)
	case err != nil:
		return nil, fmt.Errorf("%s %s: %w", what, path, cause(err))
	}
	defer f.Close()
	if st, ok := f.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if info, err := st.Stat(); err == nil && info.IsDir() {
			return nil, fmt.Errorf("%s %s is a directory, not a file", what, path)
		} else if err == nil && info.Mode().IsRegular() && info.Size() > limit {
			return nil, &TooLarge{What: what, Path: path, Limit: limit}
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, cause(err))
	}
	if int64(len(data)) > limit {
		return nil, &TooLarge{What: what, Path: path, Limit: limit}
	}
	return data, nil
}

// cause is the system's reason of a path error, without the path again.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Check wants path to be a regular file of at most limit bytes, for files
// another library reads (a kubeconfig, a CA): flag names the flag in the
// message. A pipe or a device is refused: they are read more than once, or
// never end.
func Check(flag, path string, limit int64) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: no such file", flag, path)
	case err != nil:
		return fmt.Errorf("%s %s: %w", flag, path, err)
	case st.IsDir():
		return fmt.Errorf("%s %s is a directory: give a file", flag, path)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s %s is not a regular file (a pipe or a device cannot be read more than once, or never ends): write it to a file", flag, path)
	case st.Size() > limit:
		return fmt.Errorf("%s %s is larger than %s, the most it may hold: is it the right file?", flag, path, Size(limit))
	}
	return nil
}
