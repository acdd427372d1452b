package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/secrets"
)

const sessionTTL = 12 * time.Hour

func hashSecret(s string) string { return secrets.Hash(s) }

// currentUser returns the user of the request's session cookie, or nil.
func (s *Server) currentUser(r *http.Request) *user {
	c, err := r.Cookie(s.cfg.CookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	u, err := s.db.sessionUser(r.Context(), secrets.Hash(c.Value), s.now())
	if err != nil {
		return nil
	}
	return u
}

// csrfToken ties a form to the session that rendered it.
func (s *Server) csrfToken(r *http.Request) string {
	c, err := r.Cookie(s.cfg.CookieName)
	if err != nil {
		return ""
	}
	return secrets.MAC([]byte(c.Value), "csrf")
}

func (s *Server) checkCSRF(r *http.Request) bool {
	want := s.csrfToken(r)
	return want != "" && secrets.Equal(want, r.PostForm.Get("csrf_token"))
}

type loginData struct {
	Next  string
	Email string
	Error string
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	u := s.currentUser(r)
	if u == nil {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	s.page(w, "home", http.StatusOK, "TaskManager", map[string]string{"Email": u.Email, "CSRF": s.csrfToken(r)})
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.page(w, "login", http.StatusOK, "Sign in to TaskManager", loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "Bad request", "The login form could not be read.")
		return
	}
	email, password := strings.TrimSpace(r.PostForm.Get("email")), r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	if blocked, wait := s.logins.Blocked(httpx.ClientIP(r)); blocked {
		w.Header().Set("Retry-After", httpx.RetryAfter(wait))
		s.page(w, "login", http.StatusTooManyRequests, "Sign in to TaskManager",
			loginData{Next: next, Email: email, Error: "Too many failed sign-ins from your address. Try again in " + httpx.RetryAfter(wait) + " seconds."})
		return
	}
	u, err := s.db.userByEmail(r.Context(), email)
	if err != nil || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		s.log.InfoContext(r.Context(), "sandbox login failed", "email", email)
		s.logins.Allow(httpx.ClientIP(r))
		s.page(w, "login", http.StatusUnauthorized, "Sign in to TaskManager",
			loginData{Next: next, Email: email, Error: "Wrong email or password."})
		return
	}
	session := secrets.Random(32)
	if err := s.db.createSession(r.Context(), secrets.Hash(session), u.ID, s.now().Add(sessionTTL)); err != nil {
		s.errorPage(w, http.StatusInternalServerError, "Sign-in failed", "The session could not be saved.")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.cfg.CookieName, Value: session, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode, MaxAge: int(sessionTTL.Seconds()),
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !s.checkCSRF(r) {
		s.errorPage(w, http.StatusForbidden, "Sign-out refused", "The form was not sent from this site.")
		return
	}
	if c, err := r.Cookie(s.cfg.CookieName); err == nil {
		_ = s.db.deleteSession(r.Context(), secrets.Hash(c.Value))
	}
	http.SetCookie(w, &http.Cookie{Name: s.cfg.CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps post-login redirects on this site: a path, never a
// scheme-relative or absolute URL (open redirect).
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}
