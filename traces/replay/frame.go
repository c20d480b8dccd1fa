package replay

import "github.com/raftcheck/raftcheck/spec"

// Frame is one picture of a replayed trace: the state after a step, as the
// viewer and the text report show it.
type Frame struct {
	// Step is the 1-based step number; 0 is the initial state.
	Step int `json:"step"`
	// Action is the step's action in the shared vocabulary (zero for the
	// initial state) and Caption its caption, if the trace has one.
	Action  spec.Action `json:"action"`
	Caption string      `json:"caption,omitempty"`
	// Model is the model's state after the step.
	Model spec.State `json:"model"`
	// Impl is the implementation's state after the step when the trace was
	// replayed on it; Diff lists the fields where it differs from Model
	// and DiffKind classifies the first divergence ("missing action",
	// "unexpected message", "different state").
	Impl     *spec.State `json:"impl,omitempty"`
	Diff     []string    `json:"diff,omitempty"`
	DiffKind string      `json:"diff_kind,omitempty"`
	// ModelOnly marks a frame after the divergence of a replay on the
	// implementation: the implementation is no longer stepped, so only the
	// model's state is shown (Impl is nil), up to the trace's violation.
	ModelOnly bool `json:"model_only,omitempty"`
	// Violation names the property that breaks at this step, with its
	// explanation; Failed lists the trace's expectations that do not hold.
	Violation string   `json:"violation,omitempty"`
	Message   string   `json:"message,omitempty"`
	Failed    []string `json:"failed,omitempty"`
}
