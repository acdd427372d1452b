package sqlrow

import "strings"

// Types names a database's column types for the shared schema.
type Types struct {
	Int, Bytes, List, Bool, False string
}

// PostgreSQLTypes and SQLiteTypes are the two backends' column types;
// SQLite keeps lists as JSON text.
var (
	PostgreSQLTypes = Types{Int: "BIGINT", Bytes: "BYTEA", List: "TEXT[]", Bool: "BOOLEAN", False: "FALSE"}
	SQLiteTypes     = Types{Int: "INTEGER", Bytes: "BLOB", List: "TEXT", Bool: "INTEGER", False: "0"}
)

// Migrations is the schema history in types; each index is a schema
// version, so an entry once released never changes.
func Migrations(types Types) []string {
	r := strings.NewReplacer("{int}", types.Int, "{bytes}", types.Bytes, "{list}", types.List,
		"{bool}", types.Bool, "{false}", types.False)
	out := make([]string, len(migrations))
	for i, m := range migrations {
		out[i] = r.Replace(m)
	}
	return out
}

var migrations = []string{
	`CREATE TABLE clients (
		id TEXT PRIMARY KEY,
		secret_hash TEXT NOT NULL,
		name TEXT NOT NULL,
		redirect_uris {list} NOT NULL,
		grant_types {list} NOT NULL,
		response_types {list} NOT NULL,
		auth_method TEXT NOT NULL,
		scope TEXT NOT NULL,
		metadata {bytes},
		created_at {int} NOT NULL
	);
	CREATE TABLE pendings (
		state_hash TEXT PRIMARY KEY,
		browser_hash TEXT NOT NULL,
		client_id TEXT NOT NULL,
		redirect_uri TEXT NOT NULL,
		scope TEXT NOT NULL,
		resource TEXT NOT NULL,
		code_challenge TEXT NOT NULL,
		client_state TEXT NOT NULL,
		upstream_verifier TEXT NOT NULL,
		expires_at {int} NOT NULL
	);
	CREATE TABLE grants (
		id TEXT PRIMARY KEY,
		client_id TEXT NOT NULL,
		subject TEXT NOT NULL,
		username TEXT NOT NULL,
		scope TEXT NOT NULL,
		resource TEXT NOT NULL,
		redirect_uri TEXT NOT NULL,
		upstream {bytes},
		upstream_expires_at {int} NOT NULL,
		created_at {int} NOT NULL,
		revoked_at {int} NOT NULL DEFAULT 0
	);
	CREATE INDEX grants_subject ON grants(subject);
	CREATE INDEX grants_client ON grants(client_id);
	CREATE TABLE codes (
		hash TEXT PRIMARY KEY,
		grant_id TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
		client_id TEXT NOT NULL,
		redirect_uri TEXT NOT NULL,
		code_challenge TEXT NOT NULL,
		expires_at {int} NOT NULL,
		used_at {int} NOT NULL DEFAULT 0
	);
	CREATE INDEX codes_grant ON codes(grant_id);
	CREATE TABLE tokens (
		hash TEXT PRIMARY KEY,
		kind TEXT NOT NULL,
		grant_id TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
		issuance TEXT NOT NULL,
		scope TEXT NOT NULL,
		issued_at {int} NOT NULL,
		expires_at {int} NOT NULL,
		revoked_at {int} NOT NULL DEFAULT 0,
		used_at {int} NOT NULL DEFAULT 0,
		successor TEXT NOT NULL DEFAULT '',
		grace_used {bool} NOT NULL DEFAULT {false}
	);
	CREATE INDEX tokens_grant ON tokens(grant_id);
	CREATE INDEX tokens_issuance ON tokens(issuance);
	CREATE INDEX tokens_expires ON tokens(expires_at);
	CREATE TABLE consents (
		subject TEXT NOT NULL,
		client_id TEXT NOT NULL,
		redirect_uri TEXT NOT NULL,
		scope TEXT NOT NULL,
		granted_at {int} NOT NULL,
		PRIMARY KEY (subject, client_id, redirect_uri)
	);`,
	`CREATE TABLE signing_keys (
		kid TEXT PRIMARY KEY,
		alg TEXT NOT NULL,
		private {bytes} NOT NULL,
		public {bytes} NOT NULL,
		created_at {int} NOT NULL,
		retired_at {int} NOT NULL DEFAULT 0
	);`,
	// Remembered consent lives in the browser's signed cookie (see
	// authserver/consent.go); the table was written and never read.
	`DROP TABLE consents;`,
	// A refresh retry within grace gets the same answer (sealed here
	// until the grace ends) instead of a second one.
	`ALTER TABLE tokens DROP COLUMN grace_used;
	ALTER TABLE tokens ADD COLUMN answer {bytes};
	ALTER TABLE tokens ADD COLUMN answer_until {int} NOT NULL DEFAULT 0;
	CREATE INDEX tokens_successor ON tokens(successor) WHERE successor != '';
	CREATE INDEX tokens_answer_until ON tokens(answer_until) WHERE answer_until != 0;`,
	// SQLite files made before version 4 lack these two indexes.
	`CREATE INDEX IF NOT EXISTS grants_client ON grants(client_id);
	CREATE INDEX IF NOT EXISTS codes_grant ON codes(grant_id);`,
	// tmcp's own client at TaskManager, when it registered itself.
	`CREATE TABLE upstream_client (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		sealed {bytes},
		holder TEXT NOT NULL,
		claimed_until {int} NOT NULL
	);`,
	// RFC 7592: the registration access token of a dynamic client.
	`ALTER TABLE clients ADD COLUMN registration_token_hash TEXT NOT NULL DEFAULT '';`,
	// The address the provider verified, apart from the username; the
	// OpenID nonce a sign-in's ID token must carry back. Grants made
	// before have no verified address until the user signs in again.
	`ALTER TABLE grants ADD COLUMN email TEXT NOT NULL DEFAULT '';
	ALTER TABLE pendings ADD COLUMN nonce_hash TEXT NOT NULL DEFAULT '';`,
	// Sweeps: a client's last sign-in, so one unused for long can go;
	// used refresh tokens found by when they were used; the one row that
	// readiness writes to prove storage takes writes.
	`ALTER TABLE clients ADD COLUMN used_at {int} NOT NULL DEFAULT 0;
	CREATE INDEX tokens_used ON tokens(used_at) WHERE used_at != 0;
	CREATE TABLE write_probe (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		at {int} NOT NULL
	);`,
	// RFC 9449 §6: the thumbprint of the key a DPoP-bound token is bound
	// to; "" for a bearer token.
	`ALTER TABLE tokens ADD COLUMN jkt TEXT NOT NULL DEFAULT '';`,
}
