package localsystem

import "os"

// Start points the process's AWS variables at the emulators it started,
// and localaws.Start reuses the emulators those variables name; so Stop
// puts them back as they were, and a System started again in the same
// process (as `make run` is started again on .local/) starts emulators of
// its own on its data folder instead of calling the stopped ones.

// keepEnv notes variable k's value before Start sets it, once.
func (s *System) keepEnv(k string) {
	if s.env == nil {
		s.env = map[string]*string{}
	}
	if _, ok := s.env[k]; ok {
		return
	}
	if v, ok := os.LookupEnv(k); ok {
		s.env[k] = &v
	} else {
		s.env[k] = nil
	}
}

// restoreEnv puts back the variables keepEnv noted.
func (s *System) restoreEnv() {
	for k, v := range s.env {
		if v == nil {
			os.Unsetenv(k)
		} else {
			os.Setenv(k, *v)
		}
	}
	s.env = nil
}
