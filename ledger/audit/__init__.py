"""R18: what compliance auditors do with the history.

(a) `Audit.rebuild` replays every event into fresh views and compares them
    with the live ones (`ledger.audit.replay`);
(b) `Audit.as_of` shows the views as they were at a past instant;
(c) `Audit.export_events`, `export_activity`, `export_credits` and
    `export_software` stream CSV or JSON Lines (`ledger.audit.export`);
(d) `Audit.digest` / `Audit.verify` check every stored event's seal and the
    hash chain over the log against a digest kept outside the database
    (`ledger.audit.chain`); `verify_export` checks an export with no database;
(e) `Audit.what_if` replays the orders under a candidate policy (`ledger.audit.what_if`).

The audit API is for whoever operates the ledger (it checks no roles): an
auditor is given the store, not a partner login. Every export is logged
(``ledger.audit_export``) with the ``actor=`` it was given, so that the log
says who took the audit trail away. The algorithm is stated in
docs/audit.md and implemented once, in `ledger.sealing`.
"""

from ledger.audit.auditor import Audit
from ledger.audit.chain import AuditDigest, Verification
from ledger.audit.export import audit_key_from, verify_export
from ledger.audit.proofs import AuditProof, ProofEvent, ProofVerification, verify_proof
from ledger.audit.replay import HistoricalViews, RebuildReport
from ledger.audit.what_if import WhatIfReport, WhatIfRow, WhatIfTotals

__all__ = [
    "Audit",
    "AuditDigest",
    "AuditProof",
    "ProofEvent",
    "ProofVerification",
    "HistoricalViews",
    "RebuildReport",
    "Verification",
    "WhatIfReport",
    "WhatIfRow",
    "WhatIfTotals",
    "audit_key_from",
    "verify_export",
    "verify_proof",
]
