package metastudio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// pageLimit is the largest page the list APIs give: limit is 1..100.
const pageLimit = 100

var errBadCount = errors.New("count: negative")

// listPage is what one page said.
type listPage struct {
	count    int64 // the answer's count, when hasCount
	hasCount bool
	entries  int // entries in the list, duplicates and entries without id included
}

// decodeListPage decodes {"count": N, "<listKey>": [entry, ...], ...} from
// dec, passing each entry to each. Other keys are skipped. An answer
// without the list is an error unless its count is 0: reading it as "none
// running" would hide every job, and the cloud sends an empty list.
func decodeListPage[W any](dec *json.Decoder, listKey string, each func(*W)) (listPage, error) {
	var pg listPage
	if err := expectObject(dec); err != nil {
		return pg, err
	}
	sawList := false
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return pg, err
		}
		switch key {
		case "count":
			var n *int64
			if err := dec.Decode(&n); err != nil {
				return pg, describeDecodeError("count", err)
			}
			if n != nil {
				if *n < 0 {
					return pg, errBadCount
				}
				pg.count, pg.hasCount = *n, true
			}
		case listKey:
			isNull, err := openList(dec, listKey)
			if err != nil || isNull {
				if err != nil {
					return pg, err
				}
				continue
			}
			sawList = true
			for dec.More() {
				var w W
				if err := dec.Decode(&w); err != nil {
					return pg, describeDecodeError(listKey+"["+strconv.Itoa(pg.entries)+"]", err)
				}
				pg.entries++
				each(&w)
			}
			if _, err := dec.Token(); err != nil { // the closing ]
				return pg, describeDecodeError(listKey, err)
			}
		default:
			if err := skipValue(dec); err != nil {
				return pg, describeDecodeError(key, err)
			}
		}
	}
	if err := closeObject(dec); err != nil {
		return pg, err
	}
	if !sawList && (!pg.hasCount || pg.count != 0) {
		return pg, fmt.Errorf("response has no %q list", listKey)
	}
	return pg, nil
}

// listSpec is one paginated list route.
type listSpec struct {
	op      string
	suffix  string     // path after /v1/{project_id}
	listKey string     // the answer's list field
	query   url.Values // filters; offset and limit are added per page
}

// listAll pages through a list route: offset from 0, limit 100, until the
// answer's count is reached, maxKept entries are kept, or a page comes back
// short or empty. keep turns an entry into its id and result (ok false for
// an entry without id, which cannot be told apart and is skipped).
//
// A hostile or confused upstream stays bounded: entries past maxKept are not
// kept, an entry seen on an earlier page is kept once (pages shift while
// jobs start), a page that adds nothing new ends the listing (a page that
// ignores offset would repeat forever), and the pages are capped at what
// maxKept takes plus two. total is the answer's count, or the entries seen
// when it sends none, and never less than what is kept.
func listAll[W, T any](ctx context.Context, c *Client, t Target, spec listSpec, maxKept int, keep func(*W) (string, T, bool)) ([]T, int, error) {
	seen := make(map[string]struct{})
	var out []T
	var count int64
	countKnown := false
	offset := 0
	query := url.Values{}
	for k, v := range spec.query {
		query[k] = v
	}
	for range maxKept/pageLimit + 2 {
		query.Set("offset", strconv.Itoa(offset))
		query.Set("limit", strconv.Itoa(pageLimit))
		buf, requestID, err := c.callProject(ctx, t, http.MethodGet, spec.suffix, query.Encode(), nil, spec.op)
		if err != nil {
			return nil, 0, err
		}
		added := 0
		pg, err := decodeListPage(json.NewDecoder(bytes.NewReader(buf.Bytes())), spec.listKey, func(w *W) {
			id, item, ok := keep(w)
			if !ok || len(out) >= maxKept {
				return
			}
			if _, dup := seen[id]; dup {
				return
			}
			seen[id] = struct{}{}
			out = append(out, item)
			added++
		})
		putBuffer(buf)
		if err != nil {
			return nil, 0, &Error{Reason: ReasonDecode, Op: spec.op, RequestID: requestID, Err: err}
		}
		if pg.hasCount {
			count, countKnown = pg.count, true
		}
		offset += pg.entries
		if len(out) >= maxKept || pg.entries < pageLimit || added == 0 || countKnown && int64(offset) >= count {
			break
		}
	}
	total := int64(offset)
	if countKnown {
		total = count
	}
	return out, int(max(total, int64(len(out)))), nil
}
