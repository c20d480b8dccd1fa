package checkertest

import (
	"reflect"
	"unsafe"
)

// scribble overwrites every value reachable from *p: numbers, booleans
// and strings get another value, slices are overwritten up to their
// capacity, map entries are replaced (an empty map gets one), pointers are
// followed. Memory a copy of the state shares with another state thus
// changes in both, which their encodings show. Unexported fields are
// reached too: the point is to find memory the model did not mean to
// share, wherever it hides.
func scribble[S any](p *S) {
	s := scribbler{seen: map[uintptr]bool{}}
	s.value(reflect.ValueOf(p).Elem())
}

type scribbler struct{ seen map[uintptr]bool }

// first reports whether the memory at addr is visited for the first time,
// so that cycles and shared parts are overwritten once.
func (s *scribbler) first(addr uintptr) bool {
	if s.seen[addr] {
		return false
	}
	s.seen[addr] = true
	return true
}

func (s *scribbler) value(v reflect.Value) {
	if !v.CanSet() && v.CanAddr() {
		v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() ^ 0x55) // bit 7 untouched: stays in range
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(v.Uint() ^ 0x55)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(v.Float() + 1)
	case reflect.String:
		v.SetString(v.String() + "\x00")
	case reflect.Array:
		for i := range v.Len() {
			s.value(v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			s.value(v.Field(i))
		}
	case reflect.Slice:
		if v.Cap() > 0 && s.first(v.Pointer()) {
			all := v.Slice(0, v.Cap())
			for i := range all.Len() {
				s.value(all.Index(i))
			}
		}
	case reflect.Map:
		s.mapEntries(v)
	case reflect.Pointer:
		if !v.IsNil() && s.first(v.Pointer()) {
			s.value(v.Elem())
		}
	}
}

// mapEntries replaces every entry of the map v by an overwritten copy, or
// adds a zero entry to an empty map.
func (s *scribbler) mapEntries(v reflect.Value) {
	if v.IsNil() || !s.first(v.Pointer()) {
		return
	}
	t := v.Type()
	if v.Len() == 0 {
		v.SetMapIndex(reflect.Zero(t.Key()), reflect.Zero(t.Elem()))
		return
	}
	for _, k := range v.MapKeys() {
		e := reflect.New(t.Elem()).Elem()
		e.Set(v.MapIndex(k))
		s.value(e)
		v.SetMapIndex(k, e)
	}
}
