"""Hidden checks, one folder per assignment (never released, never inside a sandbox)."""
