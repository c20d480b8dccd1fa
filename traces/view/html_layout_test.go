package view

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/raftcheck/raftcheck/spec"
)

// The viewer's layout at seven servers: every browser test checks, on
// every step, that the picture's message labels cover nothing
// (checkViewerLayout, called by runViewerSelftest); these frames crowd
// the picture as much as a trace can.

// viewerSevenFrames stresses the picture at seven servers: S1 and S4 ask
// each other for votes (both directions of one link), copies of S1's
// request to S2 pile up, then everyone else campaigns too, so that every
// link carries messages both ways; the servers get long logs, a leader
// sends entries to all, and a three-way partition cuts the ring.
func viewerSevenFrames() []Frame {
	s := newViewerStory(7, "Seven servers, all followers.")
	s.campaign(1, 1, "S1 asks everyone for its vote in term 1.")
	s.campaign(4, 1, "S4 does the same: S1 and S4 ask each other.")
	dup := vwRV(1, 2, 1, 0, 0)
	for k := 0; k < 2; k++ {
		s.step(spec.Action{Kind: spec.Duplicate, Message: &dup}, "The network copies S1's request to S2.", func(st *spec.State) { vwSend(st, dup) })
	}
	s.grant(1, 2, "S2 votes for S1.")
	for _, id := range []spec.ServerID{2, 3, 5, 6, 7} {
		s.campaign(id, 2, fmt.Sprintf("S%d runs for term 2.", id))
	}
	s.step(spec.Action{Kind: spec.Heartbeat, Server: 1}, "S1, leader of term 3 (made up), sends long entries to everyone.", func(st *spec.State) {
		var log []spec.Entry
		for k := 1; k <= 9; k++ {
			log = append(log, spec.Entry{Term: spec.Term(k/3 + 1), Value: spec.Value(fmt.Sprintf("value-%d", k))})
		}
		for i := range st.Servers {
			v := &st.Servers[i]
			v.Log, v.CommitIndex = log[:4+i%6], spec.Index(i%4)
		}
		l := &st.Servers[0]
		l.Term, l.Role, l.Votes, l.CommitIndex = 3, spec.Leader, nil, 3
		l.NextIndex, l.MatchIndex = make([]spec.Index, 7), make([]spec.Index, 7)
		for i := 2; i <= 7; i++ {
			vwSend(st, vwAE(1, spec.ServerID(i), 3, 4, 2, log[4:9], 3))
		}
	})
	groups := [][]spec.ServerID{{1, 2, 3}, {4, 5}, {6, 7}}
	s.step(spec.Action{Kind: spec.Partition, Groups: groups}, "A three-way partition.", func(st *spec.State) {
		st.Partition = groups
	})
	return s.frames
}

// viewerSevenDualFrames is viewerSevenFrames replayed on an
// implementation that diverges from step 7 on (S3 keeps its vote for S1
// and an extra reply is in flight), so the pictures are side by side and
// their servers carry a third, divergence line.
func viewerSevenDualFrames() []Frame {
	frames := viewerSevenFrames()
	for i := range frames {
		impl := frames[i].Model.Clone()
		if i >= 7 {
			impl.Servers[2].VotedFor = 1
			vwSend(&impl, vwRVR(3, 1, 1, true))
		}
		frames[i].Impl = &impl
	}
	frames[7].Diff = []string{"S3 voted_for", "message unexpected: RequestVoteResponse S3->S1 t1 granted (x0 vs x1)"}
	frames[7].DiffKind = "different state"
	return frames
}

func TestViewerSevenServers(t *testing.T) {
	browser := findViewerBrowser(t)
	for _, c := range []struct {
		name   string
		frames []Frame
	}{{"single", viewerSevenFrames()}, {"dual", viewerSevenDualFrames()}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st := runViewerSelftest(t, browser, Page{Title: "seven servers", Frames: c.frames}, "")
			most := 0
			for i := range c.frames {
				f, s := &c.frames[i], &st.Steps[i]
				checkViewerPanel(t, fmt.Sprintf("step %d model", f.Step), s.Panels["model"], &f.Model)
				if f.Impl != nil {
					checkViewerPanel(t, fmt.Sprintf("step %d implementation", f.Step), s.Panels["impl"], f.Impl)
				}
				most = max(most, s.Panels["model"].Links)
			}
			if most != 21 {
				t.Errorf("at most %d links labelled, want all 21 (the frames lost their crowd)", most)
			}
		})
	}
}

// viewerGeometry is what the page's self-test reports of one picture, in
// picture units: [x, y, width, height] boxes of the link labels, the
// server circles, each server's text lines and the log rows, and the
// picture's size.
type viewerGeometry struct {
	Labels [][4]float64 `json:"labels"`
	Nodes  [][4]float64 `json:"nodes"`
	Texts  [][4]float64 `json:"texts"`
	Rows   [][4]float64 `json:"rows"`
	View   [2]float64   `json:"view"`
}

// viewerShape is a box, or the circle inscribed in it.
type viewerShape struct {
	name   string
	b      [4]float64
	circle bool
}

// checkViewerLayout checks one picture as the browser laid it out: one
// label per link that carries messages; no label over another, over a
// server's circle or texts or over a log row; no server over another or
// over the logs; everything inside the picture.
func checkViewerLayout(t *testing.T, where string, p *viewerPanelShot, s *spec.State) {
	t.Helper()
	if p == nil {
		return
	}
	g := &p.Geometry
	if want := viewerLinkCount(s); p.Links != want || len(g.Labels) != want {
		t.Errorf("%s: %d link labels (%d boxes), want one for each of the %d links with messages", where, p.Links, len(g.Labels), want)
	}
	n := len(s.Servers)
	if len(g.Nodes) != n || len(g.Texts) != n || len(g.Rows) != n {
		t.Errorf("%s: %d circles, %d texts, %d log rows for %d servers", where, len(g.Nodes), len(g.Texts), len(g.Rows), n)
	}
	var shapes []viewerShape
	add := func(kind string, boxes [][4]float64, circle bool) {
		for i, b := range boxes {
			shapes = append(shapes, viewerShape{fmt.Sprintf("%s %d %v", kind, i+1, b), b, circle})
		}
	}
	add("label", g.Labels, false)
	add("S circle", g.Nodes, true)
	add("S texts", g.Texts, false)
	add("S log row", g.Rows, false)
	var bad []string
	for i, a := range shapes {
		if a.b[0] < -0.5 || a.b[1] < -0.5 || a.b[0]+a.b[2] > g.View[0]+0.5 || a.b[1]+a.b[3] > g.View[1]+0.5 {
			bad = append(bad, a.name+" outside the picture")
		}
		for _, b := range shapes[i+1:] {
			if viewerShapesOverlap(a, b) {
				bad = append(bad, a.name+" over "+b.name)
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("%s: %d overlaps: %s", where, len(bad), strings.Join(bad[:min(len(bad), 6)], "; "))
	}
}

// viewerShapesOverlap tells whether a and b share more than their edges
// (half a unit of slack for rounding). A circle's radius counts half the
// stroke of a leader's ring.
func viewerShapesOverlap(a, b viewerShape) bool {
	const slack = 0.5
	if a.circle && b.circle {
		ax, ay, ar := viewerCircle(a.b)
		bx, by, br := viewerCircle(b.b)
		return math.Hypot(ax-bx, ay-by) < ar+br-slack
	}
	if a.circle || b.circle {
		if a.circle {
			a, b = b, a
		}
		cx, cy, r := viewerCircle(b.b)
		nx := math.Max(a.b[0], math.Min(cx, a.b[0]+a.b[2]))
		ny := math.Max(a.b[1], math.Min(cy, a.b[1]+a.b[3]))
		return math.Hypot(nx-cx, ny-cy) < r-slack
	}
	return a.b[0] < b.b[0]+b.b[2]-slack && b.b[0] < a.b[0]+a.b[2]-slack &&
		a.b[1] < b.b[1]+b.b[3]-slack && b.b[1] < a.b[1]+a.b[3]-slack
}

func viewerCircle(b [4]float64) (x, y, r float64) {
	return b[0] + b[2]/2, b[1] + b[3]/2, b[2]/2 + 3
}

// viewerLinkCount counts the pairs of servers with messages in flight
// between them, in either direction.
func viewerLinkCount(s *spec.State) int {
	links := map[[2]spec.ServerID]bool{}
	for _, f := range s.Network {
		a, b := f.Message.From, f.Message.To
		links[[2]spec.ServerID{min(a, b), max(a, b)}] = true
	}
	return len(links)
}

// TestViewerLayoutCheck makes sure that the overlap check sees overlaps:
// a layout check that passed everything would prove nothing.
func TestViewerLayoutCheck(t *testing.T) {
	box := func(x, y, w, h float64) viewerShape { return viewerShape{"box", [4]float64{x, y, w, h}, false} }
	circle := func(x, y, r float64) viewerShape {
		return viewerShape{"circle", [4]float64{x - r + 3, y - r + 3, 2 * (r - 3), 2 * (r - 3)}, true}
	}
	for _, c := range []struct {
		a, b viewerShape
		want bool
	}{
		{box(0, 0, 10, 10), box(5, 5, 10, 10), true},
		{box(0, 0, 10, 10), box(10, 0, 10, 10), false}, // touching
		{box(0, 0, 10, 10), box(0, 12, 10, 10), false},
		{circle(50, 50, 20), box(65, 65, 10, 10), false}, // in the corner, off the circle
		{circle(50, 50, 20), box(60, 45, 10, 10), true},
		{box(69, 45, 10, 10), circle(50, 50, 20), true},
		{circle(0, 0, 10), circle(15, 0, 10), true},
		{circle(0, 0, 10), circle(25, 0, 10), false},
	} {
		if got := viewerShapesOverlap(c.a, c.b); got != c.want {
			t.Errorf("%v and %v: overlap %v, want %v", c.a.b, c.b.b, got, c.want)
		}
	}
}
