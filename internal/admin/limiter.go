package admin

import (
	"strings"
	"sync"
	"time"
)

// loginLimiter slows password guessing: after maxFailures failed logins
// within window, from one address or for one name, further attempts are
// refused until the oldest failure leaves the window.
type loginLimiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time
}

const (
	maxFailures = 5
	window      = 15 * time.Minute
)

func newLoginLimiter() *loginLimiter { return &loginLimiter{failures: map[string][]time.Time{}} }

func limiterKeys(ip, name string) []string {
	return []string{"ip:" + ip, "name:" + strings.ToLower(name)}
}

// wait returns how long the caller must wait before trying; 0 = go ahead.
func (l *loginLimiter) wait(ip, name string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var longest time.Duration
	for _, k := range limiterKeys(ip, name) {
		recent := l.prune(k, now)
		if len(recent) >= maxFailures {
			if d := recent[len(recent)-maxFailures].Add(window).Sub(now); d > longest {
				longest = d
			}
		}
	}
	return longest
}

func (l *loginLimiter) fail(ip, name string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range limiterKeys(ip, name) {
		l.failures[k] = append(l.prune(k, now), now)
	}
}

func (l *loginLimiter) succeed(ip, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, "name:"+strings.ToLower(name))
}

func (l *loginLimiter) prune(k string, now time.Time) []time.Time {
	list := l.failures[k]
	i := 0
	for i < len(list) && now.Sub(list[i]) >= window {
		i++
	}
	list = list[i:]
	if len(list) == 0 {
		delete(l.failures, k)
		return nil
	}
	l.failures[k] = list
	return list
}
