package sandbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/tmcp-dev/tmcp/pkg/oauth"
)

type taskHandler func(w http.ResponseWriter, r *http.Request, u *user)

func (s *Server) requireScope(scope string, h taskHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if t, u := s.bearer(w, r, scope); t != nil {
			h(w, r, u)
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

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request, u *user) {
	tasks, err := s.db.listTasks(r.Context(), u.ID)
	if err != nil {
		apiError(w, http.StatusInternalServerError, oauth.CodeServerError, "could not list tasks")
		return
	}
	oauth.WriteJSONBody(w, http.StatusOK, tasks)
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request, u *user) {
	id, ok := taskID(w, r)
	if !ok {
		return
	}
	t, err := s.db.getTask(r.Context(), u.ID, id)
	if !s.taskResult(w, err) {
		return
	}
	oauth.WriteJSONBody(w, http.StatusOK, t)
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request, u *user) {
	in, ok := readTask(w, r)
	if !ok {
		return
	}
	if in.Title == nil || strings.TrimSpace(*in.Title) == "" {
		apiError(w, http.StatusBadRequest, oauth.CodeInvalidRequest, "title is required")
		return
	}
	var t Task
	apply(&t, in)
	created, err := s.db.createTask(r.Context(), u.ID, t, s.now())
	if !s.taskResult(w, err) {
		return
	}
	oauth.WriteJSONBody(w, http.StatusCreated, created)
}

func (s *Server) updateTask(w http.ResponseWriter, r *http.Request, u *user) {
	id, ok := taskID(w, r)
	if !ok {
		return
	}
	in, ok := readTask(w, r)
	if !ok {
		return
	}
	if in.Title != nil && strings.TrimSpace(*in.Title) == "" {
		apiError(w, http.StatusBadRequest, oauth.CodeInvalidRequest, "title cannot be empty")
		return
	}
	t, err := s.db.getTask(r.Context(), u.ID, id)
	if !s.taskResult(w, err) {
		return
	}
	apply(t, in)
	updated, err := s.db.updateTask(r.Context(), u.ID, *t, s.now())
	if !s.taskResult(w, err) {
		return
	}
	oauth.WriteJSONBody(w, http.StatusOK, updated)
}

func (s *Server) deleteTask(w http.ResponseWriter, r *http.Request, u *user) {
	id, ok := taskID(w, r)
	if !ok {
		return
	}
	if !s.taskResult(w, s.db.deleteTask(r.Context(), u.ID, id)) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
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

func taskID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		apiError(w, http.StatusBadRequest, oauth.CodeInvalidRequest, "the task id must be a positive integer")
		return 0, false
	}
	return id, true
}

func readTask(w http.ResponseWriter, r *http.Request) (TaskInput, bool) {
	var in TaskInput
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apiError(w, http.StatusRequestEntityTooLarge, oauth.CodeInvalidRequest, "the request body is too large")
		} else {
			apiError(w, http.StatusBadRequest, oauth.CodeInvalidRequest, "the body must be a JSON task: "+err.Error())
		}
		return in, false
	}
	if in.Title != nil && len(*in.Title) > maxTitle {
		apiError(w, http.StatusBadRequest, oauth.CodeInvalidRequest, "title is longer than 200 characters")
		return in, false
	}
	return in, true
}

// taskResult writes the error response for err, if any, and reports
// whether the handler may go on.
func (s *Server) taskResult(w http.ResponseWriter, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, errNotFound):
		apiError(w, http.StatusNotFound, "not_found", "no such task")
	default:
		s.log.Error("task store", "err", err)
		apiError(w, http.StatusInternalServerError, oauth.CodeServerError, "the task store failed")
	}
	return false
}
