// Package sdkcompat holds the tests that run Huawei Cloud's official Go
// SDK (github.com/huaweicloud/huaweicloud-sdk-go-v3) against the
// simulator: the SDK's MetaStudio client, with AK/SK credentials and the
// simulator as its endpoint, signs the requests as it signs them for the
// cloud, and the simulator's answers must decode into the SDK's models
// with the values the simulator holds. Run them with
//
//	cd metastudio/simulator/sdkcompat && go test ./...
package sdkcompat
