package simulator

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsNothingOfTheClient: the simulator checks the client's
// signatures with its own verifier, so it must not import package
// metastudio (the client and its signer); the IAM wire type it shares
// lives in metastudio/iamapi, which holds nothing else.
func TestImportsNothingOfTheClient(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	const client = "github.com/metastudio-exporter/metastudio_exporter/metastudio"
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == client || strings.HasPrefix(path, client+"/") && path != client+"/iamapi" {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
