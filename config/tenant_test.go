package config

import (
	"reflect"
	"testing"

	commoncfg "github.com/prometheus/common/config"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// stringFields lists a setter for every string field reachable from v,
// following struct fields and pointers to structs (allocated on the way),
// with the field's path for failure messages.
func stringFields(v reflect.Value, path string) map[string]func(string) {
	out := map[string]func(string){}
	if v.Type() == reflect.TypeFor[*commoncfg.HTTPClientConfig]() {
		return out // covered by the connection's digest
	}
	switch v.Kind() {
	case reflect.String:
		out[path] = func(s string) { v.SetString(s) }
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		for p, set := range stringFields(v.Elem(), path) {
			out[p] = set
		}
	case reflect.Struct:
		for i := range v.NumField() {
			for p, set := range stringFields(v.Field(i), path+"."+v.Type().Field(i).Name) {
				out[p] = set
			}
		}
	default:
		panic("identityOf does not know how to cover a " + v.Kind().String() + " at " + path)
	}
	return out
}

// TestIdentityCoversEveryTargetField fails when a field added to
// metastudio.Target (or its credentials) is left out of the state key: a
// reload that changed only that field would otherwise serve the old
// tenant's cached answer.
func TestIdentityCoversEveryTargetField(t *testing.T) {
	var target metastudio.Target
	fields := stringFields(reflect.ValueOf(&target).Elem(), "Target")
	if len(fields) < 9 {
		t.Fatalf("found only %d string fields in metastudio.Target; the walk is broken", len(fields))
	}
	for path := range fields {
		t.Run(path, func(t *testing.T) {
			var base metastudio.Target
			setters := stringFields(reflect.ValueOf(&base).Elem(), "Target")
			for p, set := range setters {
				set("value-of-" + p)
			}
			before := NewTenant(Tenant{Target: base}).Key()
			setters[path]("changed")
			after := NewTenant(Tenant{Target: base}).Key()
			if path == "Target.Name" {
				if before.identity != after.identity {
					t.Error("the name is part of the key on its own; it must not change the identity digest")
				}
				if before == after {
					t.Error("tenants that differ only by name share a key")
				}
				return
			}
			if before == after {
				t.Errorf("changing %s does not change the tenant's key", path)
			}
		})
	}
}

// TestIdentityFieldBoundaries: moving a character from one field to the
// next must change the key (fields are length-prefixed).
func TestIdentityFieldBoundaries(t *testing.T) {
	a := NewTenant(Tenant{Target: metastudio.Target{ProjectID: "pA", Credentials: metastudio.Credentials{AccessKey: "K"}}})
	b := NewTenant(Tenant{Target: metastudio.Target{ProjectID: "p", Credentials: metastudio.Credentials{AccessKey: "AK"}}})
	if a.Key() == b.Key() {
		t.Error("keys of tenants whose fields differ only at a boundary are equal")
	}
	// An IAM password with every field empty differs from none.
	c := NewTenant(Tenant{Target: metastudio.Target{Credentials: metastudio.Credentials{IAM: &metastudio.IAMPassword{}}}})
	d := NewTenant(Tenant{})
	if c.Key() == d.Key() {
		t.Error("an empty IAM password keys like no IAM password")
	}
}
