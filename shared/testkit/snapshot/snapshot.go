// Package snapshot keeps a fake platform's state in a JSON file, so that a
// sandbox started again on the same folder remembers what it was told
// (make run's sandboxes).
package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Read decodes the JSON file at path into v. It reports false, and leaves
// v alone, when there is no file yet.
func Read(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

// Write replaces the file at path with v as indented JSON, making its
// folder if needed. The file is replaced whole (write, then rename), so a
// crash leaves the old snapshot or the new one, never half of one.
func Write(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
