// Command build writes the Grafana dashboards of metastudio_exporter,
// written in Go with Grafana's foundation SDK, as the JSON models in
// dashboards/*.json that the exporter's repository ships and embeds:
//
//	cd dashboards/build && go run . -out ..
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("out", "..", "directory to write the dashboard JSON files into")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

// write renders every dashboard into dir, one file each.
func write(dir string) error {
	for _, s := range all {
		b, err := render(s.build())
		if err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
		}
		if err := os.WriteFile(filepath.Join(dir, s.file), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
