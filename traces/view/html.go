package view

import (
	"crypto/sha256"
	_ "embed" // the viewer's assets are compiled in so the page needs no files
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"

	"github.com/raftcheck/raftcheck/spec"
)

// The viewer's assets, under traces/view/viewer/. The JavaScript renders the
// pictures as SVG from the frames embedded in the page; nothing is fetched.
var (
	//go:embed viewer/viewer.html
	viewerHTML string
	//go:embed viewer/viewer.css
	viewerCSS string
	//go:embed viewer/picture.js
	pictureJS string
	//go:embed viewer/viewer.js
	playbackJS string

	// viewerJS is the page's one script: the shared picture code, then the
	// playback that drives it.
	viewerJS = pictureJS + "\n" + playbackJS

	viewerTemplate = template.Must(template.New("viewer.html").Parse(viewerHTML))

	// viewerCSP lets the page run its own script and nothing else: the
	// script is allowed by hash, so markup smuggled in through user text
	// could not run even if it escaped, and default-src 'none' forbids
	// every network fetch.
	viewerCSP = "default-src 'none'; script-src 'sha256-" + viewerHash(viewerJS) +
		"'; style-src 'unsafe-inline'; img-src data:"
)

func viewerHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(h[:])
}

// viewerPage is what the template receives.
type viewerPage struct {
	Title string
	CSP   string
	CSS   template.CSS
	JS    template.JS
	// Data is the JSON of viewerData. encoding/json escapes <, > and &
	// (and U+2028/U+2029), so "</script>" in user text cannot close the
	// <script type="application/json"> element that holds it.
	Data template.JS
}

// viewerData is the JSON the page's script reads.
type viewerData struct {
	Title   string        `json:"title"`
	Failure string        `json:"failure,omitempty"`
	Loop    *int          `json:"loop,omitempty"`
	Frames  []viewerFrame `json:"frames"`
}

// Page is what WriteHTML shows: a title, the frames of a replay and, when
// the trace did not replay as it claims, the replay's FAILED line.
type Page struct {
	Title  string
	Frames []Frame
	// Failure is the replay's verdict line when the trace does not replay
	// (a step not enabled, an expectation or recorded state that does not
	// hold, a claimed violation that does not happen); "" when it does.
	// The page shows it as a banner.
	Failure string
	// Loop, for a lasso, is the step after which its cycle starts
	// (traces.Trace.Loop): the page marks the cycle and says that it
	// repeats forever.
	Loop *int
}

// viewerFrame is a Frame with the texts the page shows rendered here by the
// spec's String methods, so the viewer and the text report speak alike, and
// with the model/implementation divergences worked out field by field.
type viewerFrame struct {
	Frame
	ActionText string            `json:"action_text"`
	ActionKind string            `json:"action_kind"`
	ModelNotes viewerStateNotes  `json:"model_notes"`
	ImplNotes  *viewerStateNotes `json:"impl_notes,omitempty"`
}

// viewerStateNotes annotates one picture (the model's or the implementation's).
//
// The enumerations and server lists are repeated here in a fixed form so
// that the script does not depend on how spec encodes them in JSON (as
// []uint8, a []ServerID would otherwise arrive base64-encoded).
type viewerStateNotes struct {
	// Roles holds each server's role name and Votes the votes each holds.
	Roles []string `json:"roles"`
	Votes [][]int  `json:"votes"`
	// Groups is the partition, nil when the network is whole.
	Groups [][]int `json:"groups,omitempty"`
	// Servers holds View.String() of each server, for tooltips.
	Servers []string `json:"servers"`
	// Messages holds Message.String() of each message in flight, in the
	// order of State.Network.
	Messages []string `json:"messages"`
	// Divergent lists, per server (index id-1), the fields in which it
	// differs from the other picture; nil when there is no other picture.
	Divergent [][]string `json:"divergent,omitempty"`
	// OddMessages marks the messages whose count differs from the other
	// picture's.
	OddMessages []bool `json:"odd_messages,omitempty"`
}

// WriteHTML writes a self-contained HTML page that animates frames the way
// the classic Raft animation does: the servers in a ring with their role,
// term and vote, their logs (committed entries filled), the messages in
// flight between them, the partition, the step's action and caption, and
// the violated property and failed expectations on the step where they
// occur. When frames carry the implementation's state the page shows the
// model and the implementation side by side and marks where they differ;
// on the model-only frames after a divergence a note stands in for the
// implementation's picture. p.Failure, when set, is a red banner on every
// frame.
//
// Messages are labelled once per link (pair of servers), however many are
// in flight on it, with a dot by each sender for the direction; the labels
// are placed clear of the servers, their texts, the logs and each other,
// which keeps seven servers readable. Each message is in the label's
// tooltip and in the list under the picture.
//
// The page fetches nothing: its script, style and the frames (as JSON) are
// inline, and its Content-Security-Policy forbids any other source. It is
// driven with the Previous/Next/First/Last buttons or the arrow keys, the
// step list beside the picture (the violation, failed expectations,
// divergence and model-only steps marked), and the "jump to the
// violation" (V) and "to the divergence" (D) buttons. Its URL hash
// "#step=K" opens it at step K and "#selftest" makes it step through
// every frame on load and write what it showed, and where it placed the
// labels, into <pre id="selftest"> (the browser tests read it).
func WriteHTML(w io.Writer, p Page) error {
	title, frames := p.Title, p.Frames
	if len(frames) == 0 {
		return errors.New("traces: writing the viewer: no frames to show")
	}
	if title == "" {
		title = "raftcheck trace"
	}
	d := viewerData{Title: title, Failure: p.Failure, Loop: p.Loop, Frames: make([]viewerFrame, len(frames))}
	for i := range frames {
		d.Frames[i] = newViewerFrame(&frames[i])
	}
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("traces: encoding the frames for the viewer: %w", err)
	}
	page := viewerPage{
		Title: title,
		CSP:   viewerCSP,
		CSS:   template.CSS(viewerCSS),
		JS:    template.JS(viewerJS),
		Data:  template.JS(data),
	}
	if err := viewerTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("traces: writing the viewer page: %w", err)
	}
	return nil
}

func newViewerFrame(f *Frame) viewerFrame {
	vf := viewerFrame{Frame: *f, ActionText: "initial state"}
	if f.Action.Kind != 0 {
		vf.ActionText = f.Action.String()
		vf.ActionKind = f.Action.Kind.String()
	}
	vf.ModelNotes = viewerNotesFor(&f.Model, f.Impl)
	if f.Impl != nil {
		n := viewerNotesFor(f.Impl, &f.Model)
		vf.ImplNotes = &n
	}
	return vf
}

// viewerNotesFor annotates s, compared with other when other is not nil.
func viewerNotesFor(s, other *spec.State) viewerStateNotes {
	n := viewerStateNotes{
		Roles:    make([]string, len(s.Servers)),
		Votes:    make([][]int, len(s.Servers)),
		Servers:  make([]string, len(s.Servers)),
		Messages: make([]string, len(s.Network)),
	}
	for i, v := range s.Servers {
		n.Roles[i] = v.Role.String()
		n.Votes[i] = viewerIDs(v.Votes)
		n.Servers[i] = v.String()
	}
	for _, g := range s.Partition {
		n.Groups = append(n.Groups, viewerIDs(g))
	}
	for i, m := range s.Network {
		n.Messages[i] = m.Message.String()
	}
	if other == nil {
		return n
	}
	if len(s.Servers) == len(other.Servers) {
		n.Divergent = make([][]string, len(s.Servers))
		for i := range s.Servers {
			n.Divergent[i] = s.Servers[i].Diff(&other.Servers[i])
		}
	}
	n.OddMessages = make([]bool, len(s.Network))
	for i, m := range s.Network {
		n.OddMessages[i] = viewerCount(other.Network, &m.Message) != m.Count
	}
	return n
}

func viewerCount(network []spec.InFlight, m *spec.Message) int {
	for _, f := range network {
		if f.Message.Equal(m) {
			return f.Count
		}
	}
	return 0
}

func viewerIDs(ids []spec.ServerID) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// PictureJS is the script that draws a cluster state (it defines the
// global RaftPicture, whose panel function the viewer draws every frame
// with), and PictureCSS the style it needs: shared with the interactive
// explorer (traces/explorer), so both show states alike.
func PictureJS() string { return pictureJS }

// PictureCSS is the viewer's style sheet, which the pictures need (see
// PictureJS).
func PictureCSS() string { return viewerCSS }

// PictureFrame encodes f as the JSON the pictures are drawn from: the
// frame with its action's text and, for each picture (the model's and the
// implementation's when there is one), the roles, votes, partition,
// tooltips and divergences, as the viewer's page embeds them.
func PictureFrame(f *Frame) ([]byte, error) {
	b, err := json.Marshal(newViewerFrame(f))
	if err != nil {
		return nil, fmt.Errorf("traces: encoding a frame for the pictures: %w", err)
	}
	return b, nil
}
