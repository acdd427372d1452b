package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo_FillsWhatTheLinkerDidNot(t *testing.T) {
	defer func(v, c, d string) { Version, Commit, Date = v, c, d }(Version, Commit, Date)
	Version, Commit, Date = "dev", "none", "unknown"
	fromBuildInfo(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "4e99d5612345678901234567890abcdef0123456"},
		{Key: "vcs.time", Value: "2026-11-27T13:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}, true)
	if Version != "dev" || Commit != "4e99d5612345+changes" || Date != "2026-11-27T13:00:00Z" {
		t.Fatalf("from a clone: %s %s %s", Version, Commit, Date)
	}

	Version, Commit, Date = "dev", "none", "unknown"
	fromBuildInfo(&debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, true)
	if Version != "v1.4.0" {
		t.Fatalf("go install …@v1.4.0 gave version %s", Version)
	}

	Version, Commit, Date = "v2.0.0", "abc123", "2026-01-01"
	fromBuildInfo(&debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "ffff"}}}, true)
	if Version != "v2.0.0" || Commit != "abc123" {
		t.Fatalf("link-time values were replaced: %s %s", Version, Commit)
	}
}
