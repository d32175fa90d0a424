// Package simulator is an in-process fake of Huawei Cloud MetaStudio, as
// the cloud runs it: the user-config, rooms and live jobs APIs of any
// number of projects, with their rooms' and jobs' durations on its own
// clock; IAM's tokens and project list; the API gateway's signature
// checks, errors and throttling; faults per project and route; and a
// sender of signed live events. The exporter's tests, --demo, the
// simulate command, the end-to-end tests, the benchmarks and the load
// harness run against it.
//
// It stands in for the cloud, so it imports nothing of package metastudio:
// signatures are checked by its own verifier, pinned by a known-answer
// test computed with openssl and by the official SDK (module sdkcompat),
// so a client that passes proves its signer right.
//
// docs/simulator.md is the reference: routes, the order of checks, error
// codes, faults, and the sample projects' rooms and jobs.
package simulator
