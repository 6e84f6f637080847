"""The compliance service's rules as plain Python: no SQL, no broker, no nameko.

Modules: errors, canonical (canonical JSON), org (directory and indexes), policy (access decisions),
audit_chain (hash-chained log, checkpoints, verification), importing (people from CSV/XLSX),
retention (retention, legal holds, anonymization), dsr (data-subject request saga), appeals,
clients (third-party registry and API keys), backup_crypto (encrypted archives), presets.
"""
