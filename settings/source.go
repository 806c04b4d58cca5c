package settings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
)

// A Source holds configuration loaded at start-up, from a config file, from flags or from anywhere else,
// as string values by key, so that reinitialisers and [Setting] values can read it and tests can override
// it key by key with [SetValue] and [UnsetValue]. Overrides sit on top of the loaded values; loading again
// replaces what was loaded and leaves the overrides in place.
//
// A Source is safe for concurrent use.
type Source struct {
	name string

	mu     sync.RWMutex
	loaded map[string]string
	over   map[string][]layer // test overrides by key, innermost last
}

// layer is one override: a value, or the key made absent.
type layer struct {
	value string
	set   bool
}

// NewSource returns an empty source; name says where its values come from (a file name, "flags") in
// messages.
func NewSource(name string) *Source {
	return &Source{name: name, loaded: map[string]string{}, over: map[string][]layer{}}
}

// Name returns the name given to [NewSource].
func (s *Source) Name() string { return s.name }

// Load replaces the loaded values with a copy of values and returns the keys whose value changed, sorted,
// ready for [Reload].
func (s *Source) Load(values map[string]string) (changed []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range values {
		if old, ok := s.loaded[k]; !ok || old != v {
			changed = append(changed, k)
		}
	}
	for k := range s.loaded {
		if _, ok := values[k]; !ok {
			changed = append(changed, k)
		}
	}
	s.loaded = maps.Clone(values)
	if s.loaded == nil {
		s.loaded = map[string]string{}
	}
	slices.Sort(changed)
	return changed
}

// LoadFile reads a JSON object from path and loads it as [Source.Load] does. Nested objects become
// dotted keys ({"dragon": {"eggs": true}} gives "dragon.eggs" = "true"); strings are loaded as they are,
// numbers and booleans as written, arrays as compact JSON, and null leaves the key absent.
func (s *Source) LoadFile(path string) (changed []string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("settings: source %s: %w", s.name, err)
	}
	values, err := flattenJSON(data)
	if err != nil {
		return nil, fmt.Errorf("settings: source %s: %s: %w", s.name, path, err)
	}
	return s.Load(values), nil
}

// LoadJSON loads a JSON object as [Source.LoadFile] does, from data: for instance a config file
// embedded with a go:embed directive.
func (s *Source) LoadJSON(data []byte) (changed []string, err error) {
	values, err := flattenJSON(data)
	if err != nil {
		return nil, fmt.Errorf("settings: source %s: %w", s.name, err)
	}
	return s.Load(values), nil
}

// flattenJSON turns a JSON object into dotted keys and string values.
func flattenJSON(data []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("want a JSON object: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("want one JSON object, found more after it")
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a JSON object, found %s", jsonKind(doc))
	}
	values := map[string]string{}
	var walk func(prefix string, obj map[string]any) error
	walk = func(prefix string, obj map[string]any) error {
		for k, v := range obj {
			key := prefix + k
			switch v := v.(type) {
			case nil:
			case map[string]any:
				if err := walk(key+".", v); err != nil {
					return err
				}
			case string:
				values[key] = v
			case json.Number:
				values[key] = v.String()
			case bool:
				values[key] = fmt.Sprint(v)
			default:
				b, err := json.Marshal(v)
				if err != nil {
					return fmt.Errorf("key %s: %w", key, err)
				}
				values[key] = string(b)
			}
		}
		return nil
	}
	return values, walk("", obj)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// Lookup returns the value of key and whether it is present: the innermost test override, else the loaded
// value.
func (s *Source) Lookup(key string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ls := s.over[key]; len(ls) > 0 {
		l := ls[len(ls)-1]
		return l.value, l.set
	}
	v, ok := s.loaded[key]
	return v, ok
}

// Get returns the value of key, or "" if it is absent.
func (s *Source) Get(key string) string {
	v, _ := s.Lookup(key)
	return v
}

// push adds an override of key and returns the function that removes it.
func (s *Source) push(key string, l layer) (restore func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	depth := len(s.over[key])
	s.over[key] = append(s.over[key], l)
	return func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.over[key]) != depth+1 {
			return fmt.Errorf("source %s: key %s has %d overrides, want %d: another override of it was not restored in order", s.name, key, len(s.over[key]), depth+1)
		}
		s.over[key] = s.over[key][:depth]
		if depth == 0 {
			delete(s.over, key)
		}
		return nil
	}
}

// describe quotes keys for a message, at most a few.
func describe(keys []string) string {
	const most = 8
	if len(keys) == 0 {
		return "none"
	}
	more := ""
	if len(keys) > most {
		more = fmt.Sprintf(" and %d more", len(keys)-most)
		keys = keys[:most]
	}
	return strings.Join(keys, ", ") + more
}
