package config

import (
	"strings"
	"testing"
)

func TestRedactedGolden(t *testing.T) {
	cfg, err := LoadWithEnv("testdata/good/full.yml", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	want := `defaults:
  credentials: main
  region: cn-east-3
  timeout: 15s
  max_cache_age: 30s
  policy:
    max_live_duration: 3d
    max_exception_waiting: 10m
  rooms:
    refresh_interval: 10m
    max_rooms: 500
  live_jobs:
    refresh_interval: 1m
    failed_window: 1d
credentials:
  main:
    access_key: AKMAIN000000
    secret_key_file: ../secrets/main-sk
  ops:
    iam_password:
      domain: acme
      user: monitor
      password_file: ../secrets/ops-pw
  temp:
    access_key_file: ../secrets/temp-ak
    secret_key: <secret>
    security_token_file: ../secrets/temp-token
tenants:
  - name: shop-a
    project_id: 26f065244f754b3aa853b649a21aaf66
    endpoint: https://metastudio.cn-east-3.myhuaweicloud.com
    credentials: main
    region: cn-east-3
    timeout: 15s
    max_cache_age: 30s
    policy:
      max_live_duration: 3d
      max_exception_waiting: 10m
    rooms:
      refresh_interval: 10m
      max_rooms: 500
    live_jobs:
      refresh_interval: 1m
      failed_window: 1d
  - name: shop_b.eu
    project_id: proj-b
    endpoint: https://metastudio.ap-southeast-1.myhuaweicloud.com
    credentials: ops
    region: ap-southeast-1
    timeout: 15s
    max_cache_age: 30s
    policy:
      max_live_duration: 3d
      max_exception_waiting: 0s
    rooms:
      refresh_interval: 10m
      max_rooms: 500
    live_jobs:
      refresh_interval: 1m
      failed_window: 1d
  - name: Shop-C
    project_id: proj_c
    endpoint: https://metastudio.example.test:8443/proxy
    credentials: temp
    region: cn-east-3
    timeout: 1m
    max_cache_age: 1d
    policy:
      max_live_duration: 0s
      max_exception_waiting: 10m
    rooms:
      refresh_interval: 10m
      max_rooms: 500
    live_jobs:
      refresh_interval: 1m
      failed_window: 1d
`
	if string(got) != want {
		t.Errorf("Redacted():\n%s\nwant:\n%s", got, want)
	}
}

// TestRedactedHidesEverySecret covers inline secrets of every kind, secret
// file contents and environment credentials.
func TestRedactedHidesEverySecret(t *testing.T) {
	data := []byte(`credentials:
  aksk:
    access_key: AK-inline
    secret_key: inline-SK-9f8e7d
    security_token: inline-token-1a2b3c
  iam:
    iam_password:
      domain: acme
      user: monitor
      password: inline-password-77
  files:
    access_key_file: ../secrets/temp-ak
    secret_key_file: ../secrets/main-sk
    security_token_file: ../secrets/temp-token
tenants:
  - {name: a, project_id: p1, credentials: aksk}
  - {name: b, project_id: p2, credentials: iam}
  - {name: c, project_id: p3, credentials: files}
  - {name: d, project_id: p4}
`)
	cfg, err := Parse(data, "m.yml", "testdata/good", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, secret := range []string{
		"inline-SK-9f8e7d", "inline-token-1a2b3c", "inline-password-77",
		"SK-main-0123456789abcdef", "temporary-token-xyz", "AK-temp-FROMFILE", // file contents
		"ENV-AK", "ENV-SK-secretvalue", // environment
	} {
		if strings.Contains(s, secret) {
			t.Errorf("Redacted() shows %q:\n%s", secret, s)
		}
	}
	for _, line := range []string{
		"    secret_key: <secret>\n", "    security_token: <secret>\n", "      password: <secret>\n",
		"    access_key: AK-inline\n", "    secret_key_file: ../secrets/main-sk\n",
	} {
		if !strings.Contains(s, line) {
			t.Errorf("Redacted() lacks %q:\n%s", line, s)
		}
	}
	if n := strings.Count(s, "<secret>"); n != 3 {
		t.Errorf("Redacted() has %d <secret> values, want 3", n)
	}
}
