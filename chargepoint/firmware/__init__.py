"""Firmware updates (OCPP 1.6 FirmwareManagement + security whitepaper signed updates).

- ``download``: fetch a file (http, https, ftp, ftps) into a private directory, bounded.
- ``release``: the release archive format (manifest.json + wheels) and its verification.
- ``signature``: signing certificate chain and file signature checks.
- ``slots``: release slots beside the running one and the atomic ``current`` switch.
- ``installer``: install strategies (venv + pip, OS updater command).
- ``manager``: the update job, status reporting, health check and rollback.
"""
