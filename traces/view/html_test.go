package view

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/raftcheck/raftcheck/spec"
)

// The browser tests need Chromium. Set RAFTCHECK_NO_BROWSER=1 to skip them
// on a machine without it; anywhere else a missing browser is a failure,
// so that CI cannot pass without having run them.
//
// RAFTCHECK_SCREENSHOTS=DIR makes TestViewerScreenshots write the README's
// pictures (viewer-*.png) into DIR:
//
//	RAFTCHECK_SCREENSHOTS=$PWD/docs/img go test -run Screenshot ./traces/

// ---- hand-made frames -------------------------------------------------

// viewerStory builds frames step by step from a mutable cluster state.
type viewerStory struct {
	st     spec.State
	frames []Frame
}

func newViewerStory(n int, caption string) *viewerStory {
	s := &viewerStory{}
	for i := 1; i <= n; i++ {
		s.st.Servers = append(s.st.Servers, spec.View{ID: spec.ServerID(i)})
	}
	s.frames = []Frame{{Step: 0, Caption: caption, Model: s.st.Clone()}}
	return s
}

// step applies change to the state and records the frame after it.
func (s *viewerStory) step(a spec.Action, caption string, change func(st *spec.State)) {
	change(&s.st)
	s.frames = append(s.frames, Frame{Step: len(s.frames), Action: a, Caption: caption, Model: s.st.Clone()})
}

func (s *viewerStory) last() *Frame { return &s.frames[len(s.frames)-1] }

// campaign: id times out and asks every other server for its vote.
func (s *viewerStory) campaign(id spec.ServerID, term spec.Term, caption string) {
	s.step(spec.Action{Kind: spec.Timeout, Server: id}, caption, func(st *spec.State) {
		c := &st.Servers[id-1]
		c.Term, c.VotedFor, c.Role, c.Votes, c.NextIndex, c.MatchIndex = term, id, spec.Candidate, []spec.ServerID{id}, nil, nil
		for _, v := range st.Servers {
			if v.ID != id {
				vwSend(st, vwRV(id, v.ID, term, spec.Index(len(c.Log)), spec.LastTerm(c.Log)))
			}
		}
	})
}

// grant: voter receives the candidate's request and grants its vote.
func (s *viewerStory) grant(candidate, voter spec.ServerID, caption string) {
	c := &s.st.Servers[candidate-1]
	req := vwRV(candidate, voter, c.Term, spec.Index(len(c.Log)), spec.LastTerm(c.Log))
	s.step(vwDeliver(req), caption, func(st *spec.State) {
		vwReceive(st, req)
		st.Servers[voter-1].Term, st.Servers[voter-1].VotedFor = req.Term, candidate
		vwSend(st, vwRVR(voter, candidate, req.Term, true))
	})
}

// win: the candidate receives voter's vote and becomes leader.
func (s *viewerStory) win(candidate, voter spec.ServerID, caption string) {
	resp := vwRVR(voter, candidate, s.st.Servers[candidate-1].Term, true)
	s.step(vwDeliver(resp), caption, func(st *spec.State) {
		vwReceive(st, resp)
		l := &st.Servers[candidate-1]
		l.Role, l.Votes = spec.Leader, nil
		l.NextIndex, l.MatchIndex = make([]spec.Index, len(st.Servers)), make([]spec.Index, len(st.Servers))
		for i := range l.NextIndex {
			if spec.ServerID(i+1) != candidate {
				l.NextIndex[i] = spec.Index(len(l.Log)) + 1
			}
		}
	})
}

func vwRV(from, to spec.ServerID, term spec.Term, lastIdx spec.Index, lastTerm spec.Term) spec.Message {
	return spec.Message{Type: spec.RequestVote, From: from, To: to, Term: term, LastLogIndex: lastIdx, LastLogTerm: lastTerm}
}

func vwRVR(from, to spec.ServerID, term spec.Term, granted bool) spec.Message {
	return spec.Message{Type: spec.RequestVoteResponse, From: from, To: to, Term: term, Granted: granted}
}

func vwAE(from, to spec.ServerID, term spec.Term, prevIdx spec.Index, prevTerm spec.Term, entries []spec.Entry, commit spec.Index) spec.Message {
	return spec.Message{Type: spec.AppendEntries, From: from, To: to, Term: term, PrevLogIndex: prevIdx, PrevLogTerm: prevTerm, Entries: entries, LeaderCommit: commit}
}

func vwAER(from, to spec.ServerID, term spec.Term, match spec.Index) spec.Message {
	return spec.Message{Type: spec.AppendEntriesResponse, From: from, To: to, Term: term, Success: true, MatchIndex: match}
}

func vwSend(st *spec.State, ms ...spec.Message) {
	for _, m := range ms {
		found := false
		for i := range st.Network {
			if st.Network[i].Message.Equal(&m) {
				st.Network[i].Count++
				found = true
			}
		}
		if !found {
			st.Network = append(st.Network, spec.InFlight{Message: m, Count: 1})
		}
	}
	spec.SortInFlight(st.Network)
}

func vwReceive(st *spec.State, m spec.Message) {
	for i := range st.Network {
		if st.Network[i].Message.Equal(&m) {
			st.Network[i].Count--
			if st.Network[i].Count == 0 {
				st.Network = append(st.Network[:i], st.Network[i+1:]...)
			}
			return
		}
	}
	panic(fmt.Sprintf("receive: %v is not in flight", m))
}

func vwDeliver(m spec.Message) spec.Action { return spec.Action{Kind: spec.Deliver, Message: &m} }

var vwSally = []spec.Entry{{Term: 1, Value: "sally"}}

// viewerElectionFrames is the classic animation's storyline on three servers: S1
// is elected, replicates and commits "sally", a partition cuts it off, S2
// is elected in term 2, and a server that forgets its vote on restart
// lets S1 be elected in term 2 as well, breaking ElectionSafety.
func viewerElectionFrames() []Frame {
	s := newViewerStory(3, "All three servers start as followers in term 0.")
	v := func(st *spec.State, id int) *spec.View { return &st.Servers[id-1] }
	s.campaign(1, 1, "S1's election timeout fires first: it becomes a candidate for term 1, votes for itself and requests votes.")
	s.grant(1, 2, "S2 has not voted in term 1 yet, so it votes for S1.")
	s.win(1, 2, "With votes from a majority (itself and S2), S1 becomes the leader of term 1.")
	s.grant(1, 3, "S3 votes for S1 too; S1 already leads.")
	s.step(spec.Action{Kind: spec.ClientRequest, Server: 1, Value: "sally"}, `A client sends "sally" to the leader: it is appended to the leader's log, not yet committed.`, func(st *spec.State) {
		v(st, 1).Log = vwSally
	})
	s.step(spec.Action{Kind: spec.Heartbeat, Server: 1}, "At the next heartbeat, the entry is replicated to the followers.", func(st *spec.State) {
		vwSend(st, vwAE(1, 2, 1, 0, 0, vwSally, 0), vwAE(1, 3, 1, 0, 0, vwSally, 0))
	})
	s.step(vwDeliver(vwAE(1, 2, 1, 0, 0, vwSally, 0)), "S2 appends the entry and acknowledges it.", func(st *spec.State) {
		vwReceive(st, vwAE(1, 2, 1, 0, 0, vwSally, 0))
		v(st, 2).Log = vwSally
		vwSend(st, vwAER(2, 1, 1, 1))
	})
	s.step(vwDeliver(vwAER(2, 1, 1, 1)), "A majority of servers have written the entry, so it becomes committed.", func(st *spec.State) {
		vwReceive(st, vwAER(2, 1, 1, 1))
		l := v(st, 1)
		l.CommitIndex, l.NextIndex, l.MatchIndex = 1, []spec.Index{0, 2, 1}, []spec.Index{0, 1, 0}
		st.History.Committed = []spec.CommittedEntry{{Entry: vwSally[0], CommitTerm: 1}}
	})
	s.step(spec.Action{Kind: spec.Heartbeat, Server: 1}, "At the next heartbeat, the leader tells the followers that the entry is committed.", func(st *spec.State) {
		vwSend(st, vwAE(1, 2, 1, 1, 1, nil, 1), vwAE(1, 3, 1, 0, 0, vwSally, 1))
	})
	s.step(spec.Action{Kind: spec.Duplicate, Message: &[]spec.Message{vwAE(1, 3, 1, 0, 0, vwSally, 0)}[0]}, "The network duplicates a message to S3.", func(st *spec.State) {
		vwSend(st, vwAE(1, 3, 1, 0, 0, vwSally, 0))
	})
	s.step(vwDeliver(vwAE(1, 2, 1, 1, 1, nil, 1)), "S2 learns that the entry is committed.", func(st *spec.State) {
		vwReceive(st, vwAE(1, 2, 1, 1, 1, nil, 1))
		v(st, 2).CommitIndex = 1
		vwSend(st, vwAER(2, 1, 1, 1))
	})
	groups := [][]spec.ServerID{{1}, {2, 3}}
	s.step(spec.Action{Kind: spec.Partition, Groups: groups}, "A network partition separates the leader S1 from the majority.", func(st *spec.State) {
		st.Partition = groups
	})
	s.campaign(2, 2, "S2 hears no heartbeat and starts an election for term 2.")
	s.grant(2, 3, "S3 grants S2 its vote for term 2.")
	s.win(2, 3, "S2 becomes the leader of term 2; S1, cut off, still thinks it leads term 1.")
	s.step(spec.Action{Kind: spec.Restart, Server: 3}, "With the seeded bug ForgetVoteOnRestart, S3 restarts and forgets its vote of term 2.", func(st *spec.State) {
		v(st, 3).VotedFor = 0
	})
	s.step(spec.Action{Kind: spec.Heal}, "The partition heals.", func(st *spec.State) {
		st.Partition = nil
	})
	s.campaign(1, 2, "S1 times out and runs for term 2 as well.")
	s.grant(1, 3, "S3 has forgotten its vote and votes a second time in term 2.")
	s.win(1, 3, "S1 becomes a second leader of term 2.")
	f := s.last()
	f.Violation, f.Message = "ElectionSafety", "S1 and S2 are both leaders of term 2"
	f.Failed = []string{"step 20: S1 is leader, expected follower"}
	return s.frames
}

// viewerImplFrames is a replay on the implementation that diverges at step 2: the
// implementation's S2 refuses the vote the model's S2 grants.
func viewerImplFrames() []Frame {
	s := newViewerStory(3, "Model and implementation start alike.")
	s.campaign(1, 1, "S1 starts an election for term 1.")
	s.grant(1, 2, "S2 should vote for S1.")
	for i := range s.frames {
		impl := s.frames[i].Model.Clone()
		s.frames[i].Impl = &impl
	}
	bad := s.last().Impl
	bad.Servers[1].VotedFor = 0
	bad.Network = nil
	vwSend(bad, vwRV(1, 3, 1, 0, 0), vwRVR(2, 1, 1, false))
	f := s.last()
	// Written out rather than computed, in the form of the replay's diff,
	// so that this test depends on no other code of the package.
	f.Diff = []string{
		"S2 voted_for",
		"message missing: RequestVoteResponse S2->S1 t1 granted (x1 vs x0)",
		"message unexpected: RequestVoteResponse S2->S1 t1 refused (x0 vs x1)",
	}
	f.DiffKind = "different state"
	return s.frames
}

// viewerModelOnlyFrames is viewerImplFrames continued on the model alone:
// after the divergence at step 2 the replay stops stepping the
// implementation, so the later frames are model-only.
func viewerModelOnlyFrames() []Frame {
	s := &viewerStory{frames: viewerImplFrames()}
	s.st = s.last().Model.Clone()
	s.win(1, 2, "S1 wins term 1 on the model.")
	s.grant(1, 3, "S3 votes for S1 as well.")
	for i := 3; i < len(s.frames); i++ {
		s.frames[i].ModelOnly = true
	}
	return s.frames
}

// viewerFailure is a replay's verdict line, as Page.Failure carries it.
const viewerFailure = "FAILED: step 2: expected S2 voted_for S1, got none"

// Text that would break out of the page if it were not escaped: the
// browser test checks that none of it runs and all of it shows verbatim.
const (
	viewerEvilTitle   = `<b>bold</b> & "quoted" </script><script>document.title='pwned'</script>`
	viewerEvilCaption = `</script><script>document.title='pwned'</script><img src=x onerror="document.title='pwned'"><!--`
	viewerEvilValue   = `<i>v</i></script>`
)

func viewerEvilFrames() []Frame {
	s := newViewerStory(2, viewerEvilCaption)
	s.step(spec.Action{Kind: spec.ClientRequest, Server: 1, Value: viewerEvilValue}, "]]></svg>"+viewerEvilCaption, func(st *spec.State) {
		st.Servers[0].Log = []spec.Entry{{Term: 0, Value: viewerEvilValue}}
	})
	s.last().Violation, s.last().Message = "<Evil>", viewerEvilCaption
	return s.frames
}

// viewerCrowdFrames stresses the layout: five servers, a long log, a
// three-way partition and many messages.
func viewerCrowdFrames() []Frame {
	s := newViewerStory(5, "Five servers.")
	s.campaign(3, 4, "S3 runs for term 4.")
	groups := [][]spec.ServerID{{1, 2}, {3}, {4, 5}}
	s.step(spec.Action{Kind: spec.Partition, Groups: groups}, "A three-way partition.", func(st *spec.State) {
		st.Partition = groups
		for i := range st.Servers {
			for k := 1; k <= 12; k++ {
				st.Servers[i].Log = append(st.Servers[i].Log, spec.Entry{Term: spec.Term(k/4 + 1), Value: spec.Value(fmt.Sprintf("value-%d", k))})
			}
			st.Servers[i].CommitIndex = spec.Index(2 * i)
		}
		vwSend(st, vwAE(1, 2, 1, 3, 1, st.Servers[0].Log[3:9], 4), vwAER(4, 3, 4, 9), vwRVR(5, 3, 4, false))
	})
	return s.frames
}

// ---- unit tests ---------------------------------------------------------

func writeViewerPage(t *testing.T, title string, frames []Frame) string {
	t.Helper()
	return writeViewerPageOf(t, Page{Title: title, Frames: frames})
}

func writeViewerPageOf(t *testing.T, p Page) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, p); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	return b.String()
}

var viewerDataRE = regexp.MustCompile(`(?s)<script type="application/json" id="trace-data">(.*?)</script>`)

// viewerEmbedded decodes the frames the page carries.
func viewerEmbedded(t *testing.T, page string) (title string, frames []Frame, actions []string) {
	t.Helper()
	m := viewerDataRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page has no trace-data script")
	}
	// The action is compared as text (action_text): the zero action of
	// the initial frame need not decode.
	var d struct {
		Title  string `json:"title"`
		Frames []struct {
			Frame
			Action     json.RawMessage `json:"action"`
			ActionText string          `json:"action_text"`
		} `json:"frames"`
	}
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatalf("the embedded data is not JSON: %v", err)
	}
	for _, f := range d.Frames {
		frames = append(frames, f.Frame)
		actions = append(actions, f.ActionText)
	}
	return d.Title, frames, actions
}

func TestWriteHTMLSelfContained(t *testing.T) {
	frames := viewerElectionFrames()
	page := writeViewerPage(t, "election and replication", frames)

	if !strings.HasPrefix(page, "<!DOCTYPE html>") || strings.Count(page, "<html") != 1 || strings.Count(page, "</html>") != 1 {
		t.Error("the output is not one HTML document")
	}
	// The only URL in the page is the SVG namespace, which is a name, not a
	// fetch; anything else would be a network reference.
	rest := strings.ReplaceAll(page, "'http://www.w3.org/2000/svg'", "")
	for _, bad := range []string{"http://", "https://", "//cdn", "<link", " src=", "@import", "url(http"} {
		if strings.Contains(rest, bad) {
			t.Errorf("the page contains the external reference %q", bad)
		}
	}
	if !strings.Contains(page, `http-equiv="Content-Security-Policy"`) || !strings.Contains(html.UnescapeString(page), "default-src 'none'") {
		t.Error("the page has no Content-Security-Policy forbidding fetches")
	}
	// The policy allows the inline script by hash: the script must reach the
	// page byte for byte, or the browser would refuse to run it.
	script := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindStringSubmatch(page)
	if script == nil {
		t.Fatal("no inline script")
	}
	sum := sha256.Sum256([]byte(script[1]))
	if want := "sha256-" + base64.StdEncoding.EncodeToString(sum[:]); !strings.Contains(html.UnescapeString(page), want) {
		t.Errorf("the CSP does not carry the inline script's hash %s", want)
	}
	for _, id := range []string{`id="caption"`, `id="action"`, `id="step"`, `id="next"`, `id="prev"`, `id="first"`, `id="last"`, `id="violation"`, `id="pictures"`,
		`id="step-list"`, `id="failure"`, `id="to-violation"`, `id="to-divergence"`} {
		if !strings.Contains(page, id) {
			t.Errorf("the page lacks %s", id)
		}
	}

	title, got, actions := viewerEmbedded(t, page)
	if title != "election and replication" {
		t.Errorf("embedded title %q", title)
	}
	for i := range frames {
		if want := viewerActionText(&frames[i]); actions[i] != want {
			t.Errorf("frame %d: embedded action %q, want %q", i, actions[i], want)
		}
		frames[i].Action = spec.Action{}
	}
	if !reflect.DeepEqual(got, frames) {
		t.Errorf("the embedded frames differ from the frames written:\n got %+v\nwant %+v", got, frames)
	}
}

func TestWriteHTMLEscapesUserText(t *testing.T) {
	frames := viewerEvilFrames()
	page := writeViewerPage(t, viewerEvilTitle, frames)
	if n := strings.Count(page, "<script"); n != 2 {
		t.Errorf("%d <script elements, want 2 (data and code): user text opened one", n)
	}
	if n := strings.Count(page, "</script>"); n != 2 {
		t.Errorf("%d </script> tags, want 2: user text closed one", n)
	}
	for _, bad := range []string{"<script>document", "<img", "<b>", "<i>", "<!--"} {
		if strings.Contains(page, bad) {
			t.Errorf("user text %q reached the page unescaped", bad)
		}
	}
	if !strings.Contains(page, "<title>&lt;b&gt;bold&lt;/b&gt; &amp; &#34;quoted&#34;") {
		t.Error("the title is not HTML-escaped in <title>")
	}
	title, got, _ := viewerEmbedded(t, page)
	if title != viewerEvilTitle || got[0].Caption != viewerEvilCaption || got[1].Model.Servers[0].Log[0].Value != viewerEvilValue {
		t.Errorf("user text did not survive the round trip: title %q caption %q", title, got[0].Caption)
	}
}

func TestWriteHTMLAnnotations(t *testing.T) {
	page := writeViewerPage(t, "", viewerImplFrames())
	m := viewerDataRE.FindStringSubmatch(page)
	var d struct {
		Title  string `json:"title"`
		Frames []struct {
			ActionText string            `json:"action_text"`
			ModelNotes viewerStateNotes  `json:"model_notes"`
			ImplNotes  *viewerStateNotes `json:"impl_notes"`
		} `json:"frames"`
	}
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatal(err)
	}
	if d.Title != "raftcheck trace" {
		t.Errorf("default title %q", d.Title)
	}
	if d.Frames[0].ActionText != "initial state" || d.Frames[1].ActionText != "Timeout(S1)" {
		t.Errorf("action texts %q, %q", d.Frames[0].ActionText, d.Frames[1].ActionText)
	}
	f := d.Frames[2]
	if f.ImplNotes == nil || !reflect.DeepEqual(f.ModelNotes.Divergent[1], []string{"voted_for"}) || len(f.ModelNotes.Divergent[0]) != 0 {
		t.Errorf("divergence of step 2 not worked out: %+v", f.ModelNotes.Divergent)
	}
	if want := []bool{false, true}; !reflect.DeepEqual(f.ModelNotes.OddMessages, want) {
		t.Errorf("model's odd messages %v, want %v (the granted vote is missing)", f.ModelNotes.OddMessages, want)
	}
	if want := "RequestVoteResponse S2->S1 t1 refused"; !strings.Contains(strings.Join(f.ImplNotes.Messages, "|"), want) {
		t.Errorf("impl messages %q lack %q", f.ImplNotes.Messages, want)
	}
}

func TestWriteHTMLFailureAndModelOnly(t *testing.T) {
	frames := viewerModelOnlyFrames()
	page := writeViewerPageOf(t, Page{Frames: frames, Failure: viewerFailure})
	var d struct {
		Failure string `json:"failure"`
		Frames  []struct {
			ModelOnly bool              `json:"model_only"`
			Impl      *spec.State       `json:"impl"`
			ImplNotes *viewerStateNotes `json:"impl_notes"`
		} `json:"frames"`
	}
	if err := json.Unmarshal([]byte(viewerDataRE.FindStringSubmatch(page)[1]), &d); err != nil {
		t.Fatal(err)
	}
	if d.Failure != viewerFailure {
		t.Errorf("embedded failure %q, want %q", d.Failure, viewerFailure)
	}
	for i, f := range d.Frames {
		if f.ModelOnly != frames[i].ModelOnly || f.ModelOnly && (f.Impl != nil || f.ImplNotes != nil) {
			t.Errorf("frame %d: model_only %v with impl %v, notes %v; want model_only %v and no impl", i, f.ModelOnly, f.Impl != nil, f.ImplNotes != nil, frames[i].ModelOnly)
		}
	}
	if page := writeViewerPage(t, "", frames); strings.Contains(viewerDataRE.FindStringSubmatch(page)[1], `"failure"`) {
		t.Error("a page without a failure embeds one")
	}
}

func TestWriteHTMLNoFrames(t *testing.T) {
	if err := WriteHTML(&bytes.Buffer{}, Page{Title: "x"}); err == nil {
		t.Error("WriteHTML accepted no frames")
	}
}

// ---- browser tests ------------------------------------------------------

// findViewerBrowser returns the Chromium to drive, or fails the test telling how
// to get one.
func findViewerBrowser(t *testing.T) string {
	t.Helper()
	if os.Getenv("RAFTCHECK_NO_BROWSER") == "1" {
		t.Skip("RAFTCHECK_NO_BROWSER=1: skipping the headless-browser test")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Fatal("no headless browser for the viewer test: install Chromium (apt-get install -y chromium), " +
		"or set RAFTCHECK_NO_BROWSER=1 to skip the browser tests")
	return ""
}

// runViewerBrowser runs headless Chromium with args and a throwaway profile, and
// returns its standard output.
func runViewerBrowser(t *testing.T, browser string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
		"--disable-extensions", "--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, browser, all...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", browser, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// viewerPageFile writes the page p into the test's temporary directory and
// returns its file: URL.
func viewerPageFile(t *testing.T, p Page) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trace.html")
	if err := os.WriteFile(path, []byte(writeViewerPageOf(t, p)), 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + path
}

type viewerPanelShot struct {
	Servers []struct {
		ID    int    `json:"id"`
		Role  string `json:"role"`
		Term  int    `json:"term"`
		Voted int    `json:"voted"`
	} `json:"servers"`
	Entries, Committed, Messages, Blocked, Regions, Cut, Divergent, Odd int
	// Links counts the link labels; Geometry holds the boxes of the
	// picture that must not overlap (html_layout_test.go).
	Links    int            `json:"links"`
	Geometry viewerGeometry `json:"geometry"`
}

type viewerSnapshot struct {
	Index       int                         `json:"index"`
	Step        string                      `json:"step"`
	Caption     string                      `json:"caption"`
	Action      string                      `json:"action"`
	Violation   *string                     `json:"violation"`
	Loop        *string                     `json:"loop"`
	Failure     *string                     `json:"failure"`
	Failed      []string                    `json:"failed"`
	Diff        []string                    `json:"diff"`
	ImplMissing bool                        `json:"implMissing"`
	ModelOnly   *string                     `json:"modelOnly"`
	Listed      int                         `json:"listed"` // the step list's highlighted index
	SVGHash     string                      `json:"svgHash"`
	SVGLength   int                         `json:"svgLength"`
	Panels      map[string]*viewerPanelShot `json:"panels"`
}

type viewerSelftest struct {
	Frames  int              `json:"frames"`
	Initial viewerSnapshot   `json:"initial"`
	Steps   []viewerSnapshot `json:"steps"`
	Nav     map[string]int   `json:"nav"`
	Errors  []string         `json:"errors"`
	Title   string           `json:"title"`
	// List is the step list as shown: each step's number, action text and
	// marks ("violation", "failed", "divergent", "model-only").
	List []struct {
		Step  string   `json:"step"`
		Text  string   `json:"text"`
		Marks []string `json:"marks"`
	} `json:"list"`
	// Hover is what pointing at the model's first label highlighted: its
	// link in the list, and how many elements in all.
	Hover *struct {
		Link   string `json:"link"`
		Listed string `json:"listed"`
		Hot    int    `json:"hot"`
	} `json:"hover"`
	// Jumps tells whether the jump buttons are hidden and disabled.
	Jumps map[string]struct {
		Hidden   bool `json:"hidden"`
		Disabled bool `json:"disabled"`
	} `json:"jumps"`
}

var viewerSelftestRE = regexp.MustCompile(`(?s)<pre id="selftest"[^>]*>(.*?)</pre>`)

// runViewerSelftest opens the page at #selftest&<hash> in headless
// Chromium and returns what the page recorded while stepping through its
// frames. Every picture of every step is checked for overlaps.
func runViewerSelftest(t *testing.T, browser string, p Page, hash string) viewerSelftest {
	t.Helper()
	frames := p.Frames
	dom := runViewerBrowser(t, browser, "--dump-dom", viewerPageFile(t, p)+"#selftest&"+hash)
	m := viewerSelftestRE.FindSubmatch(dom)
	if m == nil || len(m[1]) == 0 {
		t.Fatalf("the page recorded no self-test: its script did not run (blocked by the CSP or failed):\n%.2000s", dom)
	}
	var st viewerSelftest
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &st); err != nil {
		t.Fatalf("self-test output: %v\n%.2000s", err, m[1])
	}
	if len(st.Errors) > 0 {
		t.Errorf("script errors in the page: %q", st.Errors)
	}
	if st.Frames != len(frames) || len(st.Steps) != len(frames) {
		t.Fatalf("the page visited %d of %d frames", len(st.Steps), len(frames))
	}
	checkViewerStepList(t, &st, frames, p.Loop)
	for i := range frames {
		s := &st.Steps[i]
		for side, panel := range s.Panels {
			state := &frames[i].Model
			if side == "impl" {
				state = frames[i].Impl
			}
			if state != nil {
				checkViewerLayout(t, fmt.Sprintf("step %d %s", frames[i].Step, side), panel, state)
			}
		}
		if (p.Failure == "") != (s.Failure == nil) || s.Failure != nil && !strings.Contains(*s.Failure, p.Failure) {
			t.Errorf("step %d: failure banner %v, want %q", frames[i].Step, s.Failure, p.Failure)
		}
	}
	return st
}

// checkViewerStepList checks the step list against the frames: one entry a
// step with its number, action and marks, and the shown step highlighted.
func checkViewerStepList(t *testing.T, st *viewerSelftest, frames []Frame, loop *int) {
	t.Helper()
	if len(st.List) != len(frames) {
		t.Errorf("the step list has %d entries, want %d", len(st.List), len(frames))
		return
	}
	for i := range frames {
		f, e := &frames[i], st.List[i]
		if e.Step != fmt.Sprint(f.Step) || e.Text != viewerActionText(f) {
			t.Errorf("step list entry %d: %q %q, want %d %q", i, e.Step, e.Text, f.Step, viewerActionText(f))
		}
		var want []string
		for _, m := range []struct {
			on   bool
			mark string
		}{{f.Violation != "", "violation"}, {len(f.Failed) > 0, "failed"}, {len(f.Diff) > 0, "divergent"}, {f.ModelOnly, "model-only"},
			{loop != nil && f.Step == *loop+1 && *loop < frames[len(frames)-1].Step, "loop-start"}, {loop != nil && i == len(frames)-1, "loop-end"}} {
			if m.on {
				want = append(want, m.mark)
			}
		}
		if strings.Join(e.Marks, " ") != strings.Join(want, " ") {
			t.Errorf("step list entry %d marked %q, want %q", i, e.Marks, want)
		}
		if st.Steps[i].Listed != i {
			t.Errorf("step %d: the step list highlights entry %d", f.Step, st.Steps[i].Listed)
		}
	}
	hasViolation, hasDiff := false, false
	for i := range frames {
		hasViolation = hasViolation || frames[i].Violation != ""
		hasDiff = hasDiff || len(frames[i].Diff) > 0
	}
	for id, has := range map[string]bool{"to-violation": hasViolation, "to-divergence": hasDiff} {
		if j := st.Jumps[id]; j.Hidden == has || j.Disabled == has {
			t.Errorf("%s button hidden %v, disabled %v; the trace has its target: %v", id, j.Hidden, j.Disabled, has)
		}
	}
}

func viewerActionText(f *Frame) string {
	if f.Action.Kind == 0 {
		return "initial state"
	}
	return f.Action.String()
}

// checkViewerPanel compares one picture as drawn with the state it shows.
func checkViewerPanel(t *testing.T, where string, p *viewerPanelShot, s *spec.State) {
	t.Helper()
	if p == nil {
		t.Errorf("%s: no picture", where)
		return
	}
	if len(p.Servers) != len(s.Servers) {
		t.Errorf("%s: %d servers drawn, want %d", where, len(p.Servers), len(s.Servers))
		return
	}
	entries, committed := 0, 0
	for i, v := range s.Servers {
		got := p.Servers[i]
		if got.ID != int(v.ID) || got.Role != v.Role.String() || got.Term != int(v.Term) || got.Voted != int(v.VotedFor) {
			t.Errorf("%s: server drawn as %+v, want %v", where, got, v)
		}
		entries += len(v.Log)
		committed += len(v.Committed())
	}
	if p.Entries != entries || p.Committed != committed {
		t.Errorf("%s: %d entries (%d committed) drawn, want %d (%d)", where, p.Entries, p.Committed, entries, committed)
	}
	if p.Messages != len(s.Network) {
		t.Errorf("%s: %d messages drawn, want %d", where, p.Messages, len(s.Network))
	}
	regions, blocked := 0, 0
	if len(s.Partition) >= 2 {
		regions = len(s.Partition)
		group := map[spec.ServerID]int{}
		for g, ids := range s.Partition {
			for _, id := range ids {
				group[id] = g
			}
		}
		for _, m := range s.Network {
			if group[m.Message.From] != group[m.Message.To] {
				blocked++
			}
		}
	}
	if p.Regions != regions || p.Blocked != blocked {
		t.Errorf("%s: %d partition regions and %d blocked messages drawn, want %d and %d", where, p.Regions, p.Blocked, regions, blocked)
	}
}

func TestViewerInBrowser(t *testing.T) {
	browser := findViewerBrowser(t)

	t.Run("election", func(t *testing.T) {
		t.Parallel()
		frames := viewerElectionFrames()
		const title = "election, replication, partition"
		// With the animations on, so that their code runs too.
		st := runViewerSelftest(t, browser, Page{Title: title, Frames: frames}, "animate&step=7")
		n := len(frames)
		lastStep := frames[n-1].Step
		if st.Initial.Index != 7 || st.Initial.Step != fmt.Sprintf("step 7 / %d", lastStep) {
			t.Errorf("#step=7 opened index %d (%q)", st.Initial.Index, st.Initial.Step)
		}
		if st.Title != title {
			t.Errorf("document title %q", st.Title)
		}
		for i := range frames {
			f, s := &frames[i], &st.Steps[i]
			where := fmt.Sprintf("step %d", f.Step)
			if s.Index != i {
				t.Errorf("%s: the page shows frame %d", where, s.Index)
			}
			if want := fmt.Sprintf("step %d / %d", f.Step, lastStep); s.Step != want {
				t.Errorf("%s: counter %q, want %q", where, s.Step, want)
			}
			if s.Caption != f.Caption {
				t.Errorf("%s: caption %q, want %q", where, s.Caption, f.Caption)
			}
			if want := viewerActionText(f); s.Action != want {
				t.Errorf("%s: action %q, want %q", where, s.Action, want)
			}
			switch {
			case f.Violation == "" && s.Violation != nil:
				t.Errorf("%s: violation banner %q on a step that violates nothing", where, *s.Violation)
			case f.Violation != "" && (s.Violation == nil || !strings.Contains(*s.Violation, f.Violation) || !strings.Contains(*s.Violation, f.Message)):
				t.Errorf("%s: violation banner %v, want %s: %s", where, s.Violation, f.Violation, f.Message)
			}
			if !reflect.DeepEqual(s.Failed, f.Failed) {
				t.Errorf("%s: failed expectations shown %q, want %q", where, s.Failed, f.Failed)
			}
			if s.Panels["impl"] != nil || s.ImplMissing || s.Diff != nil {
				t.Errorf("%s: an implementation picture without Impl", where)
			}
			checkViewerPanel(t, where, s.Panels["model"], &f.Model)
			if i > 0 && s.SVGHash == st.Steps[i-1].SVGHash {
				t.Errorf("%s: the picture did not change from the step before", where)
			}
		}
		// The leader is drawn as a leader (step 3: S1 wins term 1), and the
		// partition of step 12 is drawn with a cut between the groups.
		if r := st.Steps[3].Panels["model"].Servers[0].Role; r != "leader" {
			t.Errorf("step 3: S1 drawn as %q, want leader", r)
		}
		if p := st.Steps[12].Panels["model"]; p.Regions != 2 || p.Cut != 1 {
			t.Errorf("step 12: partition drawn as %d regions and %d cuts, want 2 and 1", p.Regions, p.Cut)
		}
		want := map[string]int{"pastEnd": n - 1, "left": n - 2, "prev": n - 3, "first": 0, "beforeFirst": 0, "end": n - 1, "home": 0, "last": n - 1, "scrub": 1,
			"violationKey": n - 1, "violationButton": n - 1, "divergenceKey": 0, "divergenceButton": 0, "listClick": 2}
		if !reflect.DeepEqual(st.Nav, want) {
			t.Errorf("navigation went to %v, want %v", st.Nav, want)
		}
		// Step 2 (where the list click left the page) has RV S1->S3 in
		// flight: its label, line, dot and list entry light up together.
		if h := st.Hover; h == nil || h.Link != "1-3" || h.Listed != "1-3" || h.Hot != 4 {
			t.Errorf("hovering the first label highlighted %+v, want link 1-3 and its list entry (4 elements)", h)
		}
	})

	t.Run("implementation", func(t *testing.T) {
		t.Parallel()
		frames := viewerImplFrames()
		st := runViewerSelftest(t, browser, Page{Title: "model vs implementation", Frames: frames}, "step=0")
		for i := range frames {
			f, s := &frames[i], &st.Steps[i]
			where := fmt.Sprintf("step %d", f.Step)
			checkViewerPanel(t, where+" model", s.Panels["model"], &f.Model)
			checkViewerPanel(t, where+" implementation", s.Panels["impl"], f.Impl)
			if !reflect.DeepEqual(s.Diff, f.Diff) {
				t.Errorf("%s: diff shown %q, want %q", where, s.Diff, f.Diff)
			}
			diverged := len(f.Diff) > 0
			for _, side := range []string{"model", "impl"} {
				if p := s.Panels[side]; p != nil && (p.Divergent > 0) != diverged {
					t.Errorf("%s %s: %d servers marked divergent", where, side, p.Divergent)
				}
			}
		}
		if m, i := st.Steps[2].Panels["model"], st.Steps[2].Panels["impl"]; m.Odd != 1 || i.Odd != 1 {
			t.Errorf("step 2: %d and %d messages marked as differing, want 1 and 1", m.Odd, i.Odd)
		}
		if st.Nav["divergenceKey"] != 2 || st.Nav["divergenceButton"] != 2 || st.Nav["violationKey"] != 0 {
			t.Errorf("the jumps went to %v, want the divergence at 2 and no violation", st.Nav)
		}
	})

	t.Run("model-only", func(t *testing.T) {
		t.Parallel()
		frames := viewerModelOnlyFrames()
		st := runViewerSelftest(t, browser, Page{Title: "diverged", Frames: frames, Failure: viewerFailure}, "")
		for i := range frames {
			f, s := &frames[i], &st.Steps[i]
			where := fmt.Sprintf("step %d", f.Step)
			checkViewerPanel(t, where+" model", s.Panels["model"], &f.Model)
			if !f.ModelOnly {
				checkViewerPanel(t, where+" implementation", s.Panels["impl"], f.Impl)
				if s.ModelOnly != nil {
					t.Errorf("%s: model-only note %q before the divergence", where, *s.ModelOnly)
				}
				continue
			}
			const want = "diverged at step 2; from here on only the model is shown"
			if s.Panels["impl"] != nil || s.ImplMissing || s.ModelOnly == nil || !strings.Contains(*s.ModelOnly, want) {
				t.Errorf("%s: model-only frame shown with impl picture %v, missing-state panel %v, note %v; want the note %q",
					where, s.Panels["impl"] != nil, s.ImplMissing, s.ModelOnly, want)
			}
		}
	})

	t.Run("crowd", func(t *testing.T) {
		t.Parallel()
		frames := viewerCrowdFrames()
		st := runViewerSelftest(t, browser, Page{Title: "five servers", Frames: frames, Failure: viewerFailure}, "animate")
		for i := range frames {
			checkViewerPanel(t, fmt.Sprintf("step %d", i), st.Steps[i].Panels["model"], &frames[i].Model)
		}
		if p := st.Steps[2].Panels["model"]; p.Regions != 3 || p.Cut != 0 {
			t.Errorf("three-way partition drawn as %d regions and %d cuts, want 3 and 0", p.Regions, p.Cut)
		}
	})

	t.Run("escaping", func(t *testing.T) {
		t.Parallel()
		frames := viewerEvilFrames()
		st := runViewerSelftest(t, browser, Page{Title: viewerEvilTitle, Frames: frames, Failure: viewerEvilCaption}, "")
		if st.Title != viewerEvilTitle {
			t.Errorf("document title %q, want the raw title %q (injected script ran?)", st.Title, viewerEvilTitle)
		}
		for i := range frames {
			if st.Steps[i].Caption != frames[i].Caption {
				t.Errorf("step %d: caption shown as %q, want %q verbatim", i, st.Steps[i].Caption, frames[i].Caption)
			}
		}
		if v := st.Steps[1].Violation; v == nil || !strings.Contains(*v, "<Evil>") {
			t.Errorf("violation shown as %v", v)
		}
	})
}

// TestViewerScreenshots renders PNG screenshots of the viewer. By default
// it renders one into a temporary directory and checks it; with
// RAFTCHECK_SCREENSHOTS=DIR it writes the README's pictures into DIR.
func TestViewerScreenshots(t *testing.T) {
	browser := findViewerBrowser(t)
	dir := os.Getenv("RAFTCHECK_SCREENSHOTS")
	all := dir != ""
	if !all {
		dir = t.TempDir()
	}
	shots := []struct {
		file    string
		title   string
		frames  []Frame
		step    int
		failure string
	}{
		{"viewer-replication.png", "S1 replicates \"sally\" to a majority", viewerElectionFrames(), 8, ""},
		{"viewer-violation.png", "ElectionSafety broken by ForgetVoteOnRestart", viewerElectionFrames(), 20, ""},
		{"viewer-partition.png", "S2 runs for term 2 on the majority side of a partition", viewerElectionFrames(), 14, ""},
		{"viewer-crowd.png", "five servers, a three-way partition", viewerCrowdFrames(), 2, ""},
		{"viewer-side-by-side.png", "model vs implementation: S2 refuses its vote", viewerImplFrames(), 2, ""},
		{"viewer-seven.png", "seven servers, every link busy", viewerSevenFrames(), 6, ""},
		{"viewer-seven-side-by-side.png", "seven servers, model vs implementation", viewerSevenDualFrames(), 7, ""},
		{"viewer-model-only.png", "after the divergence only the model is shown", viewerModelOnlyFrames(), 3, viewerFailure},
	}
	if !all {
		shots = shots[:1]
	}
	for _, s := range shots {
		out := filepath.Join(dir, s.file)
		viewerScreenshot(t, browser, viewerPageFile(t, Page{Title: s.title, Frames: s.frames, Failure: s.failure}), s.step, out)
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 800 {
			t.Errorf("%s is %dx%d, want 1200x800", out, b.Dx(), b.Dy())
		}
		// A page that drew nothing would be almost one colour.
		colours := map[[4]uint32]bool{}
		for y := 0; y < 800; y += 4 {
			for x := 0; x < 1200; x += 4 {
				r, g, b, a := img.At(x, y).RGBA()
				colours[[4]uint32{r, g, b, a}] = true
			}
		}
		if len(colours) < 20 {
			t.Errorf("%s has %d colours: nothing was drawn", out, len(colours))
		}
	}
}

// viewerScreenshot renders the viewer page at url, opened at step, into the PNG
// file out at 1200x800.
func viewerScreenshot(t *testing.T, browser, url string, step int, out string) {
	t.Helper()
	runViewerBrowser(t, browser, "--hide-scrollbars", "--window-size=1200,800", "--screenshot="+out, fmt.Sprintf("%s#step=%d", url, step))
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("no screenshot written: %v", err)
	}
}
