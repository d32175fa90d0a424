// Package metastudio is the exporter's client of the Huawei Cloud APIs it
// reads: MetaStudio's smart-live API (a project's user-config, and what
// runs in it: rooms and live jobs) and IAM's project list and tokens. It
// signs requests with SDK-HMAC-SHA256 from an AK/SK, or with an IAM token
// it gets for a password, reads answers within a size limit, and classifies
// every failure by a Reason, the reason label of
// metastudio_scrape_error_info. Its types hold what monitoring needs of an
// answer: Settings reduces a user-config to values without secrets, and
// callback keys and URLs stay secret.String.
//
// It knows nothing of the config file, the tenant set or Prometheus: a
// Target carries what one call for one tenant needs. The simulator
// subpackage serves the same API in-process, for the tests and the demo.
package metastudio
