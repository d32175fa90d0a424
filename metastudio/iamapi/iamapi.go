// Package iamapi holds the wire form of IAM's token request
// (POST /v3/auth/tokens with the password method): the one definition the
// client encodes and the simulator decodes. It is a separate package so
// that the simulator can share it without importing package metastudio and
// its signer, which the simulator must check independently.
package iamapi

// AuthRequest is the body of POST /v3/auth/tokens.
type AuthRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password struct {
				User struct {
					Name     string `json:"name"`
					Password string `json:"password"`
					Domain   struct {
						Name string `json:"name"`
					} `json:"domain"`
				} `json:"user"`
			} `json:"password"`
		} `json:"identity"`
		// Scope holds one of Project and Domain.
		Scope struct {
			Project *ScopeProject `json:"project,omitempty"`
			Domain  *ScopeDomain  `json:"domain,omitempty"`
		} `json:"scope"`
	} `json:"auth"`
}

// ScopeProject scopes a token to one project.
type ScopeProject struct {
	ID string `json:"id"`
}

// ScopeDomain scopes a token to the user's whole domain (account).
type ScopeDomain struct {
	Name string `json:"name"`
}
