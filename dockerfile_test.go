package main

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// No Docker engine runs where the tests run, so this checks what can be
// checked without one: the Dockerfile's promises, and that the build command
// it uses gives a static binary.
func TestDockerfile(t *testing.T) {
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, strings.TrimSpace(s.Text()))
	}
	text := strings.Join(lines, "\n")

	froms := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(text, -1)
	if len(froms) != 2 || !strings.HasPrefix(froms[1][1], "gcr.io/distroless/static") {
		t.Errorf("want a two-stage build ending on distroless/static, got %v", froms)
	}
	for _, want := range []string{
		"RUN CGO_ENABLED=0 go build",
		"USER 65532:65532",
		"EXPOSE 10036 10037",
		`ENTRYPOINT ["/bin/metastudio_exporter"]`,
		`CMD ["--config.file=/etc/metastudio_exporter/metastudio.yml"]`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if user := regexp.MustCompile(`(?m)^USER (\S+)`).FindStringSubmatch(text); user == nil || strings.HasPrefix(user[1], "0") || user[1] == "root" {
		t.Errorf("the final image must run as a non-root user, got %v", user)
	}
}

func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "metastudio_exporter")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader; it would not run on distroless/static")
		}
	}
	if libs, err := ef.ImportedLibraries(); err != nil || len(libs) != 0 {
		t.Errorf("the binary links shared libraries %v (%v)", libs, err)
	}
}
