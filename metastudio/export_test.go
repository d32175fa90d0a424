package metastudio

import (
	"context"
	"net/http"
)

// PutUserConfig calls UpdateSmartLiveUserConfig for t with a JSON body. The
// exporter only reads: this write is for the tests that change a tenant's
// settings through the signed API, and lives with them.
func (c *Client) PutUserConfig(ctx context.Context, t Target, body []byte) error {
	buf, _, err := c.callUserConfig(ctx, t, http.MethodPut, body, "update user config")
	if err != nil {
		return err
	}
	putBuffer(buf)
	return nil
}
