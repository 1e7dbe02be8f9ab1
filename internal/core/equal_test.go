package core

import (
	"reflect"
	"testing"
	"time"
)

// TestEqualSeesEveryField: a record is written again only when Equal says
// it changed, so a change anywhere in it must be seen. The cases are made
// from the types themselves: every field of Instance, of the steps in it
// and of the actions in its outbox gets a case that changes it alone (a
// string, a flag, a number, a time, a ticket reference), and every map
// and slice one that adds an element; a field added to any of them later
// gets its case without editing this test, and fails it until equal
// compares it.
func TestEqualSeesEveryField(t *testing.T) {
	base := filled(reflect.TypeFor[Instance]()).Interface().(Instance)
	n := leaves(reflect.ValueOf(&base).Elem(), "Instance", nil)
	if n < 40 {
		t.Fatalf("only %d cases: the walk over Instance's fields lost some", n)
	}
	for i := range n {
		inst := filled(reflect.TypeFor[Instance]()).Interface().(Instance)
		var name string
		v := reflect.ValueOf(&inst).Elem()
		count := 0
		leaves(v, "Instance", func(path string, change func()) {
			if count == i {
				name = path
				change()
			}
			count++
		})
		t.Run(name, func(t *testing.T) {
			want := name != "Instance.UpdatedAt" // the time of the last change, not a change
			if got := !inst.Equal(base); got != want {
				t.Errorf("changed %s: Equal reports a change: %v, want %v", name, got, want)
			}
			if got := !base.Equal(inst); got != want {
				t.Errorf("changed %s: the other way round, Equal reports a change: %v, want %v", name, got, want)
			}
		})
	}

	t.Run("nil and empty collections are the same", func(t *testing.T) {
		a := Instance{Key: "k", Steps: map[string]StepState{}, Data: map[string]string{}, Outbox: []Action{}, Read: map[string]time.Time{}}
		if b := (Instance{Key: "k"}); !a.Equal(b) || !b.Equal(a) {
			t.Errorf("an instance with empty collections differs from one with none")
		}
	})
	t.Run("a time in another zone is the same instant", func(t *testing.T) {
		at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		a := Instance{CreatedAt: at, Steps: map[string]StepState{"1a": {OpenedAt: at}}}
		b := Instance{CreatedAt: at.In(time.FixedZone("CET", 3600)), Steps: map[string]StepState{"1a": {OpenedAt: at.In(time.FixedZone("CET", 3600))}}}
		if !a.Equal(b) {
			t.Errorf("the same instants in two zones differ")
		}
	})
}

var timeType = reflect.TypeFor[time.Time]()

// filled returns a value of type t with every field set and every map and
// slice holding one element, itself filled.
func filled(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	switch {
	case t == timeType:
		v.Set(reflect.ValueOf(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)))
	case t.Kind() == reflect.String:
		v.SetString("a")
	case t.Kind() == reflect.Bool:
	case t.Kind() == reflect.Int64, t.Kind() == reflect.Int:
		v.SetInt(1)
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			v.Field(i).Set(filled(t.Field(i).Type))
		}
	case t.Kind() == reflect.Map:
		v.Set(reflect.MakeMap(t))
		v.SetMapIndex(reflect.ValueOf("k").Convert(t.Key()), filled(t.Elem()))
	case t.Kind() == reflect.Slice:
		v.Set(reflect.Append(reflect.MakeSlice(t, 0, 1), filled(t.Elem())))
	default:
		panic("filled: no value for " + t.String())
	}
	return v
}

// leaves walks v (settable) and calls visit with a name and a change for
// every leaf and every collection in it, in a fixed order; it returns
// how many it found. A nil visit only counts.
func leaves(v reflect.Value, path string, visit func(path string, change func())) int {
	if visit == nil {
		visit = func(string, func()) {}
	}
	t := v.Type()
	switch {
	case t == timeType:
		visit(path, func() { v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Second))) })
		return 1
	case t.Kind() == reflect.String:
		visit(path, func() { v.SetString(v.String() + "x") })
		return 1
	case t.Kind() == reflect.Bool:
		visit(path, func() { v.SetBool(!v.Bool()) })
		return 1
	case t.Kind() == reflect.Int64, t.Kind() == reflect.Int:
		visit(path, func() { v.SetInt(v.Int() + 1) })
		return 1
	case t.Kind() == reflect.Struct:
		n := 0
		for i := range t.NumField() {
			n += leaves(v.Field(i), path+"."+t.Field(i).Name, visit)
		}
		return n
	case t.Kind() == reflect.Map:
		visit(path+" (one more)", func() { v.SetMapIndex(reflect.ValueOf("other").Convert(t.Key()), filled(t.Elem())) })
		n := 1
		for _, k := range v.MapKeys() {
			elem := reflect.New(t.Elem()).Elem()
			elem.Set(v.MapIndex(k))
			n += leaves(elem, path+"["+k.String()+"]", func(p string, change func()) {
				visit(p, func() { change(); v.SetMapIndex(k, elem) })
			})
		}
		return n
	case t.Kind() == reflect.Slice:
		visit(path+" (one more)", func() { v.Set(reflect.Append(v, filled(t.Elem()))) })
		n := 1
		for i := range v.Len() {
			n += leaves(v.Index(i), path+"["+string(rune('0'+i))+"]", visit)
		}
		return n
	}
	panic("leaves: cannot change a " + t.String())
}
