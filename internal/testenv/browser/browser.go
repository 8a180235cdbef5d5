// Package browser starts a real headless Chromium for tests of the web
// pages, driven over the DevTools protocol (chromedp), and saves
// screenshots where a person can look at them afterwards.
package browser

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailtokens/internal/testenv"
)

// New starts Chromium for t and returns a context to run chromedp actions
// in. Without Chromium the test skips (fails under MAILTOKENS_REQUIRE_ALL=1).
func New(t testing.TB) context.Context {
	t.Helper()
	exe := testenv.LookPath(t, "chromium", "apt-get install chromium chromium-driver", "chromium-browser", "google-chrome", "/usr/bin/chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		// The machine has no internet: background fetches would only fail.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	// A hung page fails the test instead of blocking it.
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	// The first action starts the browser; its context must not carry the
	// overall timeout's cancel (it would stop the browser), so start here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// ScreenshotsEnv names the directory screenshots are saved in, for a person
// to look at after the run.
const ScreenshotsEnv = "MAILTOKENS_SCREENSHOTS"

// OutDir is where screenshots go: $MAILTOKENS_SCREENSHOTS, else
// $MAILTOKENS_TESTOUT/screenshots, else the test's temporary directory (a
// test does not write into the source tree unless asked to).
func OutDir(t testing.TB) string {
	dir := os.Getenv(ScreenshotsEnv)
	switch {
	case dir != "":
	case os.Getenv("MAILTOKENS_TESTOUT") != "":
		dir = filepath.Join(os.Getenv("MAILTOKENS_TESTOUT"), "screenshots")
	default:
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Screenshot saves the whole page as name.png in [OutDir] and returns its
// path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	return ScreenshotIn(t, ctx, OutDir(t), name)
}

// ScreenshotIn saves the whole page as name.png in dir (quality 100 makes
// Chromium send PNG) and returns its path.
func ScreenshotIn(t testing.TB, ctx context.Context, dir, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// Text returns the visible text of the element matching sel.
func Text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}
