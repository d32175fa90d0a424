package charts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/config"
)

// TestDefaultConfigLoads feeds the ConfigMap the default values render to
// the exporter's own config loader, with the Secret's files in place, so
// that the chart never ships an example the exporter refuses.
func TestDefaultConfigLoads(t *testing.T) {
	data := render(t, "existingSecret: metastudio-credentials").ConfigMaps[fullname].Data["metastudio.yml"]
	if !strings.Contains(data, secretsDir+"/") {
		t.Fatalf("the default config reads nothing from %s:\n%s", secretsDir, data)
	}
	// The Secret as the values.yaml comment tells users to create it.
	secrets := t.TempDir()
	for name, value := range map[string]string{"access_key": "AKEXAMPLE0000000000", "secret_key": "example-secret\n"} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	noEnv := func(string) (string, bool) { return "", false }
	cfg, err := config.Parse([]byte(strings.ReplaceAll(data, secretsDir, secrets)), "metastudio.yml", t.TempDir(), noEnv)
	if err != nil {
		t.Fatalf("the exporter refuses the chart's default config: %v\n%s", err, data)
	}
	tenants := cfg.Tenants()
	if len(tenants) != 1 || tenants[0].Name != "shop-a" || tenants[0].Credentials.AccessKey != "AKEXAMPLE0000000000" {
		t.Errorf("tenants %+v, want shop-a with the Secret's access key", tenants)
	}

	// Without the Secret the exporter names the missing file, which is what
	// NOTES.txt warns about.
	_, err = config.Parse([]byte(data), "metastudio.yml", t.TempDir(), noEnv)
	if err == nil || !strings.Contains(err.Error(), secretsDir+"/") {
		t.Errorf("without the Secret's files: %v, want an error naming %s", err, secretsDir)
	}
}
