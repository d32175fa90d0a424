package metastudio

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// projectListBody is IAM's answer for n projects, produced as it is read,
// shaped as the simulator and IAM write it (about 300 bytes a project), so
// that a benchmark's heap holds what the decoder keeps and nothing of the
// body. sample runs after every MiB read.
type projectListBody struct {
	n, next int
	pending []byte
	done    bool
	read    int64
	sample  func()
}

func (b *projectListBody) Read(p []byte) (int, error) {
	for len(b.pending) < len(p) && !b.done {
		switch {
		case b.next == 0 && len(b.pending) == 0 && b.read == 0:
			b.pending = append(b.pending, `{"links":{"self":"https://iam.myhuaweicloud.com/v3/auth/projects","previous":null,"next":null},"projects":[`...)
		case b.next < b.n:
			if b.next > 0 {
				b.pending = append(b.pending, ',')
			}
			b.pending = fmt.Appendf(b.pending, `{"domain_id":"0123456789abcdef0123456789abcdef","is_domain":false,`+
				`"parent_id":"0123456789abcdef0123456789abcdef","name":"cn-north-4_project%06d","description":"",`+
				`"links":{"self":"https://iam.myhuaweicloud.com/v3/projects/%032x"},"id":"%032x","enabled":true}`, b.next, b.next, b.next)
			b.next++
		default:
			b.pending = append(b.pending, "]}"...)
			b.done = true
		}
	}
	if len(b.pending) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.pending)
	b.pending = b.pending[:copy(b.pending, b.pending[n:])]
	before := b.read
	b.read += int64(n)
	if b.sample != nil && b.read>>20 != before>>20 {
		b.sample()
	}
	return n, nil
}

func heapAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkListProjectsDecode decodes IAM project lists as ListProjects
// does, streamed, and reports the heap it took at its peak (sampled every
// MiB read) and what stays for the result, above the heap before it.
// "buffered" reads the body whole and decodes it with json.Unmarshal, for
// comparison.
func BenchmarkListProjectsDecode(b *testing.B) {
	for _, n := range []int{3_500, 200_000} {
		for _, mode := range []string{"stream", "buffered"} {
			b.Run(fmt.Sprintf("projects=%d/%s", n, mode), func(b *testing.B) {
				var peak, kept uint64
				var size int64
				b.ReportAllocs()
				for b.Loop() {
					runtime.GC()
					base := heapAlloc()
					body := &projectListBody{n: n}
					body.sample = func() { peak = max(peak, heapAlloc()-min(base, heapAlloc())) }
					var got []Project
					if mode == "stream" {
						var err *Error
						if got, err = decodeProjectStream(body, MaxProjectListBytes); err != nil {
							b.Fatal(err)
						}
					} else {
						raw, err := io.ReadAll(body)
						if err != nil {
							b.Fatal(err)
						}
						var list struct {
							Projects []wireProject `json:"projects"`
						}
						if err := json.Unmarshal(raw, &list); err != nil {
							b.Fatal(err)
						}
						got = make([]Project, len(list.Projects))
						for i, w := range list.Projects {
							got[i] = Project{ID: w.ID, Name: w.Name, Enabled: true, DomainID: w.DomainID}
						}
						body.sample()
					}
					if len(got) != n {
						b.Fatalf("%d projects", len(got))
					}
					runtime.GC()
					kept = heapAlloc() - min(base, heapAlloc())
					runtime.KeepAlive(got)
					size = body.read
				}
				b.SetBytes(size)
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(kept)/(1<<20), "kept-MiB")
			})
		}
	}
}
