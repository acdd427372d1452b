package upstream

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// Task is a TaskManager task as /api/tasks returns it.
type Task struct {
	ID          int64  `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Done        bool   `json:"done"`
	CreatedAt   string `json:"created_at,omitempty"`
	UpdatedAt   string `json:"updated_at,omitempty"`
}

// TaskInput is a create or update; nil fields are left alone.
type TaskInput struct {
	Title       *string `json:"title,omitempty"`
	Description *string `json:"description,omitempty"`
	Done        *bool   `json:"done,omitempty"`
}

// TasksPath is TaskManager's task API.
const TasksPath = "/api/tasks"

// ListTasks lists the token's user's tasks.
func (c *Client) ListTasks(ctx context.Context, token string) ([]Task, error) {
	var out []Task
	return out, c.tasksCall(ctx, token, http.MethodGet, "", nil, &out)
}

// GetTask fetches one task.
func (c *Client) GetTask(ctx context.Context, token string, id int64) (*Task, error) {
	var out Task
	return &out, c.tasksCall(ctx, token, http.MethodGet, fmt.Sprint(id), nil, &out)
}

// CreateTask creates a task.
func (c *Client) CreateTask(ctx context.Context, token string, in TaskInput) (*Task, error) {
	var out Task
	return &out, c.tasksCall(ctx, token, http.MethodPost, "", in, &out)
}

// UpdateTask changes the fields set in in.
func (c *Client) UpdateTask(ctx context.Context, token string, id int64, in TaskInput) (*Task, error) {
	var out Task
	return &out, c.tasksCall(ctx, token, http.MethodPatch, fmt.Sprint(id), in, &out)
}

// DeleteTask deletes a task.
func (c *Client) DeleteTask(ctx context.Context, token string, id int64) error {
	return c.tasksCall(ctx, token, http.MethodDelete, fmt.Sprint(id), nil, nil)
}

func (c *Client) tasksCall(ctx context.Context, token, method, id string, in, out any) error {
	u := c.Endpoint(TasksPath)
	if id != "" {
		u += "/" + url.PathEscape(id)
	}
	call := oauth.Call{Method: method, URL: u, Bearer: token}
	if in != nil {
		call.JSON = in
	}
	return c.call(ctx, call, out)
}
