//go:build !race

package metastudio_test

const raceEnabled = false
