package zammad

import "time"

// OnRetryAfter lets tests see each wait a Retry-After asked for, as capped.
func OnRetryAfter(c *Client, f func(time.Duration)) { c.onWait = f }
