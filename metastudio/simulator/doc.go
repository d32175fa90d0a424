// Package simulator is an in-process fake of the Huawei Cloud MetaStudio
// user-config API and the IAM token API, for the exporter's tests, its
// --demo mode, the end-to-end test and benchmarks.
//
// It stands in for the cloud, so it must not import package metastudio:
// signatures are checked by its own verifier (verify.go), written from the
// SDK-HMAC-SHA256 algorithm and pinned by a known-answer test computed with
// openssl, so a passing client proves its signer right.
//
// # Routes
//
//	GET  /v1/{project_id}/smart-live-configs/user-config   stored body, as stored ("{}" if never set)
//	PUT  /v1/{project_id}/smart-live-configs/user-config   validate, store known fields, answer them
//	POST /v3/auth/tokens                                   IAM password login, project or domain scope
//	GET  /v3/auth/projects                                 IAM's project list (KeystoneListAuthProjects)
//
// Anything else answers 404 APIGW.0101. Every answer, 200 included, carries
// an X-Request-Id of 32 hex characters, unique per request.
//
// # Order of checks on MetaStudio routes
//
//  1. Route and method (404 APIGW.0101).
//  2. GETs are counted for Server.Calls (known projects only).
//  3. Options.Latency, ended early by request cancellation (then no answer).
//  4. Credentials: X-Auth-Token if present, else the AK/SK signature.
//  5. Project exists (404 MSS.00000004), then the credentials cover it (403 APIGW.0302).
//  6. GET: the tenant's Fault, if any; PUT: validation (faults do not apply).
//
// # Signature checks, in order
//
// Each failure is 401 APIGW.0301 "Incorrect IAM authentication
// information: <reason>"; reasons never hold a secret or the expected
// signature:
//
//	Authorization header missing
//	malformed Authorization header                       not "SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…"
//	host|x-project-id|x-sdk-date is not a signed header
//	X-Sdk-Date missing or malformed                      layout 20060102T150405Z
//	X-Sdk-Date is more than 15m0s away from the server clock   (Options.MaxSkew; exactly MaxSkew is accepted)
//	X-Project-Id does not match the project in the path
//	unknown access key
//	x-security-token is not a signed header              temporary AK/SK only
//	X-Security-Token missing | X-Security-Token invalid  temporary AK/SK only
//	signed header <name> missing from the request
//	signature mismatch
//
// SignedHeaders are lower-cased, sorted and de-duplicated before the
// canonical request is built. A header with several values gives one
// canonical line per value, values sorted. The host line uses the request's
// Host. One AK may serve several projects, as in a real account; AddTenant
// refuses the same AK with a different SK or security token.
//
// # Tokens
//
// POST /v3/auth/tokens answers 201 with the token in X-Subject-Token and
// expires_at/issued_at as 2006-01-02T15:04:05.000000Z, valid
// Options.TokenTTL. IAM errors use IAM's shape
// {"error":{"code":N,"message":"…","title":"…"}}:
//
//	400 The request body is invalid. | The password method is required. | A project or domain scope is required.
//	400 Specify either a project or a domain scope, not both.
//	401 The username or password is wrong.                    unknown domain/user or wrong password
//	401 The request you have made requires authentication.    user not granted the scoped project, or another domain
//	405 The method is not allowed for the requested URL.
//
// A domain scope ({"domain":{"name":…}}, the user's own domain) answers
// token.domain {id, name} instead of token.project; the id is a stable hash
// of the name.
//
// Using a token on MetaStudio: unknown or revoked → 401 APIGW.0307 "The
// token must be updated: token is invalid"; at or past expires_at → 401
// APIGW.0307 "The token must be updated: token has expired"; scoped to
// another project → 403 APIGW.0302 "The IAM user is not authorized to
// access the API: token is scoped to another project"; domain-scoped → 403
// APIGW.0302 "…: token is scoped to a domain, not to a project".
// Options.Latency does not apply to IAM.
//
// # Project list
//
// GET /v3/auth/projects lists, sorted by name, the projects visible to the
// caller: with X-Auth-Token (any scope, as in Keystone) those of the
// token's user, with AK/SK those of the access key. Every Tenant is listed,
// enabled, under Tenant.ProjectName (its id when empty); AddProject adds
// list-only projects (disabled, other regions, odd names), RemoveProject
// and SetProjectEnabled change the list. The answer is
// {"links":{"self","previous":null,"next":null},"projects":[{domain_id,
// is_domain,parent_id,name,description,links,id,enabled}]}, never paginated.
// Signatures follow the rules above except that IAM is a global service:
// only host and x-sdk-date must be signed, and a request carrying
// X-Project-Id is refused with "X-Project-Id must not be sent to a global
// service" (stricter than needed, so a client that signs IAM calls like
// MetaStudio calls is caught). Method other than GET → 405 in IAM's shape.
// SetProjectsFault applies a Fault after authentication, with the list as
// the stored body; ProjectListCalls counts requests before any check.
//
// # Error codes
//
// Errors are {"error_code":"…","error_msg":"…"}:
//
//	400 MSS.00000003  Invalid parameter: <field> must be between 0 and N | is not one of A|B | must be at most N characters | has the wrong type
//	401 APIGW.0301    Incorrect IAM authentication information: <reason>
//	401 APIGW.0307    The token must be updated: <reason>
//	403 APIGW.0302    The IAM user is not authorized to access the API: <reason>
//	404 APIGW.0101    The API does not exist or has not been published in the environment
//	404 MSS.00000004  The project does not exist
//	413 APIGW.0201    Request entity too large (request bodies over 64 KiB)
//	429 APIGW.0308    The throttling threshold has been reached: policy user over ratelimit
//	500 MSS.00000001  Internal error
//	502/503 APIGW.0202 Backend unavailable;  504 APIGW.0203 Backend timeout
//
// Throttling and 5xx answers come only from a Fault; a Fault with just a
// Status uses the code and message above for that status (other 4xx:
// MSS.00000003, other 5xx: MSS.00000001). A Status below 400 answers that
// status with no body.
//
// # PUT
//
// max_live_duration 0..168, max_exception_waiting_duration 0..60, known
// enums only, callback URL ≤ 2048 bytes, key ≤ 32 bytes. The stored body is
// the known fields re-encoded compactly: unknown fields are dropped and the
// config is replaced, not merged. SetConfig, by contrast, stores any valid
// JSON, so tests can serve unknown enums and out-of-range values.
//
// # Live events
//
// Sender plays MetaStudio's other side: it POSTs live events to a tenant's
// callback URL, {"event_type": "…", "message": "<JSON object as a string>"},
// signed with its own code (events.go), never the exporter's verifier.
// hwTime = hex(Unix seconds), hwSecret = hex(HMAC-SHA256(key, U + hwTime))
// with U the callback URL exactly as configured. MSS_A appends hwSecret and
// hwTime to the URL's query, MSS_A_HEAD sends them as x-hw-mss-secret and
// x-hw-mss-time, NONE sends the URL as it is. Server.Callback returns a
// project's stored live_event_callback_config, so that events go out as
// that tenant is configured; Sender.Origin routes the public URL to a
// local receiver, as a TLS-terminating proxy would.
//
// # Serving
//
// Start listens on 127.0.0.1:0 (Listen on a given address, for
// `metastudio_exporter simulate`) with net/http's error log discarded
// (aborted connections are what some faults are for), and Close drops connections
// and waits for running handlers, hung ones included. Tenant lookup takes a
// read lock only; per-tenant config, fault and counters are atomics; delays
// use a timer in the request's own goroutine.
package simulator
