package metastudio

import (
	"context"
	"net/http"
)

// PutUserConfig calls UpdateSmartLiveUserConfig for t with a JSON body. The
// exporter only reads: this write is for the tests that change a tenant's
// settings through the signed API, and lives with them.
func (c *Client) PutUserConfig(ctx context.Context, t Target, body []byte) error {
	buf, _, err := c.callProject(ctx, t, http.MethodPut, userConfigPath, "", body, "update user config")
	if err != nil {
		return err
	}
	putBuffer(buf)
	return nil
}

// SetProjectListLimit lowers the bound on IAM's project list for tests that
// check it without sending 64 MiB.
func SetProjectListLimit(c *Client, n int64) { c.maxProjectList = n }
