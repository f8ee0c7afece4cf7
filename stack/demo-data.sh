#!/usr/bin/env bash
# The demo account's data for `make run`: a console user (and the operator's), Test Form's
# leads imported from the sandbox, and an audience of its test submissions. Idempotent: a
# second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
leadsync=.venv/bin/leadsync
admin=${LEADSYNC_ADMIN_URL:-http://127.0.0.1:8000}
token=lsk_demo-account-token  # the demo account's public token (demo mode only)

"$leadsync" users add --account demo demo@leadsync.example --demo-password
# The platform operator's console user: the Accounts pages (no account's contacts).
"$leadsync" users add --operator operator@leadsync.example --demo-password
sandbox=${LEADSYNC_SANDBOX_URL:-http://127.0.0.1:8090}
"$leadsync" --account demo forms import 7234246 on
# A few test submissions (LinkedIn's "preview" leads) on Test Form, once: the audience below
# then has members. The sandbox pushes them too; the sync imports whatever push missed.
if [ ! -f .cache/demo-test-leads ]; then
  curl -sf -X POST -H 'Content-Type: application/json' \
    -d '{"count": 3, "formId": 7234246, "testLead": true, "invalidAnswers": false}' \
    "$sandbox/sandbox/leads" >/dev/null && touch .cache/demo-test-leads
fi
"$leadsync" --account demo sync 7234246 --all-submissions
# The seed's example audience: contacts from test submissions of Test Form (409 if it exists).
status=$(curl -s -o /tmp/leadsync-demo-audience.json -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name": "Test submissions of Test Form", "filter": {"form_name": "Test Form", "test_lead": true}}' \
  "$admin/api/audiences")
case "$status" in
  201) echo "audience 'Test submissions of Test Form' created" ;;
  409) echo "audience 'Test submissions of Test Form' exists" ;;
  *) echo "creating the demo audience failed (HTTP $status):" >&2
     cat /tmp/leadsync-demo-audience.json >&2; exit 1 ;;
esac
