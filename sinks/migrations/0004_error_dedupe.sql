-- leadsync 0004: a lead that keeps failing the same way is logged and counted once per
-- counter period (overlapping pulls and manual imports bring it again); the error sink looks
-- earlier lines up by lead and code.
CREATE INDEX error_log_lead_code_idx ON error_log (lead_id, code) WHERE lead_id IS NOT NULL;
