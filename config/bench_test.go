package config

import (
	"fmt"
	"strings"
	"testing"
)

// benchFile is a config of n tenants with defaults, credentials and a
// callback section each, the shape of a large deployment's file.
func benchFile(n int) []byte {
	var b strings.Builder
	b.WriteString("defaults:\n  credentials: main\n  timeout: 15s\n  policy: {max_live_duration: 72h}\ncredentials:\n  main: {access_key: AK, secret_key: SK}\ntenants:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: shop-%d\n    project_id: p%d\n    region: cn-north-4\n    policy:\n      max_exception_waiting: 10m\n    callback:\n      forward_timeout: 3s\n", i, i)
	}
	return []byte(b.String())
}

func BenchmarkParse1000Tenants(b *testing.B) {
	data := benchFile(1000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data, "m.yml", ".", testEnv); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseUnquotedValues: a file of 1000 tenants with 20 values no
// parser reads, each of which is reported.
func BenchmarkParseUnquotedValues(b *testing.B) {
	data := benchFile(1000)
	for i := range 20 {
		data = append(data, fmt.Sprintf("  - {name: bad-%d, project_id: q%d}\n  - name: worse-%d\n    project_id: %%SECRET%d\n", i, i, i, i)...)
	}
	for b.Loop() {
		if _, err := Parse(data, "m.yml", ".", testEnv); err == nil {
			b.Fatal("no error")
		}
	}
}
