package sandbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// taskHandler answers a tasks API request for u: the status and body of
// a success, or an error (an *apiFault, or a store error).
type taskHandler func(r *http.Request, u *user) (int, any, error)

// apiFault is a refusal with its status and OAuth-style error code.
type apiFault struct {
	status     int
	code, desc string
}

func (f *apiFault) Error() string { return f.desc }

func badRequest(desc string) error {
	return &apiFault{http.StatusBadRequest, oauth.CodeInvalidRequest, desc}
}

// requireScope serves h to a bearer token holding scope and writes its
// answer: a missing task is 404, any other store failure 500.
func (s *Server) requireScope(scope string, h taskHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, u := s.bearer(w, r, scope)
		if t == nil {
			return
		}
		status, body, err := h(r, u)
		var fault *apiFault
		switch {
		case err == nil && body == nil:
			w.WriteHeader(status)
		case err == nil:
			oauth.WriteJSONBody(w, status, body)
		case errors.As(err, &fault):
			apiError(w, fault.status, fault.code, fault.desc)
		case errors.Is(err, errNotFound):
			apiError(w, http.StatusNotFound, "not_found", "no such task")
		default:
			s.log.Error("task store", "err", err)
			apiError(w, http.StatusInternalServerError, oauth.CodeServerError, "the task store failed")
		}
	}
}

// TaskInput is the body of a create or update; nil fields are left alone.
type TaskInput struct {
	Title       *string `json:"title"`
	Description *string `json:"description"`
	Done        *bool   `json:"done"`
}

const maxTitle = 200

func (s *Server) listTasks(r *http.Request, u *user) (int, any, error) {
	tasks, err := s.db.listTasks(r.Context(), u.ID)
	return http.StatusOK, tasks, err
}

func (s *Server) getTask(r *http.Request, u *user) (int, any, error) {
	id, err := taskID(r)
	if err != nil {
		return 0, nil, err
	}
	t, err := s.db.getTask(r.Context(), u.ID, id)
	return http.StatusOK, t, err
}

func (s *Server) createTask(r *http.Request, u *user) (int, any, error) {
	in, err := readTask(r)
	if err != nil {
		return 0, nil, err
	}
	if in.Title == nil || strings.TrimSpace(*in.Title) == "" {
		return 0, nil, badRequest("title is required")
	}
	var t Task
	apply(&t, in)
	created, err := s.db.createTask(r.Context(), u.ID, t, s.now())
	return http.StatusCreated, created, err
}

func (s *Server) updateTask(r *http.Request, u *user) (int, any, error) {
	id, err := taskID(r)
	if err != nil {
		return 0, nil, err
	}
	in, err := readTask(r)
	if err != nil {
		return 0, nil, err
	}
	if in.Title != nil && strings.TrimSpace(*in.Title) == "" {
		return 0, nil, badRequest("title cannot be empty")
	}
	t, err := s.db.getTask(r.Context(), u.ID, id)
	if err != nil {
		return 0, nil, err
	}
	apply(t, in)
	updated, err := s.db.updateTask(r.Context(), u.ID, *t, s.now())
	return http.StatusOK, updated, err
}

func (s *Server) deleteTask(r *http.Request, u *user) (int, any, error) {
	id, err := taskID(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, s.db.deleteTask(r.Context(), u.ID, id)
}

func apply(t *Task, in TaskInput) {
	if in.Title != nil {
		t.Title = strings.TrimSpace(*in.Title)
	}
	if in.Description != nil {
		t.Description = *in.Description
	}
	if in.Done != nil {
		t.Done = *in.Done
	}
}

func taskID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("the task id must be a positive integer")
	}
	return id, nil
}

func readTask(r *http.Request) (TaskInput, error) {
	var in TaskInput
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return in, &apiFault{http.StatusRequestEntityTooLarge, oauth.CodeInvalidRequest, "the request body is too large"}
		}
		return in, badRequest("the body must be a JSON task: " + err.Error())
	}
	if in.Title != nil && len(*in.Title) > maxTitle {
		return in, badRequest("title is longer than 200 characters")
	}
	return in, nil
}
