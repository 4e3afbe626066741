"""Diagnostics: GetDiagnostics / GetLog bundles (secrets redacted) and their upload."""
