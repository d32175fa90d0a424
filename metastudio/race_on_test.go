//go:build race

package metastudio_test

// raceEnabled: the race detector slows encoding/json some thirty times,
// so the tests that decode tens of megabytes decode less under it.
const raceEnabled = true
